"""Start-up of the commands a user waits on (``kws detect``, ``kws listen``).

Loading the first cached Numba kernel sets up Numba's CPU target, which imports
``numba.np.arraymath``; that module asks once whether a BLAS is there for ``np.dot`` in
compiled code by importing ``scipy.linalg`` (about 0.4 s of a warm ``kws detect``'s 1.2 CPU
seconds). No kws kernel calls BLAS, so these commands let that check answer "no": Numba
compiled code in the same process cannot use ``np.dot``/``np.linalg``, and ``scipy.linalg``
imports as usual afterwards. Only the CLI's own process does this, never ``import kws``.
"""

from __future__ import annotations

import sys


def skip_numba_blas_check() -> None:
    """Import ``numba.np.arraymath`` with ``scipy.linalg`` unimportable for the moment (its
    BLAS check then fails fast); nothing happens when either is already imported."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules["scipy.linalg"]
