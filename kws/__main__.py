"""``python -m kws``: the command line, which lives above the runtime (``kws_cli``).

The one module of ``kws`` that imports upwards: it is the entry point, never imported by the
runtime itself."""

from kws_cli.main import main

raise SystemExit(main())
