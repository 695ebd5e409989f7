"""Bundles by name: the shipped ones inside the package, the user's own under the platform's
data folder, ``--model NAME`` on every command that takes a bundle, and ``kws models``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import kws
from kws.defaults import (
    SHIPPED_MODELS_DIR,
    default_bundle_dir,
    known_bundles,
    resolve_bundle,
    shipped_bundle_dirs,
    user_models_dir,
)
from kws.errors import BundleError
from kws_cli.main import main


@pytest.fixture()
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user data folder in place of the real one (``$XDG_DATA_HOME``)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "kws" / "models"


def test_shipped_bundles_live_inside_the_package() -> None:
    assert SHIPPED_MODELS_DIR == Path(kws.__file__).resolve().parent / "models"
    assert default_bundle_dir() == SHIPPED_MODELS_DIR / "hey_jarvis"
    assert [p.name for p in shipped_bundle_dirs()] == ["hey_jarvis", "alexa"]


@pytest.mark.parametrize("platform", ["linux", "freebsd"])
def test_user_folder_follows_the_xdg_rule(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.platform", platform)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert user_models_dir() == tmp_path / "home" / ".local" / "share" / "kws" / "models"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/invalid")
    assert user_models_dir() == tmp_path / "home" / ".local" / "share" / "kws" / "models"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_models_dir() == tmp_path / "xdg" / "kws" / "models"


def test_a_name_means_a_known_bundle_and_a_path_comes_first(
    user_dir: Path, random_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_bundle(None) == default_bundle_dir()
    assert resolve_bundle("alexa") == SHIPPED_MODELS_DIR / "alexa"
    assert resolve_bundle(random_bundle) == random_bundle
    shutil.copytree(random_bundle, user_dir / "mine")
    assert resolve_bundle("mine") == user_dir / "mine"
    # a user bundle named like a shipped one takes its place
    shutil.copytree(random_bundle, user_dir / "alexa")
    assert resolve_bundle("alexa") == user_dir / "alexa"
    # a folder of that name where the command runs is a path, and paths come first
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hey_jarvis").mkdir()
    assert resolve_bundle("hey_jarvis") == Path("hey_jarvis")
    names = [(bundle.name, bundle.source) for bundle in known_bundles()]
    assert names == [("alexa", "shipped"), ("hey_jarvis", "shipped")] + [
        ("alexa", "user"),
        ("mine", "user"),
    ]


def test_an_unknown_name_is_one_line_listing_the_known_ones(user_dir: Path) -> None:
    with pytest.raises(BundleError, match=r"'hey_nova'.*known: alexa, hey_jarvis; see kws models"):
        resolve_bundle("hey_nova")


def test_load_bundle_takes_a_name() -> None:
    assert kws.load_bundle("alexa").keyword == "alexa"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["detect", "--model", "hey_nova", "clip.wav"],
        ["listen", "--model", "hey_nova"],
        ["eval", "--model", "hey_nova", "."],
        ["battery", "--model", "hey_nova"],
        ["bench", "cascade", "--model", "hey_nova"],
        ["bench", "soak", "--model", "hey_nova"],
        ["bench", "realspeech", "--model", "alexa", "--model", "hey_nova", "."],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_every_command_taking_a_bundle_takes_a_name(
    argv: list[str], user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert err.count("\n") == 1 and "known: alexa, hey_jarvis" in err


def test_detect_finds_the_keyword_with_a_bundle_given_by_name(
    demo_recordings: tuple[Path, Path], user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_keyword, _ = demo_recordings
    code, out, _ = _run(["detect", "--json", "--model", "hey_jarvis", str(with_keyword)], capsys)
    assert code == 0
    assert [json.loads(line)["keyword"] for line in out.splitlines()] == ["hey jarvis"]


def test_models_lists_shipped_and_user_bundles_with_their_figures(
    user_dir: Path, random_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(random_bundle, user_dir / "mine")
    (user_dir / "broken").mkdir()
    (user_dir / "broken" / "manifest.json").write_text("{not json")
    code, out, _ = _run(["models", "--json"], capsys)
    assert code == 0
    listing = json.loads(out)
    assert listing["user_dir"] == str(user_dir)
    rows = {row["name"]: row for row in listing["bundles"]}
    assert list(rows) == ["alexa", "hey_jarvis", "broken", "mine"]
    jarvis = rows["hey_jarvis"]
    assert jarvis["source"] == "shipped" and jarvis["keyword"] == "hey jarvis"
    assert jarvis["bytes"] == {
        role: (SHIPPED_MODELS_DIR / "hey_jarvis" / f"{role}.tflite").stat().st_size
        for role in ("tiny", "full")
    }
    assert 0 < jarvis["test_frr"] < 1 and jarvis["test_fa_per_hour"] >= 0
    assert rows["mine"]["source"] == "user" and rows["mine"]["keyword"] == "test word"
    assert "test_frr" not in rows["mine"]  # an untrained bundle has no evaluation
    assert "not valid JSON" in rows["broken"]["error"]

    code, out, _ = _run(["models"], capsys)
    assert code == 0
    for expected in ("hey_jarvis *", "alexa", "mine", "broken", "unusable", str(user_dir)):
        assert expected in out


def test_models_shows_what_bundles_and_folder_names_say_as_text(
    user_dir: Path,
    random_bundle: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # no cell wrapped
    mine = user_dir / "mine [red]"
    shutil.copytree(random_bundle, mine)
    manifest = json.loads((mine / "manifest.json").read_text())
    manifest["keyword"] = "hey [/b] [red]nova"  # printable, but rich markup
    (mine / "manifest.json").write_text(json.dumps(manifest))
    shutil.copytree(random_bundle, user_dir / "escape \x1b[2J")
    (user_dir / "escape \x1b[2J" / "manifest.json").write_text("{not json")
    code, out, _ = _run(["models"], capsys)
    assert code == 0
    assert "hey [/b] [red]nova" in out and "mine [red]" in out
    assert "\x1b" not in out and "escape \\x1b[2J" in out


def test_train_help_says_where_bundles_are_found_by_name(
    user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "kws models" in " ".join(out.split())
    assert str(user_dir) in "".join(out.split())  # argparse breaks a long path across lines
