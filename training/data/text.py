"""Text for speech: carrier sentences, general English and keyword confusables, all offline.

General English comes from what every machine that runs kws has: the docstrings and comments of
Python's standard library, the licence and metadata texts of installed packages, the system word
list when there is one (``/usr/share/dict/words``), and a built-in sentence generator for
everyday speech. Real sentences matter: a bag of random words has no sentence prosody, and the
model must learn that ordinary talk is not the keyword.
"""

from __future__ import annotations

import functools
import hashlib
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

# A small grammar of everyday speech: the generator fills one template with one choice per slot.
_TEMPLATES = (
    "{subject} {verb} the {thing} {when}",
    "can you {verb} the {thing} {when}",
    "did {subject} {verb} the {thing}",
    "I think {subject} left the {thing} in the {place}",
    "we should {verb} the {thing} before {when}",
    "the {thing} in the {place} is {adjective}",
    "{when} it was {adjective} in the {place}",
    "tell {subject} the {thing} is {adjective}",
    "why is the {thing} so {adjective}",
    "let me know when the {thing} is {adjective}",
)
_SLOTS = {
    "subject": ("my sister", "the neighbours", "he", "she", "they", "our teacher", "you", "Tom"),
    "verb": ("open", "close", "clean", "fix", "move", "check", "find", "bring", "paint", "sell"),
    "thing": ("window", "car", "kettle", "garden gate", "report", "bicycle", "laptop", "oven"),
    "place": ("kitchen", "office", "garage", "hallway", "station", "library", "park", "attic"),
    "when": ("today", "tomorrow morning", "after lunch", "next week", "tonight", "on Sunday"),
    "adjective": ("broken", "ready", "cold", "too loud", "empty", "brand new", "very quiet"),
}

_ONSETS = ("b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
           "ch", "sh", "st", "br", "tr", "j")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ee", "oo", "ar", "er")
_SENTENCE_WORD = re.compile(r"[A-Za-z][a-z]*[,;]?")
_WORD = re.compile(r"\b[a-z]{3,12}\b")


def _text_files() -> list[Path]:
    """Offline English: stdlib sources, package licences/metadata/docs, the system word list."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    packages = Path(sysconfig.get_paths()["purelib"])
    files = sorted(stdlib.glob("*.py"))[:400]
    files += sorted(
        p
        for p in packages.glob("*.dist-info/**/*")
        if p.is_file()
        and re.match(r"(LICEN[CS]E|COPYING|METADATA|AUTHORS|NOTICE)", p.name)
        # not kws's own: its METADATA is the README, which would make every README edit (once
        # reinstalled) a new dataset
        and not p.relative_to(packages).parts[0].startswith("kws-")
    )
    files += [Path("/usr/share/dict/words")]
    return [p for p in files if p.is_file() and p.stat().st_size < 2_000_000]


@functools.lru_cache(maxsize=1)
def _corpus() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(words, sentences) from the offline texts, sorted so every process sees the same order."""
    counts: dict[str, int] = {}
    sentences: set[str] = set()
    for path in _text_files():
        try:
            raw = path.read_text(encoding="utf-8", errors="ignore")
        except OSError:
            continue
        if path.name == "words":
            for word in raw.split():
                if _WORD.fullmatch(word):
                    counts[word] = counts.get(word, 0) + 3
            continue
        # Comment markers would break sentences that continue over several comment lines.
        plain = re.sub(r"(?m)^\s*(#+|\"\"\"|''')", " ", raw)
        for word in _WORD.findall(plain):
            counts[word] = counts.get(word, 0) + 1
        for candidate in re.split(r"(?<=[.!?])\s+", plain):
            words = candidate.rstrip(".!?").split()
            if 4 <= len(words) <= 14 and all(_SENTENCE_WORD.fullmatch(w) for w in words):
                sentences.add(" ".join(words).rstrip(",;"))
    frequent = {word for word, count in counts.items() if count >= 3}
    return tuple(sorted(frequent | set(_EVERYDAY))), tuple(sorted(sentences))


def general_words() -> tuple[str, ...]:
    """A few thousand English words from the offline texts and a built-in list."""
    return _corpus()[0]


def general_sentences() -> tuple[str, ...]:
    """Real English sentences (4-14 plain words) from the offline texts."""
    return _corpus()[1]


def corpus_digest() -> str:
    """A short hash of the words and sentences, so a cache built from other texts is not reused."""
    words, sentences = _corpus()
    return hashlib.sha256("\n".join(words + sentences).encode()).hexdigest()[:12]


def _contains_phrase(sentence: str, phrase: str) -> bool:
    return f" {phrase} " in f" {re.sub(r'[^a-z ]', '', sentence.lower())} "


def template_sentence(rng: np.random.Generator) -> str:
    """One everyday sentence from the built-in grammar."""
    template = str(rng.choice(_TEMPLATES))
    choices = {slot: str(rng.choice(options)) for slot, options in _SLOTS.items()}
    return template.format(**choices)


def random_sentence(rng: np.random.Generator, keyword: str, n_words: int | None = None) -> str:
    """Speech that never contains ``keyword``: a real sentence from the offline texts, an
    everyday template sentence, or (with ``n_words``, or sometimes) a string of random words.
    The keyword's single words may appear: "hey" alone is a negative the model must reject."""
    phrase = " ".join(keyword.lower().split())
    sentences = general_sentences()
    for _ in range(20):
        roll = rng.random()
        if n_words is None and roll < 0.45 and sentences:
            sentence = sentences[int(rng.integers(0, len(sentences)))]
        elif n_words is None and roll < 0.85:
            sentence = template_sentence(rng)
        else:
            words = general_words()
            count = int(n_words if n_words is not None else rng.integers(2, 10))
            sentence = " ".join(words[int(i)] for i in rng.integers(0, len(words), size=count))
        if not _contains_phrase(sentence, phrase):
            return sentence
    # A keyword made of everyday words ("the time"): fall back to words that are not in it.
    others = [w for w in general_words() if w not in phrase.split()]
    return " ".join(others[int(i)] for i in rng.integers(0, len(others), size=6))


def _mutate_word(word: str, rng: np.random.Generator) -> str:
    """A near-sounding pseudo-word: swap the onset, a vowel, or drop the ending."""
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


def fixed_confusables(keyword: str) -> list[str]:
    """The keyword's parts: each word alone, all but the last word, and the first word with the
    start of the last ("hey", "jarvis", "hey jar")."""
    words = keyword.lower().split()
    if len(words) == 1:
        return [words[0][: max(2, len(words[0]) // 2)]]
    fixed = list(dict.fromkeys(words))
    fixed.append(" ".join(words[:-1]))
    fixed.append(" ".join(words[:-1]) + " " + words[-1][: max(2, len(words[-1]) // 2)])
    return list(dict.fromkeys(fixed))


def confusables(
    keyword: str,
    rng: np.random.Generator,
    count: int,
    sound_alikes: dict[str, list[str]] | None = None,
) -> list[str]:
    """Phrases that sound like the keyword but are not it: its parts (``fixed_confusables``),
    the keyword with one word replaced by a real sound-alike word ("hey harvest", from
    ``sound_alikes``: word -> similar real words), onset/vowel pseudo-word substitutions, and
    the keyword's last word in other company."""
    words = keyword.lower().split()
    kw = " ".join(words)
    out = fixed_confusables(keyword)
    attempts = 0
    while len(out) < count and attempts < 50 * count:
        attempts += 1
        roll = rng.random()
        if roll < 0.35 and sound_alikes:
            at = int(rng.integers(0, len(words)))
            options = sound_alikes.get(words[at], [])
            if not options:
                continue
            phrase = " ".join(words[:at] + [str(rng.choice(options))] + words[at + 1 :])
        elif roll < 0.85:
            phrase = " ".join(_mutate_word(w, rng) if rng.random() < 0.7 else w for w in words)
        else:
            phrase = f"{random_sentence(rng, kw, 1)} {words[-1]}"
        if phrase != kw and not _contains_phrase(phrase, kw):
            out.append(phrase)
    return out[:count]
