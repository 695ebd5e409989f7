"""Errors a user can act on.

Every error that is the user's to fix (bad audio, a broken bundle, an invalid power
profile) is a ``KwsError`` subclass. The CLI prints its message as one line on stderr and
exits with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class KwsError(Exception):
    """Base class for every error the user can fix."""


class AudioError(KwsError):
    """Audio that cannot be read or is not valid PCM (wrong dtype, shape, NaN, unreadable)."""


class FrontendConfigError(KwsError):
    """A frontend configuration with impossible values."""


class BundleError(KwsError):
    """A model bundle that is missing, corrupt, or does not match this runtime."""


class ThresholdError(KwsError):
    """A detection threshold, smoothing count or time outside its range, or of the wrong type."""


class ProfileError(KwsError):
    """A power profile with a missing, negative or unknown key."""


class TrainingError(KwsError):
    """Training cannot start or continue (bad keyword, no data, full disk)."""


class DeviceError(KwsError):
    """No usable audio input device, or PortAudio is missing."""


class SynthesisError(KwsError):
    """Speech synthesis is unavailable (espeak-ng missing) or refused the request."""


class OutputError(KwsError):
    """The command's output cannot be written (stdout on a full disk)."""
