"""Word error rate of the socket's transcripts against pocketsphinx decoding the same files offline."""

from __future__ import annotations

import re
from collections.abc import Sequence

import jiwer
from pocketsphinx import Decoder

from bench.fixtures import Sentence
from speechsite.providers.local.recognizer import new_decoder

_ALTERNATE = re.compile(r"\(\d+\)")
_NOT_WORD = re.compile(r"[^a-z' ]+")


def normalize(text: str) -> str:
    """Lowercase words only: pronunciation variants like "the(2)" and punctuation removed."""
    text = _ALTERNATE.sub("", text.lower())
    return " ".join(_NOT_WORD.sub(" ", text).split())


def offline_hypothesis(pcm: bytes, decoder: Decoder) -> str:
    """One whole-file decode, as `pocketsphinx` run on the file would do it."""
    decoder.reinit_feat()  # the cepstral-mean estimate must not carry over from the last file
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return normalize(hyp.hypstr if hyp is not None else "")


def wer_percent(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER (all errors over all reference words), in percent."""
    return round(100 * jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses]), 2)


def offline_hypotheses(sentences: Sequence[Sentence]) -> dict[str, list[str]]:
    """Offline decodes with pocketsphinx's default settings and with the engine's own settings
    (no fwdflat second pass), so the socket can be compared with both."""
    decoders = {"default": Decoder(loglevel="FATAL"), "engine": new_decoder()}
    return {name: [offline_hypothesis(s.pcm, decoder) for s in sentences] for name, decoder in decoders.items()}
