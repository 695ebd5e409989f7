"""Does the verifier's head reject people because of the confusables it learned to reject?
(thirty-sixth session; docs/RESULTS.md "Confusables push people's keyword down"). Usage:
  head_confusables.py REALSPEECH_DIR BUNDLE_WITH_VERIFIER WORK_DIR VARIANT[:SEED][,...]

WORK_DIR is `head_variants.py`'s (its data_x1.pkl, and head_x1_plain.npz: the default head).
Each VARIANT trains the default head (three members, seed SEED) on the same training split less
some of its keyword-free clips, and scores, with `best_window.py`'s functions, each clean
recording's best window (no cascade) beside validation's keywords and keyword-free clips (split
by kind):
  plain       the default head, as trained (not retrained)
  all         the default head trained again (with SEED: its spread over seeds)
  noconf      without any confusable clip (the training stream keeps its 15%)
  noreduced   without the keyword with its first word cut short ("sma mirror")
  noF / noM / noS   without the keyword's parts / its pseudo-word mutations / the phrases of
              real words ("part mirror", "company mirror")
  nonear      without those at most NEAR from the keyword in phonemes (`phoneme_distance`;
              training keeps those above 0.2): "sma mirror", "smart mirrar", "mark mirror"
  quarter     a quarter of the confusable clips, drawn at random: the head's side of
              `docs/experiments/fewer-confusables.patch` (thirty-eighth session)
SEED (default 0) seeds the head's training and the quarter's draw; WORK_DIR/head_VARIANT.npz
(head_VARIANT_SEED.npz for a seed other than 0) keeps the head.
A clip's phrase is replayed from its random draws (`clips._rng`, `pick_voice`, then the roll
`_negative` makes): the verifier's data have no neural voices. Measurement only.
"""

import functools
import os
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np  # noqa: E402
from best_window import best_window, people_embeddings  # noqa: E402

from kws.loading import load_cascade  # noqa: E402
from kws.verifier import VerifierHead  # noqa: E402
from training import verifier as V  # noqa: E402
from training.data import clips, phonemes, text  # noqa: E402
from training.data.dataset import phrase_lists, split_voices  # noqa: E402

SEED = 0
NEAR = 0.4

realspeech, bundle_dir, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
variants = sys.argv[4].split(",")
data = pickle.loads((work / "data_x1.pkl").read_bytes())
cascade = load_cascade(bundle_dir)
keyword, floor = cascade.keyword, cascade.bundle.noise_floor_dbfs
words = keyword.split()
pronunciations, confusables, _ = phrase_lists(keyword, SEED)
general = set(text.general_words())
parts = set(text.fixed_confusables(keyword))


def phrases(split: str, count: int) -> list[str | None]:
    """Each keyword-free clip's confusable phrase, None where it is speech or noise."""
    plan = clips.SpeechPlan(
        keyword, tuple(split_voices(SEED)[split]), pronunciations, confusables, SEED, (), floor
    )
    out: list[str | None] = []
    for i in range(count):
        rng = clips._rng(plan, split, 0, i)
        clips.pick_voice(plan, rng)
        confusable = rng.random() < clips.NEGATIVE_CONFUSABLE_SHARE
        out.append(clips.pick_confusable(plan, rng) if confusable else None)
    return out


def family(phrase: str) -> str:
    """F: the keyword's parts; S: real words only; M: a pseudo-word mutation."""
    if phrase in parts:
        return "F"
    return "S" if all(w in general or w in words for w in phrase.split()) else "M"


def reduced(phrase: str) -> bool:
    """The keyword with its first word cut short ("sma mirror")."""
    said = phrase.split()
    return len(said) == len(words) and said[0] != words[0] and words[0].startswith(said[0])


@functools.cache
def near(phrase: str) -> bool:
    """At most NEAR from the keyword in phonemes (each of the ~48 phrases worked out once)."""
    distance = phonemes.phoneme_distance(
        phonemes.text_to_phonemes(keyword), phonemes.text_to_phonemes(phrase)
    )
    return distance <= NEAR


_draws = np.random.default_rng(SEED)


def three_in_four(phrase: str) -> bool:
    """Drops three confusable clips in four, at random (called once per confusable clip)."""
    return bool(_draws.random() >= 0.25)


DROPS = {
    "all": lambda p: False,
    "noconf": lambda p: True,
    "noreduced": reduced,
    "noF": lambda p: family(p) == "F",
    "noM": lambda p: family(p) == "M",
    "noS": lambda p: family(p) == "S",
    "nonear": near,
    "quarter": three_in_four,
}

train_phrases = phrases("train", len(data["train"].negatives))
val_phrases = phrases("val", len(data["val"].negatives))
print(Counter(family(p) for p in train_phrases if p), "confusable clips in training", flush=True)
said = people_embeddings(realspeech, cascade)


def best(head: VerifierHead, clips_: list) -> np.ndarray:  # noqa: ANN001
    return np.array([best_window(head, e) for e in clips_])


def report(name: str, head: VerifierHead) -> None:
    people = best(head, said)
    keywords = best(head, [c.embeddings for c in data["val"].positives])
    free = best(head, [c.embeddings for c in data["val"].negatives]) >= 0.9
    confusable = np.array([p is not None for p in val_phrases])
    q10 = np.quantile(people, 0.1)
    print(
        f"{name}: people reach 0.9 {np.mean(people >= 0.9):.1%} (q10 {q10:.3f},"
        f" median {np.median(people):.3f}); validation keywords {np.mean(keywords >= 0.9):.1%};"
        f" keyword-free clips {free.mean():.1%} (confusables {free[confusable].mean():.1%},"
        f" others {free[~confusable].mean():.1%})",
        flush=True,
    )


for spec in variants:
    variant, _, seed_text = spec.partition(":")
    seed = int(seed_text or SEED)
    _draws = np.random.default_rng(seed)
    started = time.monotonic()
    if variant == "plain":
        with np.load(work / "head_x1_plain.npz") as stored:
            arrays = {name: stored[name] for name in stored.files}
    else:
        drop = DROPS[variant]
        train = data["train"]
        kept = [
            c for c, p in zip(train.negatives, train_phrases, strict=True) if not (p and drop(p))
        ]
        split = V._Split(train.positives, kept, train.stream_embeddings, None, train.stream_hours)
        arrays = V.train_head(split, V.VerifierSettings(), seed)
        np.savez(work / f"head_{variant}{f'_{seed}' if seed != SEED else ''}.npz", **arrays)
    report(
        f"{spec} ({(time.monotonic() - started) / 60:.1f} min)",
        VerifierHead(V.head_bytes(arrays)),
    )
