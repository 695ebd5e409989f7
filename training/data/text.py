"""Text for speech: carrier sentences, general English and keyword confusables, all offline.

General words come from the docstrings and comments of Python's own standard library (always
present where kws runs) plus a small built-in everyday vocabulary.
"""

from __future__ import annotations

import functools
import re
import sysconfig
from pathlib import Path

import numpy as np

_EVERYDAY = (
    "the a to and of in is it you that for on was with he as have be at one this "
    "what time weather music play stop turn light kitchen today tomorrow morning evening "
    "please thanks could would should call message open close start timer minutes set alarm "
    "volume louder quieter next previous song radio news traffic dinner lunch coffee water "
    "phone door window garden car home work school meeting remind remember yesterday week "
    "hello hi okay sure maybe really nice good great fine busy later soon now here there "
    "mother father sister brother friend doctor teacher city river mountain ocean table chair"
).split()

CARRIER_PREFIXES = (
    "okay",
    "so",
    "well",
    "um",
    "listen",
    "excuse me",
    "and then",
    "I said",
    "right",
    "hey you",
    "you know",
    "alright",
)
CARRIER_SUFFIXES = (
    "what time is it",
    "turn on the lights",
    "play some music",
    "set a timer",
    "what's the weather",
    "stop",
    "call mom",
    "how are you",
    "thank you",
    "are you there",
)

_ONSETS = (
    "b",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "ch",
    "sh",
    "st",
    "br",
    "tr",
    "j",
)
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ee", "oo", "ar", "er")


@functools.lru_cache(maxsize=1)
def general_words() -> tuple[str, ...]:
    """A few thousand English words, from the stdlib's docs and a built-in list."""
    counts: dict[str, int] = {}
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py"))[:250]:
        try:
            text = path.read_text(encoding="utf-8", errors="ignore")
        except OSError:
            continue
        for match in re.finditer(r"(?:#|\"\"\"|''')([^\n]*)", text):
            for word in re.findall(r"\b[a-z]{3,10}\b", match.group(1)):
                counts[word] = counts.get(word, 0) + 1
    frequent = sorted(word for word, count in counts.items() if count >= 3)
    return tuple(sorted(set(frequent) | set(_EVERYDAY)))


def random_sentence(rng: np.random.Generator, exclude: set[str], n_words: int | None = None) -> str:
    """A sentence of 2-9 random words, none of them in ``exclude``."""
    words = [w for w in general_words() if w not in exclude]
    count = int(n_words if n_words is not None else rng.integers(2, 10))
    return " ".join(words[int(i)] for i in rng.integers(0, len(words), size=count))


def _mutate_word(word: str, rng: np.random.Generator) -> str:
    """A near-sounding word: swap the onset, a vowel, or drop the ending."""
    choice = rng.integers(0, 3)
    if choice == 0:
        match = re.match(r"^[^aeiou]*", word)
        onset = match.group(0) if match else ""
        return str(rng.choice(_ONSETS)) + word[len(onset) :]
    if choice == 1:
        vowels = [m.start() for m in re.finditer(r"[aeiou]", word)]
        if vowels:
            at = int(rng.choice(vowels))
            return word[:at] + str(rng.choice(_VOWELS)) + word[at + 1 :]
    return word[: max(2, len(word) * 2 // 3)]


def confusables(keyword: str, rng: np.random.Generator, count: int) -> list[str]:
    """Phrases that sound like the keyword but are not it: words alone, partial keyword,
    onset/vowel substitutions, and the keyword's words in other company."""
    words = keyword.lower().split()
    fixed = list(words) + [" ".join(words[:-1])] if len(words) > 1 else [words[0][:3]]
    if len(words) > 1:
        fixed.append(words[0] + " " + words[-1][: max(2, len(words[-1]) // 2)])
    out = [phrase for phrase in fixed if phrase.strip()]
    kw = " ".join(words)
    while len(out) < count:
        mutated = " ".join(_mutate_word(w, rng) if rng.random() < 0.7 else w for w in words)
        if mutated != kw:
            out.append(mutated)
        if rng.random() < 0.2:
            out.append(f"{random_sentence(rng, set(words), 1)} {words[-1]}")
    return out[:count]
