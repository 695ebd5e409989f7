"""`make demo`: the main job on the shipped default model, no microphone needed.

Synthesizes two recordings with a voice the default model never heard in training: one says
"hey jarvis" inside a sentence over noise at 10 dB SNR, the other is speech without the keyword.
Then runs `kws detect` on both and prints the detections and the cascade's counters.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from kws.frontend.config import SAMPLE_RATE_HZ
from kws_cli.main import main as kws_main

SNR_DB = 10.0


def make_recordings(folder: Path, keyword: str = "hey jarvis") -> tuple[Path, Path]:
    """Write ``with_keyword.wav`` and ``without_keyword.wav`` into ``folder``."""
    from kws.synth import VoiceSettings, synthesize
    from training.data import augment
    from training.data.dataset import split_voices

    voice = split_voices(seed=0)["test"][0]  # held out from training by construction
    settings = VoiceSettings(voice=voice, rate_wpm=150, pitch=45)
    silence = np.zeros(8000, np.int16)
    rng = np.random.default_rng(7)
    recordings = {
        "with_keyword.wav": [
            synthesize("so I was saying", settings),
            silence,
            synthesize(keyword, settings),
            silence,
            synthesize("what is the weather like tomorrow", settings),
        ],
        "without_keyword.wav": [
            synthesize("so I was saying", settings),
            silence,
            synthesize("please remind me to call the garden center", settings),
        ],
    }
    paths = []
    for name, pieces in recordings.items():
        speech = augment.to_float(np.concatenate([silence, silence, *pieces, silence]))
        noisy = augment.mix_at_snr(speech, augment.make_noise("pink", speech.size, rng), SNR_DB)
        path = folder / name
        soundfile.write(path, augment.to_int16(noisy), SAMPLE_RATE_HZ)
        paths.append(path)
    print(
        f"synthesized with espeak-ng voice {voice} (not used in training), "
        f"pink noise at {SNR_DB:.0f} dB SNR"
    )
    return paths[0], paths[1]


def run() -> int:
    with tempfile.TemporaryDirectory() as folder:
        with_keyword, without_keyword = make_recordings(Path(folder))
        for path in (with_keyword, without_keyword):
            print(f"\n$ kws detect --stats {path.name}")
            code = kws_main(["detect", "--stats", str(path)])
            if code != 0:
                return code
    return 0


if __name__ == "__main__":
    sys.exit(run())
