"""Phoneme-level variants of a phrase through espeak-ng's own phonemizer.

espeak-ng turns text into its ASCII phoneme mnemonics (``hey jarvis`` -> ``h'eI dZ'A@vIs``) and
speaks ``[[...]]`` input back exactly as written. Moving the stress mark, adding secondary stress
and swapping a vowel for a near one gives pronunciations of the keyword that no voice's default
rules produce: the way people stress unfamiliar names differently, or reduce a vowel.

The same mnemonics also give a phonetic distance between words, used to find real words that
sound like the keyword's ("jarvis" -> "harvest") for hard negatives.
"""

from __future__ import annotations

import ctypes
import functools
import re

import numpy as np

from kws import synth
from kws.errors import SynthesisError

# espeakCHARS_UTF8 for the text; phoneme mode 0 = espeak's ASCII mnemonics, no separators.
_TEXT_MODE_UTF8 = 1
_PHONEME_MODE_ASCII = 0
_PHONEME_MODE_IPA = 0x02

# A vowel mnemonic starts with one of these letters (consonants never do in English voices).
_VOWEL_START = re.compile(
    r"(?:aI@|aU@|a#|A:|A@|aI|aU|e@|eI|i@|i:|I#|I2|O:|O@|OI|o@|oU|u:|U@|"
    r"3:|@L|[aAeEiIoOuUV03@])"
)
_STRESS_MARKS = "',"
# Vowels a speaker may substitute for each other without changing the word for a listener.
_NEAR_VOWELS = (
    ("A@", "A:", "a"),
    ("I", "i", "@", "I2"),
    ("eI", "e", "E"),
    ("oU", "O:", "o@"),
    ("u:", "U"),
    ("a", "a#", "@"),
    ("V", "@", "0"),
)


def text_to_phonemes(text: str, voice: str = "en-us", ipa: bool = False) -> str:
    """espeak-ng's ASCII phoneme string (or its IPA, ``ipa=True``) for ``text`` as ``voice``
    would say it, clauses joined by spaces.

    Raises:
        SynthesisError: espeak-ng is missing or has no such voice.
    """
    # kws.synth owns the process-wide engine (initialised once); its lock serialises the
    # library's global state with any synthesis running on another thread.
    engine = synth._get_engine()
    lib = engine.lib
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_int,
        ctypes.c_int,
    ]
    with engine.lock:
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SynthesisError(f"espeak-ng has no voice {voice!r}")
        buffer = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        clauses = []
        # The library advances the pointer clause by clause and sets it to NULL at the end.
        while pointer.value:
            result = lib.espeak_TextToPhonemes(
                ctypes.byref(pointer),
                _TEXT_MODE_UTF8,
                _PHONEME_MODE_IPA if ipa else _PHONEME_MODE_ASCII,
            )
            if result:
                clauses.append(result.decode("utf-8", errors="ignore").strip())
    return " ".join(c for c in clauses if c)


def _vowel_spans(word: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _VOWEL_START.finditer(word)]


def _restress(word: str, rng: np.random.Generator) -> str:
    """Put the primary stress on another vowel of the word (or drop it to secondary)."""
    bare = word.replace("'", "").replace(",", "")
    spans = _vowel_spans(bare)
    if not spans:
        return word
    start, _ = spans[int(rng.integers(0, len(spans)))]
    mark = "'" if rng.random() < 0.75 else ","
    return bare[:start] + mark + bare[start:]


def _swap_vowel(word: str, rng: np.random.Generator) -> str:
    spans = _vowel_spans(word)
    rng.shuffle(spans)
    for start, end in spans:
        vowel = word[start:end]
        for group in _NEAR_VOWELS:
            if vowel in group:
                others = [v for v in group if v != vowel]
                return word[:start] + str(rng.choice(others)) + word[end:]
    return word


@functools.lru_cache(maxsize=32)
def _base_pronunciations(phrase: str) -> tuple[str, ...]:
    """The phrase as the American, British and Scottish default rules say it (deduplicated)."""
    found = []
    for voice in ("en-us", "en", "en-gb-scotland"):
        phonemes = text_to_phonemes(phrase, voice)
        if phonemes and phonemes not in found:
            found.append(phonemes)
    return tuple(found)


def pronunciation_variants(phrase: str, rng: np.random.Generator, count: int) -> list[str]:
    """``count`` espeak ``[[...]]`` inputs that say ``phrase`` with other stress and vowels.

    Each variant changes at most one word, and that word by one step (stress or one vowel), so
    it stays a pronunciation of the phrase, not another phrase.
    """
    bases = _base_pronunciations(phrase)
    if not bases:
        return []
    variants = []
    for _ in range(count):
        words = str(rng.choice(bases)).split()
        at = int(rng.integers(0, len(words)))
        words[at] = (_restress if rng.random() < 0.6 else _swap_vowel)(words[at], rng)
        variants.append("[[" + " ".join(words) + "]]")
    return variants


def phoneme_distance(first: str, second: str) -> float:
    """Edit distance between two phoneme strings (stress marks ignored), divided by the longer
    length: 0 for the same sounds, 1 for nothing in common."""
    a = first.translate({ord(c): None for c in _STRESS_MARKS + " "})
    b = second.translate({ord(c): None for c in _STRESS_MARKS + " "})
    if not a or not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)
            )
        previous = current
    return previous[-1] / max(len(a), len(b))


def sound_alike_words(
    target: str, candidates: tuple[str, ...], max_distance: float = 0.45, limit: int = 12
) -> list[str]:
    """Real words from ``candidates`` that sound most like ``target`` (never ``target`` itself),
    closest first. Candidates are pre-filtered by length so only a few hundred are phonemized."""
    target_phonemes = text_to_phonemes(target)
    scored = []
    for word in candidates:
        if word == target or abs(len(word) - len(target)) > 2:
            continue
        distance = phoneme_distance(target_phonemes, text_to_phonemes(word))
        if distance <= max_distance:
            scored.append((distance, word))
    return [word for _, word in sorted(scored)[:limit]]
