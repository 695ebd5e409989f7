"""`kws export`: a bundle's models as files a device build takes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kws.paths import printable


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a bundle's models as C sources for TensorFlow Lite Micro",
        description="Write the bundle's int8 models as C sources for TensorFlow Lite Micro "
        "into OUT (a new or empty folder): per model a header and a source with the "
        "16-byte aligned .tflite bytes, the tensor-arena size, input and output quantization "
        "and a macro registering exactly the operators it uses; a cascade header with the "
        "frontend settings and thresholds; and a main-loop sketch that runs the cascade.",
    )
    parser.add_argument(
        "bundle", metavar="BUNDLE", help="bundle folder or name (kws models), e.g. hey_jarvis"
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="a new or empty folder")
    parser.add_argument("--format", choices=("c",), default="c", help="what to write (default: c)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kws.defaults import resolve_bundle
    from kws.export_c import export_c

    paths = export_c(resolve_bundle(args.bundle), args.out)
    for path in paths:
        print(printable(path))
    return 0
