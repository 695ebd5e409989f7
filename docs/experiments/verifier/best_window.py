"""Does a verifier's head hear people at all, wherever the keyword is? Its best score over every
window of each clean recording of its phrase (no cascade, no detection), beside the same for the
synthetic validation clips its operating point was chosen on (thirty-fifth session; docs/RESULTS.md
"The verifier's windows past the detection"). Usage:
  best_window.py REALSPEECH_DIR BUNDLE_WITH_VERIFIER:DATA_PKL ...
DATA_PKL: `head_variants.py`'s data (its validation split). Measurement only.
"""

import pickle
import sys
from pathlib import Path

import numpy as np

from kws.cascade import Cascade
from kws.loading import load_cascade
from kws.noise_floor import add_floor
from kws.verifier import windows, with_prefix
from training.realspeech import heard_sets, phrase_folders, read_folders


def best_window(head, embeddings: np.ndarray) -> float:  # noqa: ANN001 - a VerifierHead
    """The head's best score over every window of a clip's embeddings."""
    return float(head(windows(embeddings.astype(np.float32))).max())


def people_embeddings(realspeech: Path, cascade: Cascade) -> list[np.ndarray]:
    """The embeddings of each clean recording of the cascade's phrase, through the bundle's
    noise floor and the verifier's prefix, as the runtime embeds them."""
    recordings, _ = read_folders(phrase_folders(realspeech))
    keyword, floor = cascade.keyword, cascade.bundle.noise_floor_dbfs
    clean, _ = heard_sets({keyword: recordings[keyword]}, set(), 10.0, 0)
    embedding = cascade.verifier.embedding
    return [embedding.of(with_prefix(add_floor(pcm, floor), floor)) for pcm in clean[keyword]]


def main(realspeech: Path, args: list[str]) -> None:
    for arg in args:
        bundle, data_path = arg.split(":")
        cascade = load_cascade(bundle)
        head = cascade.verifier.head
        val = pickle.loads(Path(data_path).read_bytes())["val"]
        best = {
            name: np.array([best_window(head, embeddings) for embeddings in clips])
            for name, clips in (
                ("people", people_embeddings(realspeech, cascade)),
                ("validation keywords", [c.embeddings for c in val.positives]),
                ("validation keyword-free clips", [c.embeddings for c in val.negatives]),
            )
        }
        for name, scores in best.items():
            q10, q25, q50 = np.quantile(scores, [0.1, 0.25, 0.5])
            print(
                f"{cascade.keyword}: {name}: best window q10 {q10:.3f}, q25 {q25:.3f}, "
                f"median {q50:.3f}; {np.mean(scores >= 0.9):.1%} reach 0.9",
                flush=True,
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
