"""Which speech a bundle misses: synthetic probes, and the dev set at given operating points.

docs/RESULTS.md, "The keyword said slowly or word by word" (eighteenth session). Not part of kws:
run it from the repo root with the project's venv.

    .venv/bin/python docs/experiments/probe_timing_and_voices.py make OUT [N]
    .venv/bin/python docs/experiments/probe_timing_and_voices.py points DIR PHRASE BUNDLE [W,D ...]
    .venv/bin/python docs/experiments/probe_timing_and_voices.py timing DIR PHRASE BUNDLE [W,D]
    .venv/bin/python docs/experiments/probe_timing_and_voices.py stream FILE.npy BUNDLE [W,D ...]
    .venv/bin/python docs/experiments/probe_timing_and_voices.py speech flite|espeak FILE.npy

``make`` writes N clips of each dev phrase ("smart mirror", "view glass", "snowboy"; clean, 0.5 s of
digital silence each side, peak 0.1-0.7) into OUT/<probe>/<phrase>/ for four probes:
``espeak`` (espeak-ng voices of the held-out test split, seed 0, drawn prosody), ``paused``
(the same voices, each word said alone at 120-200 wpm, 0.15-0.35 s between words), ``slow``
(the whole phrase at 80-110 wpm) and ``festvox`` (Flite's awb, rms, slt, kal16 and Festival's
kal, ked and slt HTS voices, speaking rate stretched 0.8-1.4; Debian packages flite, festival,
festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts; skipped where they are missing).

``points`` plays a folder of phrase folders (the dev set, or one probe) as ``kws bench
realspeech`` does and prints, for the bundle's own thresholds and each W,D (wake, detect), the
share of PHRASE's recordings missed clean and at 10 dB SNR and the share of the other folders'
recordings accepted. ``timing`` splits the clean misses by properties of each recording, read
off its 10 ms energy track (frames within 25 dB of its loudest): the span of its speech, the
longest pause inside it, its peak level and its peak over its 10th-percentile frame. Both are
measurements of a finished bundle: nothing is chosen from them. ``stream`` counts the bundle's
false accepts, at its own thresholds and each W,D, on 120 minutes of the keyword-free synthetic
stream ``kws bench realspeech`` plays (seed 0), made once into FILE.npy and read from it after:
espeak-ng carries a little state from one utterance to the next, so two makings differ slightly,
and bundles compared should hear the same one. ``speech`` writes another such FILE.npy: 120
minutes of the training's general sentences (none holds a dev phrase) in Flite's voices (awb,
rms, slt, kal16; speaking rate x0.8-1.3) or in held-out espeak-ng voices (drawn prosody), each
peak at -20 to -6 dBFS, 0.2-1.5 s apart, over white noise at -50 dBFS: the same stream but for
the voices.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from kws import synth
from kws.loading import load_cascade
from training import realspeech
from training.data import augment, clips, dataset, text

PHRASES = {"smart_mirror": "smart mirror", "view_glass": "view glass", "snowboy": "snowboy"}
FLITE = ("awb", "rms", "slt", "kal16")
FESTIVAL = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
RATE = 16_000


def _trimmed(audio: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max(initial=0.0))
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def _espeak(text: str, voice: str, rng: np.random.Generator, wpm: int | None = None) -> Any:
    settings = clips.random_settings(voice, rng)
    if wpm is not None:
        settings = replace(settings, rate_wpm=wpm)
    return _trimmed(augment.to_float(synth.synthesize(text, settings)))


def _festvox(text: str, voice: str, stretch: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "x.wav"
        if voice in FLITE:
            command = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.2f}"]
            subprocess.run([*command, "-t", text, "-o", str(wav)], check=True)
        else:
            setup = f"(begin (voice_{voice}) (Parameter.set 'Duration_Stretch {stretch:.2f}))"
            command = ["text2wave", "-F", str(RATE), "-eval", setup, "-o", str(wav)]
            subprocess.run(command, input=text.encode(), check=True, capture_output=True)
        pcm, rate = soundfile.read(wav, dtype="int16")
    return augment.from_neural_voice(pcm.astype(np.float32) / 32768.0, int(rate))


def make(out: Path, n: int) -> None:
    voices = dataset.split_voices(0)["test"]
    rng = np.random.default_rng(5)
    festvox = bool(shutil.which("flite") and shutil.which("text2wave"))
    for folder, phrase in PHRASES.items():
        for i in range(n):
            voice = str(rng.choice(voices))
            words = [_espeak(w, voice, rng, int(rng.integers(120, 200))) for w in phrase.split()]
            gap = np.zeros(int(rng.uniform(0.15, 0.35) * RATE), np.float32)
            made = {
                "espeak": _espeak(phrase, voice, rng),
                "paused": np.concatenate([words[0], gap, *words[1:]]),
                "slow": _espeak(phrase, voice, rng, int(rng.integers(80, 110))),
            }
            if festvox:
                named = (FLITE + FESTIVAL)[i % (len(FLITE) + len(FESTIVAL))]
                made["festvox"] = _trimmed(_festvox(phrase, named, rng.uniform(0.8, 1.4)))
            for probe, audio in made.items():
                silence = np.zeros(RATE // 2, np.float32)
                audio = np.concatenate([silence, audio, silence])
                audio = audio / max(float(np.abs(audio).max()), 1e-6) * rng.uniform(0.1, 0.7)
                path = out / probe / folder / f"{probe}_{i}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(path, audio, RATE, subtype="PCM_16")


def _detector(bundle: str, point: str) -> Any:
    if point == "own":
        return load_cascade(bundle, verifier=False)
    wake, detect = (float(x) for x in point.split(","))
    return load_cascade(bundle, verifier=False, wake=wake, detect=detect)


def points(data: Path, phrase: str, bundle: str, chosen: list[str]) -> None:
    recordings, _ = realspeech.read_folders(realspeech.phrase_folders(data))
    clean, noisy = realspeech.heard_sets(recordings, {phrase}, 10.0, 0)
    for point in ["own", *chosen]:
        row = realspeech.recording_figures(_detector(bundle, point), phrase, clean, noisy)
        print(
            f"{Path(bundle).name} at {point}: missed clean {row['frr_clean']:.1%}, "
            f"10 dB {row['frr_noisy']:.1%}, others accepted {row['others_accepted']:.2%}"
        )


def timing(data: Path, phrase: str, bundle: str, point: str) -> None:
    recordings, _ = realspeech.read_folders(realspeech.phrase_folders(data))
    clean, _ = realspeech.heard_sets({phrase: recordings[phrase]}, set(), 10.0, 0)
    detector = _detector(bundle, point)
    rows = []
    for raw, heard in zip(recordings[phrase], clean[phrase], strict=True):
        x = raw.astype(np.float64) / 32768.0
        frames = x[: x.size // 160 * 160].reshape(-1, 160)
        energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
        loud = energy > energy.max() - 25
        sound = np.flatnonzero(loud)
        inside = ~loud[sound[0] : sound[-1] + 1]
        longest = run = 0
        for quiet in inside:
            run = run + 1 if quiet else 0
            longest = max(longest, run)
        missed = not realspeech.detects_after_lead_in(detector, heard)
        peak = energy.max()
        rows.append((sound.size and (sound[-1] - sound[0] + 1) * 0.01, longest * 0.01, peak,
                     peak - np.percentile(energy, 10), missed))  # fmt: skip
    table = np.array(rows)

    def show(name: str, mask: np.ndarray) -> None:
        share = f"{table[mask, 4].mean():6.1%}" if mask.any() else "     -"
        print(f"{name:28s} {mask.mean():6.1%} of recordings, missed {share} (n={mask.sum()})")

    show("all", np.ones(len(table), bool))
    for low, high in ((0, 0.7), (0.7, 0.9), (0.9, 1.1), (1.1, 1.4), (1.4, 9)):
        show(f"speech span {low}-{high} s", (table[:, 0] >= low) & (table[:, 0] < high))
    show("a pause of 150 ms or more", table[:, 1] >= 0.15)
    show("no pause of 150 ms", table[:, 1] < 0.15)
    for low, high in ((0, 55), (55, 68), (68, 999)):
        show(f"peak over floor {low}-{high} dB", (table[:, 3] >= low) & (table[:, 3] < high))


def stream(saved: Path, bundle: str, chosen: list[str]) -> None:
    if not saved.exists():
        np.save(saved, realspeech.keyword_free_stream(120, 0))
    audio = np.load(saved)
    hours = audio.size / RATE / 3600
    for point in ["own", *chosen]:
        accepts = len(_detector(bundle, point).process(audio))
        print(f"{Path(bundle).name} at {point}: {accepts} false accepts in {hours:.2f} h")


def speech(engine: str, saved: Path) -> None:
    rng = np.random.default_rng(7)
    sentences = text.general_sentences()
    held_out = dataset.split_voices(0)["test"]
    pieces: list[np.ndarray] = []
    total = 0
    while total < 120 * 60 * RATE:
        sentence = sentences[int(rng.integers(len(sentences)))]
        voice = FLITE[int(rng.integers(len(FLITE)))]
        stretch = rng.uniform(0.8, 1.3)
        if engine == "flite":
            audio = _festvox(sentence, voice, stretch)
        else:
            audio = augment.to_float(
                synth.synthesize(sentence, clips.random_settings(str(rng.choice(held_out)), rng))
            )
        audio = audio / (np.abs(audio).max() + 1e-9) * 10 ** (rng.uniform(-20, -6) / 20)
        pause = np.zeros(int(rng.uniform(0.2, 1.5) * RATE), np.float32)
        pieces += [audio, pause]
        total += audio.size + pause.size
    mixed = np.concatenate(pieces) + rng.normal(0, 10 ** (-50 / 20), total).astype(np.float32)
    np.save(saved, np.clip(mixed * 32767, -32768, 32767).astype(np.int16))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "make":
        make(Path(args[0]), int(args[1]) if len(args) > 1 else 56)
    elif command == "points":
        points(Path(args[0]), args[1], args[2], args[3:])
    elif command == "speech":
        speech(args[0], Path(args[1]))
    elif command == "stream":
        stream(Path(args[0]), args[1], args[2:])
    else:
        timing(Path(args[0]), args[1], args[2], args[3] if len(args) > 3 else "own")
