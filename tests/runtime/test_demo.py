"""`make demo`'s recordings through the shipped default bundle: the keyword said inside a sentence
by a held-out voice over 10 dB noise is found once, near where it is said; speech without it
fires nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kws_cli.main import main


def test_default_bundle_finds_the_demo_keyword_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kws_cli.demo import make_recordings

    with_keyword, without_keyword = make_recordings(tmp_path)
    capsys.readouterr()
    assert main(["detect", "--json", str(with_keyword), str(without_keyword)]) == 0
    detections = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["file"] for d in detections] == [str(with_keyword)]
    # 1 s of silence and "so I was saying" and a pause come first; the sentence follows it
    assert 2.0 < detections[0]["time_s"] < 4.5
    assert detections[0]["keyword"] == "hey jarvis" and detections[0]["stage"] == "full"
