"""Pronunciations for the scorer: text normalization, CMUdict lookup, generated pronunciations, IPA.

The dictionary is the CMUdict shipped inside the pocketsphinx wheel. Words it lacks get a
pronunciation from espeak-ng when it is installed (its IPA mapped to ARPAbet), else from a small
set of letter-to-sound rules, so that any typed text can be aligned.
"""

# ruff: noqa: RUF001 -- IPA symbols and typographic apostrophes are the point here

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass

from pocketsphinx import get_model_path

ARPABET = [
    "AA",
    "AE",
    "AH",
    "AO",
    "AW",
    "AY",
    "B",
    "CH",
    "D",
    "DH",
    "EH",
    "ER",
    "EY",
    "F",
    "G",
    "HH",
    "IH",
    "IY",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "OW",
    "OY",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "UH",
    "UW",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
]

ARPABET_TO_IPA = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ", "D": "d",
    "DH": "ð", "EH": "ɛ", "ER": "ɝ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h", "IH": "ɪ", "IY": "i",
    "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "oʊ", "OY": "ɔɪ", "P": "p",
    "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "UH": "ʊ", "UW": "u", "V": "v", "W": "w",
    "Y": "j", "Z": "z", "ZH": "ʒ",
}  # fmt: skip

# espeak-ng's IPA phonemes (stress and length marks removed) to ARPAbet.
_ESPEAK_TO_ARPABET = {
    "a": "AE", "aɪ": "AY", "aʊ": "AW", "aɪə": "AY ER", "aʊə": "AW ER", "b": "B", "d": "D", "dʒ": "JH",
    "e": "EH", "eɪ": "EY", "eə": "EH R", "f": "F", "h": "HH", "i": "IY", "iə": "IY ER", "j": "Y",
    "k": "K", "l": "L", "m": "M", "n": "N", "o": "OW", "oʊ": "OW", "oɹ": "AO R", "p": "P", "r": "R",
    "s": "S", "t": "T", "tʃ": "CH", "u": "UW", "v": "V", "w": "W", "x": "K", "z": "Z", "æ": "AE",
    "ð": "DH", "ŋ": "NG", "ɐ": "AH", "ɑ": "AA", "ɑɹ": "AA R", "ɒ": "AA", "ɔ": "AO", "ɔɪ": "OY",
    "ɔɹ": "AO R", "ə": "AH", "əl": "AH L", "əʊ": "OW", "ɚ": "ER", "ɛ": "EH", "ɛɹ": "EH R", "ɜ": "ER",
    "ɜɹ": "ER", "ɡ": "G", "ɪ": "IH", "ɪɹ": "IH R", "ɪə": "IH R", "ɹ": "R", "ɾ": "T", "ʃ": "SH",
    "ʊ": "UH", "ʊɹ": "UH R", "ʊə": "UH R", "ʌ": "AH", "ʒ": "ZH", "ʔ": "", "θ": "TH", "ᵻ": "IH",
    "i̯": "IY", "n̩": "AH N", "l̩": "AH L", "m̩": "AH M", "ɬ": "L", "ç": "HH", "ɣ": "G", "ʍ": "W",
}  # fmt: skip

# Letter-to-sound fallback: longest grapheme first; crude, but it always yields a pronunciation.
_LETTER_RULES = {
    "tch": "CH", "igh": "AY", "ough": "AO", "augh": "AO", "eau": "OW", "sch": "S K",
    "ch": "CH", "sh": "SH", "th": "TH", "ph": "F", "wh": "W", "ck": "K", "ng": "NG", "qu": "K W",
    "gh": "G", "kn": "N", "wr": "R", "ee": "IY", "ea": "IY", "oo": "UW", "ou": "AW", "ow": "OW",
    "oi": "OY", "oy": "OY", "ai": "EY", "ay": "EY", "au": "AO", "aw": "AO", "ie": "IY", "ei": "EY",
    "ey": "EY", "ew": "UW", "ue": "UW", "oa": "OW", "ar": "AA R", "er": "ER", "ir": "ER", "ur": "ER",
    "or": "AO R", "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH",
    "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K",
    "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "Y", "z": "Z",
}  # fmt: skip
_LETTER_PATTERN = re.compile("|".join(sorted(_LETTER_RULES, key=len, reverse=True)))

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_STRESS = re.compile(r"\d")


@dataclass(frozen=True)
class ExpectedWord:
    """A word of the expected text: `text` as typed (punctuation stripped) and its lookup `key`."""

    text: str
    key: str


def expected_words(text: str) -> list[ExpectedWord]:
    """Splits typed text into words, keeping apostrophes inside words ("don't") and digits."""
    words = []
    for match in _WORD.finditer(unicodedata.normalize("NFC", text or "")):
        typed = match.group(0)
        key = typed.replace("’", "'").lower()
        words.append(ExpectedWord(text=typed, key=key))
    return words


def strip_stress(phone: str) -> str:
    return _STRESS.sub("", phone).upper()


def to_ipa(phones: list[str] | tuple[str, ...]) -> str:
    return "".join(ARPABET_TO_IPA.get(strip_stress(p), "") for p in phones)


def number_words(digits: str) -> list[str]:
    """Spells a number of up to 4 digits (years, counts); longer ones digit by digit."""
    value = int(digits)
    if len(digits) > 4 or (len(digits) > 1 and digits.startswith("0")):
        return [_ONES[int(d)] for d in digits]
    if value < 20:
        return [_ONES[value]]
    if value < 100:
        return [_TENS[value // 10]] + ([_ONES[value % 10]] if value % 10 else [])
    if value < 1000:
        rest = number_words(str(value % 100)) if value % 100 else []
        return [_ONES[value // 100], "hundred", *rest]
    if 1100 <= value < 2000 or value >= 2010:  # read as a year: "nineteen ninety"
        head, tail = divmod(value, 100)
        return number_words(str(head)) + (number_words(str(tail)) if tail else ["hundred"])
    rest = number_words(str(value % 1000)) if value % 1000 else []
    return [_ONES[value // 1000], "thousand", *rest]


@functools.cache
def cmudict() -> dict[str, tuple[str, ...]]:
    """First pronunciation of every word in the model's CMUdict (alternates are for the decoder)."""
    path = os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")
    entries: dict[str, tuple[str, ...]] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            word, _, phones = line.strip().partition(" ")
            if word and "(" not in word:
                entries[word] = tuple(phones.split())
    return entries


def espeak_phones(word: str) -> list[str] | None:
    """ARPAbet for `word` from espeak-ng, or None when it is missing or gives nothing usable."""
    binary = shutil.which("espeak-ng")
    if not binary:
        return None
    try:
        result = subprocess.run(
            [binary, "-q", "--ipa", "--sep=_", "-v", "en-us", word],
            capture_output=True,
            text=True,
            timeout=2,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    phones: list[str] = []
    for token in re.split(r"[_\s]+", result.stdout):
        token = re.sub("[ˈˌː‿]", "", token)
        if not token:
            continue
        mapped = _ESPEAK_TO_ARPABET.get(token)
        if mapped is None:  # an unlisted cluster: map it character by character
            mapped = " ".join(_ESPEAK_TO_ARPABET.get(ch, "") for ch in token)
        phones.extend(mapped.split())
    return phones or None


def letter_phones(word: str) -> list[str]:
    """A rough pronunciation from spelling alone; the last resort."""
    letters = re.sub(r"[^a-z]", "", word.lower())
    phones: list[str] = []
    for match in _LETTER_PATTERN.finditer(letters):
        phones.extend(_LETTER_RULES[match.group(0)].split())
    if len(letters) > 2 and letters.endswith("e") and len(phones) > 1 and phones[-1] == "EH":
        phones.pop()  # the silent final e
    return phones or ["AH"]


class Lexicon:
    """Pronunciations (ARPAbet without stress) for lookup keys, with generated ones cached."""

    def __init__(self, use_espeak: bool = True) -> None:
        self.use_espeak = use_espeak
        self._generated: dict[str, tuple[str, ...]] = {}

    def known(self, key: str) -> bool:
        return key in cmudict()

    def phones(self, key: str) -> tuple[str, ...]:
        found = cmudict().get(key)
        if found:
            return tuple(strip_stress(p) for p in found)
        if key not in self._generated:
            self._generated[key] = tuple(self.generate(key))
        return self._generated[key]

    def generate(self, key: str) -> list[str]:
        """A pronunciation for a word CMUdict lacks: numbers spelled out, then espeak-ng, then rules."""
        if key.isdigit():
            return [p for word in number_words(key) for p in self.phones(word)]
        if self.use_espeak:
            phones = espeak_phones(key)
            if phones:
                return [p for p in phones if p in ARPABET_TO_IPA]
        parts = [part for part in re.split(r"(\d+)", key) if part]
        if len(parts) > 1:  # "mp3": letters and digits separately
            return [p for part in parts for p in self.phones(part)]
        return letter_phones(key)
