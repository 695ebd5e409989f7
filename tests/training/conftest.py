"""Fixtures shared by the training tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def quick_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`kws train --keyword "hey nova" --quick --full-starts 3`, once per session: its bundle,
    with the data cache it built beside it (``cache``) and stand-ins for recordings of people
    (``people``). Three starts: four training processes, more than run at once on 2 cores."""
    root = tmp_path_factory.mktemp("train")
    out = root / "hey_nova"
    _phrase_folders(root / "people")
    command = [sys.executable, "-m", "kws", "train", "--keyword", "hey nova", "--quick"]
    places = ["--full-starts", "3", "--out", str(out), "--cache-dir", str(root / "cache")]
    result = subprocess.run(
        [*command, *places, "--real-speech", str(root / "people")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (root / "stdout.txt").write_text(result.stdout)
    (root / "stderr.txt").write_text(result.stderr)
    return out


def _phrase_folders(root: Path) -> None:
    """Stand-ins for recordings of people: two voices saying the keyword, one something else."""
    import soundfile

    from kws.synth import VoiceSettings, synthesize

    for folder, phrase, voices in (
        ("hey_nova", "hey nova", ("en-us+m3", "en+f2")),
        ("good_morning", "good morning", ("en-us+m3",)),
    ):
        (root / folder).mkdir(parents=True)
        for index, voice in enumerate(voices):
            pcm = synthesize(phrase, VoiceSettings(voice=voice, rate_wpm=150, pitch=50))
            padded = np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(8000, np.int16)])
            soundfile.write(root / folder / f"{index}.flac", padded, 16000)
