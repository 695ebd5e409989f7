"""Where bundles live and which folder a ``--model`` value means.

Two places hold bundles: the ones shipped inside the package (``kws/models/``, package data, so
an installed wheel has them too) and the user's own folder (``user_models_dir()``: on Linux
``$XDG_DATA_HOME/kws/models``, by default ``~/.local/share/kws/models``). A bundle's name is
its folder's name; a user bundle of a shipped bundle's name takes its place.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from kws.errors import BundleError

SHIPPED_MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_KEYWORD_DIR = "hey_jarvis"


@dataclass(frozen=True)
class KnownBundle:
    """A bundle found by name: ``source`` is ``"shipped"`` or ``"user"``."""

    name: str
    path: Path
    source: str


def user_models_dir() -> Path:
    """The folder whose bundles ``kws models`` lists and ``--model NAME`` finds, by the
    platform's convention for per-user application data (it need not exist)."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        # The XDG base directory rule: a relative XDG_DATA_HOME is invalid and ignored.
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "kws" / "models"


def _bundle_folders(folder: Path) -> list[Path]:
    """Subfolders of ``folder`` holding a ``manifest.json``, by name; none if it is unreadable."""
    try:
        return sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file())
    except OSError:
        return []


def default_bundle_dir() -> Path:
    """The shipped default bundle, ``kws/models/hey_jarvis``.

    Raises:
        BundleError: the installation lacks it (a broken package); pass --model.
    """
    candidate = SHIPPED_MODELS_DIR / DEFAULT_KEYWORD_DIR
    if not (candidate / "manifest.json").is_file():
        raise BundleError(f"no default bundle at {candidate} (incomplete install?); pass --model")
    return candidate


def shipped_bundle_dirs() -> list[Path]:
    """Every shipped bundle, the default one first.

    Raises:
        BundleError: the installation lacks the default bundle; pass --model.
    """
    default = default_bundle_dir()
    return [default] + [p for p in _bundle_folders(SHIPPED_MODELS_DIR) if p != default]


def known_bundles() -> list[KnownBundle]:
    """The shipped bundles, then the user's (``user_models_dir()``), each by name."""
    shipped = [KnownBundle(p.name, p, "shipped") for p in _bundle_folders(SHIPPED_MODELS_DIR)]
    user = [KnownBundle(p.name, p, "user") for p in _bundle_folders(user_models_dir())]
    return shipped + user


def resolve_bundle(model: str | Path | None) -> Path:
    """The bundle a ``--model`` value means: the default bundle for ``None``, a path that
    exists as given, else a known bundle's name (a user bundle before a shipped one).

    Raises:
        BundleError: neither a path nor a known name; the message lists the known names.
    """
    if model is None:
        return default_bundle_dir()
    path = Path(model)
    if path.exists():
        return path
    by_name = {bundle.name: bundle.path for bundle in known_bundles()}  # the user's last: wins
    if str(path) in by_name:
        return by_name[str(path)]
    known = ", ".join(sorted(by_name)) or "none"
    raise BundleError(
        f"no bundle {str(model)!r}: no such file or folder, and no known bundle of that name "
        f"(known: {known}; see kws models)"
    )
