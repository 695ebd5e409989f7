"""The wheel works on its own: built from the sources, installed into a fresh virtual
environment outside the checkout, its ``kws`` finds the shipped bundles and power profiles.

No network: the wheel is built without build isolation and installed without dependencies;
the new environment sees this one's installed dependencies through a ``.pth`` line, which
(unlike this environment's own site folder) does not run the editable install's hook, so only
the wheel's copy of ``kws`` can be imported there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _copy_sources(destination: Path) -> Path:
    """What the build reads, copied: building in the checkout would leave ``build/`` there,
    whose stale files setuptools puts into later wheels."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    destination.mkdir()
    for name in ("pyproject.toml", pyproject["project"]["readme"]):
        shutil.copy2(ROOT / name, destination / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for package in packages:
        folder = package.rstrip("*")
        shutil.copytree(ROOT / folder, destination / folder, ignore=ignore)
    return destination


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment with the wheel installed: its bin folder and an environment
    to run it in (no PYTHONPATH, the user's bundle folder empty)."""
    work = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["XDG_DATA_HOME"] = str(work / "data")
    sources = _copy_sources(work / "src")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    _run([*build, "--no-index", "-q", "-w", str(work / "dist"), str(sources)], work, env)
    (wheel,) = (work / "dist").glob("kws-*.whl")

    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, env)
    python = venv / "bin" / "python"
    site_packages = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], work, env
        ).strip()
    )
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "kws_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    install = [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed"]
    _run([*install, "-q", str(wheel)], work, env)
    return venv / "bin", env


@pytest.mark.slow
def test_the_wheel_holds_the_packages_bundles_and_profiles(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    venv = bin_dir.parent
    code = (
        "import json, sys\n"
        "import kws, firmware_sim\n"
        "from kws.defaults import default_bundle_dir, shipped_bundle_dirs\n"
        "from firmware_sim.profile import PROFILE_DIR\n"
        "import kws.cascade, kws.audio, kws_cli.commands.detect, firmware_sim.simulator\n"
        "print(json.dumps({'kws': kws.__file__, 'firmware_sim': firmware_sim.__file__,\n"
        "    'bundles': [str(p) for p in shipped_bundle_dirs()],\n"
        "    'profiles': sorted(p.stem for p in PROFILE_DIR.glob('*.toml')),\n"
        "    'heavy': sorted(m for m in ('training', 'tensorflow') if m in sys.modules)}))\n"
    )
    found = json.loads(_run([str(bin_dir / "python"), "-c", code], tmp_path, env))
    for key in ("kws", "firmware_sim"):
        assert Path(found[key]).is_relative_to(venv), f"{key} imported from {found[key]}"
    assert [Path(p).name for p in found["bundles"]] == ["hey_jarvis", "alexa"]
    assert all(Path(p).is_relative_to(venv) for p in found["bundles"])
    assert "smartwatch_300mah" in found["profiles"]
    assert found["heavy"] == []  # the runtime needs neither training nor TensorFlow


@pytest.mark.slow
def test_the_installed_kws_detects_and_simulates_with_its_shipped_data(
    installed: tuple[Path, dict[str, str]], demo_recordings: tuple[Path, Path], tmp_path: Path
) -> None:
    bin_dir, env = installed
    kws = str(bin_dir / "kws")
    with_keyword, _ = demo_recordings
    out = _run([kws, "detect", "--json", str(with_keyword)], tmp_path, env)
    assert [json.loads(line)["keyword"] for line in out.splitlines()] == ["hey jarvis"]
    out = _run(
        [kws, "battery", "--profile", "smartwatch_300mah", "--minutes", "1", "--json"],
        tmp_path,
        env,
    )
    report = json.loads(out)
    assert report["profile"] == "smartwatch_300mah" and report["battery_hours"] > 0
    listing = json.loads(_run([kws, "models", "--json"], tmp_path, env))
    assert [row["name"] for row in listing["bundles"]] == ["alexa", "hey_jarvis"]
