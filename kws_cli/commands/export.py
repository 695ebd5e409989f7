"""`kws export`: a bundle's models as files a device build takes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kws.paths import printable


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a bundle's models for a device: C sources or a microWakeWord model",
        description="Write the bundle's int8 models into OUT (a new or empty folder). "
        "--format c: C sources for TensorFlow Lite Micro, per model a header and a source with "
        "the 16-byte aligned .tflite bytes, the tensor-arena size, input and output "
        "quantization and a macro registering exactly the operators it uses; a cascade header "
        "with the frontend settings and thresholds; and a main-loop sketch of the cascade. "
        "--format microwakeword: the full model as a microWakeWord streaming model (manifest "
        "v2 JSON and .tflite, its state inside) for ESPHome's micro_wake_word or "
        "pymicro-wakeword; needs the [train] extra (TensorFlow's flatbuffer tools).",
    )
    parser.add_argument(
        "bundle", metavar="BUNDLE", help="bundle folder or name (kws models), e.g. hey_jarvis"
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="a new or empty folder")
    parser.add_argument(
        "--format", choices=("c", "microwakeword"), default="c", help="what to write"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kws.bundle import read_bundle
    from kws.defaults import resolve_bundle
    from kws.errors import BundleError
    from kws.export_c import check_destination, export_c

    bundle_dir = resolve_bundle(args.bundle)
    bundle = read_bundle(bundle_dir)  # its notes below; the exporters read it for themselves
    if args.format == "c":
        paths = export_c(bundle_dir, args.out)
    else:
        from kws.stderr_filter import TensorflowNoise, filtered

        check_destination(args.out)  # before TensorFlow's import (seconds)
        with filtered(TensorflowNoise()):  # its import's log lines are not for the user
            try:
                from training.export_mww import write_microwakeword
            except ImportError as error:
                raise BundleError(
                    f"--format microwakeword needs TensorFlow: pip install 'kws[train]' "
                    f"({error.name} is missing)"
                ) from error
            paths = write_microwakeword(bundle_dir, args.out)
        floor = bundle.noise_floor_dbfs
        if floor is not None:
            print(
                f"kws export: note: the bundle adds a {floor:g} dBFS noise floor under the audio, "
                "which microWakeWord's runtime does not: on very clean audio the export misses "
                "more (docs/RESULTS.md)",
                file=sys.stderr,
            )
    if bundle.verifier is not None:
        before = bundle.thresholds_without_verifier()
        print(
            "kws export: note: the bundle's verifier stays behind (a device cannot run it), and "
            f"its thresholds (wake {bundle.thresholds.wake:g}, detect {bundle.thresholds.detect:g})"
            " were chosen with it: without it the cascade false-accepts more"
            + (
                f"; the thresholds chosen without it were wake {before.wake:g}, detect "
                f"{before.detect:g} (its report)"
                if before is not None
                else ""
            ),
            file=sys.stderr,
        )
    for path in paths:
        print(printable(path))
    return 0
