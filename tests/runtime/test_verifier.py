"""The verifier after the cascade (``kws.verifier``): it scores the stream as training scores
audio it has embedded whole, the cascade drops what it rejects, and a bundle carries it as
schema 3 with checked files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from kws.bundle import read_bundle, sha256_bytes, write_bundle
from kws.cascade import Cascade
from kws.errors import BundleError, KwsError
from kws.loading import load_cascade
from kws.manifest import VERIFIER_FILE_NAMES, Bundle
from kws.thresholds import Thresholds

onnxruntime = pytest.importorskip("onnxruntime")  # kws[verifier]; the dev extra has it
openwakeword = pytest.importorskip("openwakeword")

from kws import verifier as V  # noqa: E402

ONNX = Path(openwakeword.__file__).parent / "resources" / "models"
UNITS = 8


def head_payload(seed: int = 0, bias: float = 0.0) -> bytes:
    rng = np.random.default_rng(seed)
    inputs = V.WINDOW_EMBEDDINGS * V.EMBEDDING_DIM
    arrays = {
        "w0": rng.standard_normal((inputs, UNITS)) * 0.05,
        "b0": rng.standard_normal(UNITS) * 0.1,
        "g0": 1 + rng.standard_normal(UNITS) * 0.1,
        "c0": rng.standard_normal(UNITS) * 0.1,
        "w1": rng.standard_normal((UNITS, UNITS)) * 0.3,
        "b1": np.zeros(UNITS),
        "g1": np.ones(UNITS),
        "c1": np.zeros(UNITS),
        "w2": rng.standard_normal((UNITS, 1)),
        "b2": np.array([bias]),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **{name: value.astype(np.float32) for name, value in arrays.items()})
    return buffer.getvalue()


@pytest.fixture(scope="module")
def embedding() -> V.SpeechEmbedding:
    return V.SpeechEmbedding(
        (ONNX / "melspectrogram.onnx").read_bytes(), (ONNX / "embedding_model.onnx").read_bytes()
    )


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise with a moving level and no digital silence (the melspectrogram clamps 80 dB below
    a piece's loudest frame, so stretches of exact zeros would make pieces differ)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    level = 1500 + 1200 * np.sin(np.arange(n) / 3000.0)
    return (rng.standard_normal(n) * level).astype(np.int16)


def test_embeddings_of_long_audio_equal_those_of_one_piece(embedding: V.SpeechEmbedding) -> None:
    pcm = speechlike(70.0)  # more than one piece of 750 embeddings
    whole = embedding.of(pcm)
    assert whole.shape == (V.embedding_count(pcm.size), V.EMBEDDING_DIM)
    piece = pcm[: V.window_end_sample(799)]
    assert np.allclose(embedding._piece(piece), whole[:800], atol=1e-4)


def test_the_stream_is_scored_as_training_scores_audio_embedded_whole(
    embedding: V.SpeechEmbedding,
) -> None:
    head = V.VerifierHead(head_payload())
    pcm = speechlike(9.0, seed=1)
    ends = [40000, 64000, 100000, 143999]  # after the prefix has left every window
    expected = V.best_scores(head, embedding.of(V.with_prefix(pcm, None)), ends, 0.32)
    verifier = V.Verifier(embedding, head, V.VerifierPolicy(0.5, 0.32))
    got = {}
    for chunk in np.array_split(pcm, 300):  # ~30 ms chunks, as the cascade hears them
        verifier.hear(chunk)
        for end in ends:
            if end not in got and verifier.heard_samples >= end:
                got[end] = verifier.score(end)
    assert [got[end] for end in ends] == pytest.approx(list(expected), abs=1e-5)
    assert len(set(np.round(expected, 4))) > 1  # the windows differ: a real comparison


def test_windows_before_a_detection() -> None:
    end = 50000
    first, last = V.windows_before(end, 0.32)
    ends = [V.window_end_sample(k) - V.PREFIX_SAMPLES for k in range(first, last + 1)]
    assert all(end - 0.32 * 16000 <= e <= end for e in ends)
    assert len(ends) == 4 and ends[-1] + V.EMBEDDING_HOP > end
    # at the start of a stream, the prefix of floor lets a detection at 0.8 s be verified
    first, last = V.windows_before(int(0.8 * 16000), 0.32)
    assert first == V.WINDOW_EMBEDDINGS - 1 and last >= first
    first, last = V.windows_before(int(0.5 * 16000), 0.32)
    assert first > last


def test_the_head_refuses_arrays_of_the_wrong_shape() -> None:
    buffer = io.BytesIO()
    np.savez(buffer, w0=np.zeros((3, 3), np.float32))
    with pytest.raises(BundleError, match="head"):
        V.VerifierHead(buffer.getvalue())
    # stacked members must all be stacked, the same number of them
    with np.load(io.BytesIO(head_payload()), allow_pickle=False) as loaded:
        one = {name: loaded[name] for name in V.HEAD_ARRAYS}
    two = {name: np.stack([value, value]) for name, value in one.items()}
    for broken in ({**two, "b1": one["b1"]}, {**two, "w2": np.stack([one["w2"]] * 3)}):
        buffer = io.BytesIO()
        np.savez(buffer, **broken)
        with pytest.raises(BundleError, match="head array"):
            V.VerifierHead(buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, **two)
    batch = np.random.default_rng(0).standard_normal((4, 16, 96)).astype(np.float32)
    same = V.VerifierHead(buffer.getvalue())(batch)
    assert same == pytest.approx(V.VerifierHead(head_payload())(batch), abs=1e-6)


class _Verdict:
    """A verifier that accepts from a script, recording what it was asked."""

    def __init__(self, accept: bool) -> None:
        self.accept = accept
        self.asked: list[int] = []
        self.heard_when_asked: list[int] = []
        self.heard = 0

    def reset(self) -> None:
        self.heard = 0

    def hear(self, pcm: np.ndarray) -> None:
        self.heard += pcm.size

    def accepts(self, end_sample: int) -> tuple[bool, float]:
        self.asked.append(end_sample)
        self.heard_when_asked.append(self.heard)
        return self.accept, 0.75


class _Constant:
    stride_frames, window_frames = 3, 3

    def __init__(self, score: float) -> None:
        self.score = score

    def step(self, frames: np.ndarray) -> float:
        return self.score

    def reset(self) -> None:
        pass


def _cascade(verdict: _Verdict) -> Cascade:
    thresholds = Thresholds(
        wake=0.5,
        detect=0.5,
        smoothing_frames=1,
        wake_window_s=0.3,
        preroll_s=0.1,
        refractory_s=1.0,
    )
    return Cascade(
        "word",
        _Constant(0.9),
        thresholds,
        tiny=_Constant(0.9),
        verifier=verdict,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("accept", [True, False])
@pytest.mark.parametrize("chunk", [480, 160, 48000], ids=["30ms", "10ms", "whole"])
def test_the_cascade_counts_a_detection_only_when_the_verifier_accepts(
    accept: bool, chunk: int
) -> None:
    verdict = _Verdict(accept)
    cascade = _cascade(verdict)
    pcm = np.zeros(16000 * 3, np.int16)
    detections = [
        d
        for start in range(0, pcm.size, chunk)
        for d in cascade.process(pcm[start : start + chunk])
    ]
    assert len(verdict.asked) == 3  # once a second: the refractory period follows a rejection too
    assert cascade.counters.verifications == 3
    # asked once the audio up to the detection was heard, and not so much more that the
    # history (``AHEAD_SAMPLES`` past it) has lost what the windows need
    for end, heard in zip(verdict.asked, verdict.heard_when_asked, strict=True):
        assert end <= heard <= end + V.AHEAD_SAMPLES
    if accept:
        assert [d.stage for d in detections] == ["verifier"] * 3
        assert [d.score for d in detections] == [0.75] * 3
        assert [round(d.time_s * 16000) for d in detections] == verdict.asked
    else:
        assert detections == [] and cascade.counters.detections == 0
    with pytest.raises(KwsError, match="verifier"):
        cascade.process_features(np.zeros((10, 40), np.uint16))


def _with_verifier(random_bundle: Path, out: Path, threshold: float = 0.5) -> Path:
    bundle = read_bundle(random_bundle)
    manifest = bundle.to_dict()
    manifest.pop("schema_version")
    manifest["verifier"] = {role: {"file": name} for role, name in VERIFIER_FILE_NAMES.items()} | {
        "threshold": threshold,
        "before_s": 0.32,
        "source": "test",
    }
    files = {spec.file: (random_bundle / spec.file).read_bytes() for spec in bundle.models.values()}
    files[VERIFIER_FILE_NAMES["melspectrogram"]] = (ONNX / "melspectrogram.onnx").read_bytes()
    files[VERIFIER_FILE_NAMES["embedding"]] = (ONNX / "embedding_model.onnx").read_bytes()
    files[VERIFIER_FILE_NAMES["head"]] = head_payload()
    return write_bundle(out, manifest, files)


def test_a_bundle_with_a_verifier_is_schema_3_and_loads_it(
    random_bundle: Path, tmp_path: Path
) -> None:
    out = _with_verifier(random_bundle, tmp_path / "verified")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] == 3
    head = (out / VERIFIER_FILE_NAMES["head"]).read_bytes()
    assert manifest["verifier"]["head"] == {
        "file": "verifier_head.npz",
        "sha256": sha256_bytes(head),
        "bytes": len(head),
    }
    assert Bundle.from_dict(manifest).to_dict() == manifest
    cascade = load_cascade(out)
    assert cascade.verifier is not None and cascade.verifier.policy.threshold == 0.5
    assert load_cascade(out, verifier=False).verifier is None
    cascade.process(speechlike(3.0))  # runs; the random models decide whether it detects


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(schema_version=2), "schema version 3 is a bundle with a verifier"),
        (lambda m: m.pop("verifier"), "schema version 3 is a bundle with a verifier"),
        (lambda m: m["verifier"].update(threshold=1.5), "verifier.threshold"),
        (lambda m: m["verifier"].update(before_s=-1), "verifier.before_s"),
        (lambda m: m["verifier"].pop("head"), "verifier.head must be an object"),
        (lambda m: m["verifier"]["embedding"].update(file="../x.onnx"), "outside the bundle"),
    ],
)
def test_a_wrong_verifier_entry_is_refused(
    random_bundle: Path, tmp_path: Path, change, message
) -> None:  # type: ignore[no-untyped-def]
    out = _with_verifier(random_bundle, tmp_path / "verified")
    manifest = json.loads((out / "manifest.json").read_text())
    change(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message):
        read_bundle(out)


def test_a_changed_verifier_file_is_refused(random_bundle: Path, tmp_path: Path) -> None:
    out = _with_verifier(random_bundle, tmp_path / "verified")
    (out / VERIFIER_FILE_NAMES["head"]).write_bytes(head_payload(seed=1))
    with pytest.raises(BundleError, match="verifier 'head' file verifier_head.npz does not match"):
        load_cascade(out)


def test_a_bundle_folder_with_verifier_files_may_be_replaced(
    random_bundle: Path, tmp_path: Path
) -> None:
    out = _with_verifier(random_bundle, tmp_path / "verified")
    assert _with_verifier(random_bundle, out, threshold=0.9) == out
    assert read_bundle(out).verifier.threshold == 0.9  # type: ignore[union-attr]


def test_export_says_the_verifier_stays_behind(
    random_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kws_cli.main import main

    bundle = _with_verifier(random_bundle, tmp_path / "verified")
    assert main(["export", str(bundle), str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert "verifier stays behind" in err and err.count("\n") == 1
    assert (tmp_path / "c").is_dir()
