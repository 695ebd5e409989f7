"""``kws detect`` and ``kws listen`` start without importing scipy.linalg for Numba's BLAS check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kws_cli.fast_start import skip_numba_blas_check

REPLAY = Path(__file__).resolve().parent / "fixtures" / "replay"


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout


def test_the_check_is_skipped_and_scipy_linalg_still_imports_afterwards() -> None:
    out = _python(
        "import sys\n"
        "from kws_cli.fast_start import skip_numba_blas_check\n"
        "skip_numba_blas_check()\n"
        "import numba.np.arraymath as m\n"
        "print(m._HAVE_BLAS, 'scipy.linalg' in sys.modules)\n"
        "import scipy.linalg\n"
        "print(scipy.linalg.norm([3.0, 4.0]))\n"
    )
    assert out.split() == ["False", "False", "5.0"]


def test_kws_detect_loads_no_scipy_linalg_and_still_detects() -> None:
    out = _python(
        "import sys\n"
        "from kws_cli.main import main\n"
        f"code = main(['detect', {str(REPLAY / 'hey_jarvis_in_a_sentence.flac')!r}])\n"
        "print(code, 'scipy.linalg' in sys.modules)\n"
    )
    lines = out.splitlines()
    assert "hey jarvis" in lines[0]
    assert lines[-1] == "0 False"


def test_nothing_happens_once_numba_has_checked() -> None:
    import numba.np.arraymath

    before = numba.np.arraymath._HAVE_BLAS
    skip_numba_blas_check()  # already imported in this process: left as it is
    assert numba.np.arraymath._HAVE_BLAS == before
    assert "scipy.linalg" not in sys.modules or sys.modules["scipy.linalg"] is not None
