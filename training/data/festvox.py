"""Festvox voices: CMU's Flite and Edinburgh's Festival, run as programs (Debian packages).

Each voice is built from one real speaker's recordings, by other methods than espeak-ng's
formant rules: Flite's clustergen voices ``awb`` (Scottish male), ``rms`` (US male) and ``slt``
(US female), statistical parametric voices from the CMU ARCTIC recordings, and its diphone
``kal16``; Festival's diphone voices ``kal_diphone`` and ``ked_diphone`` (US male; pieces of
recorded speech joined) and ``cmu_us_slt_arctic_hts`` (HTS). They run as separate programs
(``flite``, ``text2wave``), one call per utterance, at a speaking rate drawn per call.

Training does not learn from them: they say the keyword for ``training.selection``, which keeps
a full model that misses least of it (``kws train --choose-full voices``). ``installed_voices``
lists those the machine has (``PACKAGES``, which the Makefile's ``setup-voices`` installs). A
Festival call costs about 0.3 s (the program starts each time).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kws.errors import SynthesisError
from training.data import augment

VOICE_PREFIX = "festvox:"
FLITE_VOICES = ("awb", "rms", "slt", "kal16")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
FESTIVAL_VOICE_DIRS = ("/usr/share/festival/voices/english", "/usr/share/festival/voices/us")
PACKAGES = "flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
DURATION_STRETCH = (0.8, 1.4)  # per utterance: quick to slow
LICENCE = (
    "Flite (Debian package; CMU's BSD-style licence, only its build scripts GPL-2; run as a "
    "program) and its CMU ARCTIC voices awb, rms, slt and kal (CMU's free licence); Festival and "
    "its kal, ked and slt HTS voices (CSTR's and CMU's free licences: any use)"
)
TIMEOUT_S = 60


@functools.lru_cache(maxsize=1)
def installed_voices() -> tuple[str, ...]:
    """Voice ids (``festvox:flite:awb``, ``festvox:festival:kal_diphone`` ...) this machine
    can speak with, Flite's first."""
    voices = []
    if shutil.which("flite"):
        listed = subprocess.run(
            ["flite", "-lv"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        ).stdout.split()
        voices += [f"{VOICE_PREFIX}flite:{name}" for name in FLITE_VOICES if name in listed]
    if shutil.which("text2wave"):
        for name in FESTIVAL_VOICES:
            if any((Path(folder) / name).is_dir() for folder in FESTIVAL_VOICE_DIRS):
                voices.append(f"{VOICE_PREFIX}festival:{name}")
    return tuple(voices)


def speak(text: str, voice: str, stretch: float) -> npt.NDArray[np.float32]:
    """``text`` said by ``voice`` with its durations stretched by ``stretch`` (above 1: slower),
    float32 at 16 kHz, peak 0.9.

    Raises:
        SynthesisError: the voice is not installed, or its program fails or writes no audio
            (Flite says an unknown voice in its default one, so the name is checked first).
    """
    if voice not in installed_voices():
        raise SynthesisError(f"{voice} is not installed here (make setup-voices: {PACKAGES})")
    engine, name = voice[len(VOICE_PREFIX) :].split(":", 1)
    with tempfile.TemporaryDirectory(prefix="kws-festvox-") as folder:
        wav = Path(folder) / "out.wav"
        if engine == "flite":
            command = ["flite", "-voice", name, "--setf", f"duration_stretch={stretch:.2f}"]
            command += ["-t", text, "-o", str(wav)]
            given = None
        else:
            setup = f"(begin (voice_{name}) (Parameter.set 'Duration_Stretch {stretch:.2f}))"
            command = ["text2wave", "-F", "16000", "-eval", setup, "-o", str(wav)]
            given = text.encode()
        done = subprocess.run(
            command, input=given, capture_output=True, timeout=TIMEOUT_S, check=False
        )
        if done.returncode != 0 or not wav.is_file():
            raise SynthesisError(f"{voice} could not say {text!r}: {done.stderr[-200:]!r}")
        import soundfile

        pcm, rate = soundfile.read(wav, dtype="int16")
    if pcm.size == 0:
        raise SynthesisError(f"{voice} said nothing for {text!r}")
    return augment.from_neural_voice(pcm.astype(np.float32) / 32768.0, int(rate))
