"""`kws eval` on labelled folders: it says which layout it read and how many files it took as
keyword clips and as other audio, accepts the usual spellings of the folder names, refuses a
word-folder layout without the keyword, and skips (and names) a file it cannot read instead of
discarding the whole evaluation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kws_cli.main import main


def _folder(root: Path, layout: dict[str, list[Path]]) -> Path:
    for name, files in layout.items():
        (root / name).mkdir(parents=True)
        for source in files:
            shutil.copy(source, root / name / source.name)
    return root


def _eval_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    capsys.readouterr()
    code = main(["eval", "--json", str(data_dir)])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else None, captured.err


@pytest.mark.parametrize(
    ("positive", "negative"),
    [("positives", "negatives"), ("positive", "negative"), ("Positives", "Negative")],
)
def test_positive_and_negative_folders_in_any_usual_spelling(
    positive: str,
    negative: str,
    demo_recordings: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_keyword, without_keyword = demo_recordings
    data_dir = _folder(tmp_path / "data", {positive: [with_keyword], negative: [without_keyword]})
    code, result, err = _eval_json(data_dir, capsys)
    assert code == 0, err
    assert (result["positives"], result["detected"], result["negatives"]) == (1, 1, 1)
    assert result["false_accepts"] == 0
    assert result["layout"] == "positives/negatives folders"
    assert (result["positive_folders"], result["negative_folders"]) == ([positive], [negative])
    layout_lines = [line for line in err.splitlines() if line.startswith("kws eval: read ")]
    assert len(layout_lines) == 1
    assert "1 keyword file" in layout_lines[0] and "1 other file" in layout_lines[0]


@pytest.mark.parametrize("word_folder", ["hey jarvis", "hey_jarvis", "Hey-Jarvis", "heyjarvis"])
def test_speech_commands_keyword_folder_in_any_usual_spelling(
    word_folder: str,
    demo_recordings: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_keyword, without_keyword = demo_recordings
    data_dir = _folder(
        tmp_path / "data", {word_folder: [with_keyword], "weather": [without_keyword]}
    )
    code, result, err = _eval_json(data_dir, capsys)
    assert code == 0, err
    assert (result["positives"], result["detected"], result["negatives"]) == (1, 1, 1)
    assert result["layout"] == "Speech Commands word folders"
    assert (result["positive_folders"], result["negative_folders"]) == ([word_folder], ["weather"])


def test_speech_commands_layout_without_the_keyword_is_refused(
    demo_recordings: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_keyword, without_keyword = demo_recordings
    data_dir = _folder(tmp_path / "data", {"jarvis": [with_keyword], "yes": [without_keyword]})
    code, _, err = _eval_json(data_dir, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kws eval: error:")
    for looked_for in ("hey_jarvis", "hey jarvis", "hey-jarvis", "heyjarvis", "positives"):
        assert looked_for in lines[0]
    assert "jarvis, yes" in lines[0]  # what it found instead


def test_unreadable_file_is_skipped_and_named(
    demo_recordings: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_keyword, without_keyword = demo_recordings
    data_dir = _folder(
        tmp_path / "data", {"positives": [with_keyword], "negatives": [without_keyword]}
    )
    broken = data_dir / "positives" / "broken.wav"
    broken.write_text("not audio")
    code, result, err = _eval_json(data_dir, capsys)
    assert code == 0, err
    assert [skip["file"] for skip in result["skipped"]] == [str(broken)]
    assert (result["positives"], result["detected"], result["frr"]) == (1, 1, 0.0)
    skip_lines = [line for line in err.splitlines() if "broken.wav" in line]
    assert len(skip_lines) == 1 and skip_lines[0].startswith("kws eval: warning: skipped ")

    capsys.readouterr()
    assert main(["eval", str(data_dir)]) == 0
    text = capsys.readouterr().out
    assert "skipped 1 unreadable file" in text and "broken.wav" in text
