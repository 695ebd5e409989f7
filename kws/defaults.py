"""Where the shipped default bundle lives."""

from __future__ import annotations

from pathlib import Path

from kws.errors import BundleError

DEFAULT_KEYWORD_DIR = "hey_jarvis"
SHIPPED_KEYWORD_DIRS = ("hey_jarvis", "alexa")


def default_bundle_dir() -> Path:
    """``models/hey_jarvis`` beside the package (a source checkout or an editable install).

    Raises:
        BundleError: no default bundle can be found; pass --model.
    """
    candidates = [
        Path(__file__).resolve().parent.parent / "models" / DEFAULT_KEYWORD_DIR,
        Path.cwd() / "models" / DEFAULT_KEYWORD_DIR,
    ]
    for candidate in candidates:
        if (candidate / "manifest.json").is_file():
            return candidate
    raise BundleError("no default bundle (models/hey_jarvis) found; pass --model DIR")


def shipped_bundle_dirs() -> list[Path]:
    """Every shipped bundle (``models/hey_jarvis``, ``models/alexa``) beside the default one.

    Raises:
        BundleError: no default bundle can be found; pass --model.
    """
    models = default_bundle_dir().parent
    return [models / name for name in SHIPPED_KEYWORD_DIRS if (models / name).is_dir()]
