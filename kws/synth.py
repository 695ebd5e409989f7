"""Speech synthesis with espeak-ng through ctypes (the library and voices ship in pip
``espeakng-loader``). No TensorFlow here: the runtime demo and the firmware scenarios reuse it.

espeak-ng keeps global state, so each process initialises it once and synthesises one
utterance at a time; parallel generation uses processes, not threads.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kws.errors import SynthesisError
from kws.frontend.config import SAMPLE_RATE_HZ

# espeak_AUDIO_OUTPUT, espeak_PARAMETER and espeak_Synth flags from speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7
# libespeak-ng 1.5x kills the process (segfault) on some variants above a pitch range of 80,
# and on the two with the lowest, widest pitch (Demonic 43-120 Hz, rob 50-130 Hz) for some
# sentences above 60: at pitch 0 with 30 ms between words, 16 and 13 of 300 sentences at range
# 80, 3 and 3 at 70, none of 1,500 at 60. A training's data worker died of it; ranges are capped.
MAX_PITCH_RANGE = 80
_PITCH_RANGE_CAPS = {"Demonic": 60, "rob": 60}
_CHARS_UTF8 = 1
_PHONEMES_FLAG = 0x100  # lets text carry [[phoneme]] input
_POS_CHARACTER = 1

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


@dataclass(frozen=True)
class VoiceSettings:
    """One way of speaking: an espeak voice (``en-us+m3``) and its prosody.

    ``rate_wpm`` 80-450, ``pitch`` 0-100, ``pitch_range`` 0-100 (espeak-ng is given at most
    ``MAX_PITCH_RANGE``, less on the variants that crash), ``word_gap_10ms`` extra pause
    between words in units of 10 ms.
    """

    voice: str = "en-us"
    rate_wpm: int = 160
    pitch: int = 50
    pitch_range: int = 50
    word_gap_10ms: int = 0


class _Engine:
    """The process-wide espeak-ng instance."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as error:
            raise SynthesisError(
                "speech synthesis needs espeakng-loader: pip install 'kws[synth]'"
            ) from error
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_path = espeakng_loader.get_data_path()
        self.data_dir = Path(data_path)
        self.lib.espeak_Initialize.restype = ctypes.c_int
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), 0)
        if rate <= 0:
            raise SynthesisError(f"espeak-ng failed to initialise with data at {data_path}")
        self.native_rate_hz = int(rate)
        self._chunks: list[npt.NDArray[np.int16]] = []
        self._callback = _SYNTH_CALLBACK(self._collect)
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lock = threading.Lock()

    def _collect(self, wav: ctypes._Pointer, num_samples: int, events: int) -> int:  # type: ignore[type-arg]
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0

    def synthesize(self, text: str, settings: VoiceSettings) -> npt.NDArray[np.int16]:
        with self.lock:
            if self.lib.espeak_SetVoiceByName(settings.voice.encode()) != 0:
                raise SynthesisError(f"espeak-ng has no voice {settings.voice!r}")
            self.lib.espeak_SetParameter(_PARAM_RATE, int(settings.rate_wpm), 0)
            self.lib.espeak_SetParameter(_PARAM_PITCH, int(settings.pitch), 0)
            self.lib.espeak_SetParameter(_PARAM_RANGE, _pitch_range(settings), 0)
            self.lib.espeak_SetParameter(_PARAM_WORDGAP, int(settings.word_gap_10ms), 0)
            self.lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0)
            self._chunks = []
            encoded = text.encode("utf-8") + b"\0"
            status = self.lib.espeak_Synth(
                encoded,
                len(encoded),
                0,
                _POS_CHARACTER,
                0,
                _CHARS_UTF8 | _PHONEMES_FLAG,
                None,
                None,
            )
            self.lib.espeak_Synchronize()
            if status != 0:
                raise SynthesisError(f"espeak-ng could not synthesise {text!r} (status {status})")
            chunks, self._chunks = self._chunks, []
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks).astype(np.int16)

    def voice_names(self) -> list[str]:
        voices = self.lib.espeak_ListVoices(None)
        names = []
        index = 0
        while voices[index]:
            voice = voices[index].contents
            languages = voice.languages[1:].decode(errors="ignore") if voice.languages else ""
            if languages.startswith("en") and voice.identifier:
                names.append(voice.identifier.decode().split("/")[-1])
            index += 1
        return sorted(set(names))


_engine: _Engine | None = None


def _get_engine() -> _Engine:
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


# These variants add breath noise from espeak-ng's own unseeded generator: the same text and
# settings give different audio on every call (found by synthesizing every variant twice).
UNSEEDED_VARIANTS = frozenset(
    {"Alicia", "Demonic", "f2", "f3", "f5", "sandro", "victor", "whisper", "whisperf"}
)


def _pitch_range(settings: VoiceSettings) -> int:
    """The pitch range espeak-ng is given: the settings', capped where a variant crashes."""
    variant = settings.voice.partition("+")[2]
    return min(int(settings.pitch_range), _PITCH_RANGE_CAPS.get(variant, MAX_PITCH_RANGE))


def english_voices() -> list[str]:
    """Identifiers of every English espeak-ng voice (``en``, ``en-us``, ``en-gb-scotland``, …)."""
    return _get_engine().voice_names()


def voice_variants() -> list[str]:
    """Names of espeak-ng's voice variants (``m1``, ``f3``, ``klatt2``, ``whisper``, …)."""
    variant_dir = _get_engine().data_dir / "voices" / "!v"
    return sorted(path.name for path in variant_dir.iterdir() if path.is_file())


def synthesize(text: str, settings: VoiceSettings | None = None) -> npt.NDArray[np.int16]:
    """Speak ``text`` and return int16 PCM at 16 kHz (resampled from espeak's 22.05 kHz).

    Text may hold ``[[phonemes]]`` for pronunciation variants.

    Raises:
        SynthesisError: espeak-ng is missing, or the voice is unknown.
    """
    engine = _get_engine()
    native = engine.synthesize(text, settings or VoiceSettings())
    if native.size == 0:
        return native
    return resample_int16(native, engine.native_rate_hz, SAMPLE_RATE_HZ)


def resample_int16(
    pcm: npt.NDArray[np.int16], from_rate_hz: int, to_rate_hz: int
) -> npt.NDArray[np.int16]:
    """Band-limited resampling of int16 PCM (soxr through librosa), clipped back to int16."""
    if from_rate_hz == to_rate_hz:
        return pcm
    import librosa

    floats = librosa.resample(
        pcm.astype(np.float32) / 32768.0,
        orig_sr=from_rate_hz,
        target_sr=to_rate_hz,
        res_type="soxr_hq",
    )
    return np.clip(np.round(floats * 32768.0), -32768, 32767).astype(np.int16)
