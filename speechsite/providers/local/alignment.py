"""Forced alignment and a free phone loop with pocketsphinx, reduced to plain frame-level data.

Scores are in the decoder's integer log units: senone scores are normalized per frame against
the best senone of that frame, so an aligned phone's score per frame is already a posterior-like
goodness (0 is perfect), and the allphone pass gives the best free phone sequence to compare it to.
"""

from __future__ import annotations

import math
import os
import re
import zlib
from dataclasses import dataclass, field

import numpy as np
from pocketsphinx import Decoder, get_model_path

FRAME_RATE = 100
SKIP_PROB = 1e-6  # grammar probability of leaving out expected words (scaled further by the LM weight)
MAX_SKIP = 3
_ALTERNATE = re.compile(r"\(\d+\)$")
_SAFE_TOKEN = re.compile(r"^[a-z0-9'._-]+$")


@dataclass
class AlignedPhone:
    name: str
    start: int  # frame
    frames: int
    score: int  # sum over its frames, decoder log units


@dataclass
class AlignedWord:
    index: int  # position in the expected words
    start: int
    frames: int
    score: int
    phones: list[AlignedPhone]


@dataclass
class Alignment:
    """What the decoders made of one utterance."""

    n_frames: int
    words: list[AlignedWord]  # only the expected words the alignment reached, in order
    pauses: list[tuple[int, int]]  # (start, frames) of silences between aligned words
    loop_labels: np.ndarray = field(repr=False)  # free phone loop: phone name per frame
    loop_scores: np.ndarray = field(repr=False)  # free phone loop: acoustic score per frame


class AlignmentFailed(Exception):
    """The expected text could not be aligned with the audio at all (no speech, or nothing like it)."""


def word_token(key: str, phones: tuple[str, ...]) -> str:
    """A dictionary token for a word with a given pronunciation; stable across processes."""
    stem = key if _SAFE_TOKEN.match(key) else "w"
    return f"{stem}__{zlib.crc32(' '.join(phones).encode()):08x}"


def skippable_words(tokens: list[str]) -> list[tuple[int, int, float, str]]:
    """Grammar arcs for the expected words in order, where words may be left out at a cost.

    State i means "the first i words are done". Skips are arcs that jump ahead and consume the
    next word said (at most MAX_SKIP words at once); the words at the end can all be left out by
    ending in silence. Epsilon arcs would be simpler, but create_fsg does not close over them.
    """
    n = len(tokens)
    arcs: list[tuple[int, int, float, str]] = []
    for state in range(n):
        for target in range(state, min(n, state + MAX_SKIP + 1)):
            arcs.append((state, target + 1, SKIP_PROB ** (target - state), tokens[target]))
        if state > 0:
            arcs.append((state, n, SKIP_PROB, "<sil>"))  # one price for the whole tail, or it underflows
    return arcs


class PhoneAligner:
    """Two decoders on the wheel's en-US model: forced alignment and an allphone loop."""

    def __init__(self) -> None:
        model = get_model_path()
        # bestpath off: its lattice rescoring can leave 1-frame phones that the state aligner rejects.
        self.aligner = Decoder(loglevel="FATAL", bestpath=False)
        self.loop = Decoder(
            loglevel="FATAL",
            allphone=os.path.join(model, "en-us", "en-us-phone.lm.bin"),
            lw=2.0,
            beam=1e-20,
            pbeam=1e-20,
        )
        self._log_base = math.log(float(self.aligner.config["logbase"]))
        self._tokens: set[str] = set()

    def token_for(self, key: str, phones: tuple[str, ...], use_variants: bool) -> str:
        """The dictionary word to align: CMUdict's own entry (with its variants) when allowed."""
        if use_variants and self.aligner.lookup_word(key):
            return key
        token = word_token(key, phones)
        if token not in self._tokens:
            self.aligner.add_word(token, " ".join(phones), update=True)
            self._tokens.add(token)
        return token

    def align(self, pcm: bytes, tokens: list[str], with_loop: bool = True) -> Alignment:
        """Forced alignment, plus the free phone loop unless the fitted models do without it."""
        words, pauses = self._force_align(pcm, tokens)
        if with_loop:
            n_frames, loop_labels, loop_scores = self._phone_loop(pcm)
        else:
            n_frames, loop_labels, loop_scores = self.aligner.n_frames(), np.zeros(0, dtype=object), np.zeros(0)
        return Alignment(n_frames, words, pauses, loop_labels, loop_scores)

    def _force_align(self, pcm: bytes, tokens: list[str]) -> tuple[list[AlignedWord], list[tuple[int, int]]]:
        decoder = self.aligner
        decoder.reinit_feat()  # otherwise feature state leaks from the previous utterance
        decoder.add_fsg("expected", decoder.create_fsg("expected", 0, len(tokens), skippable_words(tokens)))
        decoder.activate_search("expected")
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None or not decoder.hyp().hypstr:
            raise AlignmentFailed("no path through the expected words")
        try:
            decoder.set_alignment()
            decoder.reinit_feat()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            alignment = decoder.get_alignment()
        except RuntimeError as error:
            raise AlignmentFailed(str(error)) from error
        if alignment is None:
            raise AlignmentFailed("no alignment")
        words: list[AlignedWord] = []
        pauses: list[tuple[int, int]] = []
        next_index = 0  # the grammar only moves forward, so each word matches the next token of its name
        # Entries are views into the alignment: read each one fully while the iterator is on it.
        for entry in alignment:
            name = _ALTERNATE.sub("", entry.name)
            if name in ("<s>", "</s>", "<sil>") or name.startswith(("[", "+")):
                if words:  # silence after the first word; trailing silence is dropped below
                    pauses.append((entry.start, entry.duration))
                continue
            index = next((i for i in range(next_index, len(tokens)) if tokens[i] == name), None)
            if index is None:
                continue
            next_index = index + 1
            phones = [AlignedPhone(p.name, p.start, p.duration, p.score) for p in entry]
            words.append(AlignedWord(index, entry.start, entry.duration, entry.score, phones))
        if words:
            last_end = words[-1].start + words[-1].frames
            pauses = [p for p in pauses if p[0] < last_end]
        return words, pauses

    def _phone_loop(self, pcm: bytes) -> tuple[int, np.ndarray, np.ndarray]:
        decoder = self.loop
        decoder.reinit_feat()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        n_frames = decoder.n_frames()
        labels = np.full(n_frames, "SIL", dtype=object)
        scores = np.zeros(n_frames)
        for seg in decoder.seg():
            start, end = max(0, seg.start_frame), min(n_frames - 1, seg.end_frame)
            if end < start:
                continue
            log_score = math.log(seg.ascore) / self._log_base if seg.ascore > 0 else -1e5
            labels[start : end + 1] = seg.word
            scores[start : end + 1] = log_score / (end - start + 1)
        return n_frames, labels, scores
