"""Pronunciations for the local scorer: normalization, CMUdict, generated pronunciations, IPA."""

# ruff: noqa: RUF001 -- IPA symbols and typographic apostrophes are the point here

from __future__ import annotations

import shutil

import pytest

from speechsite.providers.local.pronounce import (
    ARPABET,
    ARPABET_TO_IPA,
    Lexicon,
    expected_words,
    letter_phones,
    number_words,
    to_ipa,
)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def test_expected_words_keep_typed_spelling_without_punctuation() -> None:
    words = expected_words("The quick, brown FOX! (jumps)")
    assert [w.text for w in words] == ["The", "quick", "brown", "FOX", "jumps"]
    assert [w.key for w in words] == ["the", "quick", "brown", "fox", "jumps"]


def test_expected_words_keep_apostrophes_inside_words() -> None:
    words = expected_words("Don’t stop, it's 'fine'")
    assert [w.text for w in words] == ["Don’t", "stop", "it's", "fine"]
    assert words[0].key == "don't"


def test_expected_words_keep_digits_and_drop_lone_symbols() -> None:
    assert [w.text for w in expected_words("I have 42 cats & 3 dogs - ok?")] == [
        "I", "have", "42", "cats", "3", "dogs", "ok",
    ]  # fmt: skip


def test_text_without_words_gives_no_words() -> None:
    assert expected_words("  ?! ... — ") == []
    assert expected_words("") == []


def test_known_words_come_from_cmudict_without_stress_digits() -> None:
    assert Lexicon().phones("quick") == ("K", "W", "IH", "K")
    assert Lexicon().phones("don't") == ("D", "OW", "N", "T")


@needs_espeak
def test_unknown_words_get_a_pronunciation_from_espeak() -> None:
    phones = Lexicon().phones("zorblax")
    assert phones[0] == "Z"
    assert "B" in phones and "L" in phones
    assert all(p in ARPABET_TO_IPA for p in phones)


def test_without_espeak_letter_rules_give_a_pronunciation() -> None:
    phones = Lexicon(use_espeak=False).phones("zorblax")
    assert phones[:3] == ("Z", "AO", "R")
    assert all(p in ARPABET_TO_IPA for p in phones)


def test_letter_rules_drop_a_silent_final_e_and_never_return_nothing() -> None:
    assert letter_phones("bake")[-1] == "K"
    assert letter_phones("") == ["AH"]
    assert letter_phones("!!") == ["AH"]


def test_numbers_are_spelled_out() -> None:
    assert number_words("42") == ["forty", "two"]
    assert number_words("7") == ["seven"]
    assert number_words("1999") == ["nineteen", "ninety", "nine"]
    assert number_words("305") == ["three", "hundred", "five"]
    assert number_words("123456") == ["one", "two", "three", "four", "five", "six"]


@pytest.mark.parametrize("use_espeak", [True, False])
def test_digits_and_mixed_tokens_get_valid_pronunciations(use_espeak: bool) -> None:
    lexicon = Lexicon(use_espeak=use_espeak)
    for key in ("42", "mp3", "2024", "café", "naïve", "x"):
        phones = lexicon.phones(key)
        assert phones, key
        assert all(p in ARPABET_TO_IPA for p in phones), (key, phones)


def test_arpabet_maps_to_ipa_with_or_without_stress() -> None:
    assert to_ipa(["DH", "AH0"]) == "ðʌ"
    assert to_ipa(["CH", "IY1", "Z"]) == "tʃiz"
    assert set(ARPABET_TO_IPA) == set(ARPABET) and len(ARPABET) == 39  # the en-US model's phones
