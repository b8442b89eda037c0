"""Streaming recognition with pocketsphinx: partials while speaking, commits at each pause.

Synchronous and CPU-bound by nature; it runs inside an engine worker process (see pool.py),
never on the event loop.
"""

from __future__ import annotations

import re

from pocketsphinx import Decoder

from speechsite.providers.base import CommittedTranscript, Event, PartialTranscript, Word
from speechsite.providers.local.endpointer import Endpointer

ENGINE_RATE = 16000
BYTES_PER_SECOND = ENGINE_RATE * 2
FRAME_RATE = 100  # pocketsphinx frames per second
_ALTERNATE = re.compile(r"\(\d+\)$")


def new_decoder() -> Decoder:
    """The en-US model shipped inside the pocketsphinx wheel; nothing is downloaded.

    Without the `fwdflat` second pass: it runs over the whole utterance when it ends, which made
    each commit wait 80-200 ms, and on our sentences it did not improve streaming accuracy.
    """
    return Decoder(loglevel="FATAL", fwdflat=False)


class CepstralMeter:
    """Measures the cepstral mean of a stretch of audio.

    Its decoder searches for a single key phrase, so the search that pocketsphinx insists on
    running at the end of the utterance costs ~20 ms per second of audio instead of ~85 ms.
    The feature module is reset before each measurement: otherwise the estimate blends with
    every stretch measured before.
    """

    def __init__(self) -> None:
        self.decoder = Decoder(loglevel="FATAL", keyphrase="oh")

    def measure(self, pcm: bytes) -> str:
        self.decoder.reinit_feat()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, no_search=True, full_utt=True)
        mean = self.decoder.get_cmn()
        self.decoder.end_utt()
        return mean


def spoken_words(decoder: Decoder, offset: float) -> list[Word]:
    """Words of the current hypothesis with absolute times, fillers and silences left out."""
    words = []
    for seg in decoder.seg():
        token = seg.word
        if token.startswith(("<", "[", "+")):
            continue
        words.append(
            Word(
                text=_ALTERNATE.sub("", token),
                start=round(offset + seg.start_frame / FRAME_RATE, 3),
                end=round(offset + (seg.end_frame + 1) / FRAME_RATE, 3),
                confidence=round(min(1.0, max(0.0, seg.prob)), 3),
            )
        )
    return words


class StreamingRecognizer:
    """Feeds 16 kHz PCM to one decoder and turns its hypotheses into events.

    commit_strategy "vad": an utterance starts when the endpointer hears speech and is committed
    after `silence_ms` of silence. "manual": all audio is decoded and only `commit()` (or the end
    of the stream) commits.

    Cepstral mean priming: offline decoding normalizes by the mean of the whole utterance, live
    decoding starts from a generic prior, and on our sentences that alone took the word error
    rate of a session's first utterance from 38% to 52%. So the first `prime_ms` of speech are
    held, their mean is measured, and only then are they decoded, with that mean. The price is
    that a session's first partial comes after `prime_ms` of speech: decoding that second live
    and again once primed cost 35% more CPU per sentence and stalled the other streams on the
    worker. Later utterances keep the adapted mean. An utterance shorter than `prime_ms` is
    decoded whole at its end, exactly as offline decoding would.
    """

    def __init__(
        self,
        decoder: Decoder,
        meter: CepstralMeter,
        *,
        commit_strategy: str = "vad",
        silence_ms: int = 800,
        partial_interval_ms: int = 200,
        prime_ms: int = 1000,
    ) -> None:
        self.decoder = decoder
        self.meter = meter
        decoder.reinit_feat()  # a reused decoder must not carry the last speaker's mean
        self.prime_bytes = BYTES_PER_SECOND * prime_ms // 1000
        self.primed = False
        self.utterance_audio = bytearray()  # speech held until the session is primed
        self.vad = commit_strategy == "vad"
        self.endpointer = Endpointer(silence_ms=silence_ms)
        self.partial_bytes = BYTES_PER_SECOND * partial_interval_ms // 1000
        self.bytes_seen = 0  # all audio received, for manual-mode timing
        self.in_utterance = False
        self.utterance_start = 0.0
        self.since_partial = 0

    def feed(self, pcm: bytes) -> list[Event]:
        events: list[Event] = []
        if not self.vad:
            if not self.in_utterance:
                self._begin(self.bytes_seen / BYTES_PER_SECOND)
            self.bytes_seen += len(pcm)
            self._decode(pcm, events)
            return events
        self.bytes_seen += len(pcm)
        for step in self.endpointer.process(pcm):
            if step.started:
                self._begin(self.endpointer.speech_start)
            if step.audio and self.in_utterance:
                self._decode(step.audio, events)
            if step.ended:
                self._end(events)
        return events

    def commit(self) -> list[Event]:
        events: list[Event] = []
        if self.in_utterance:
            self._end(events)
            self.endpointer.force_end()
        return events

    def finish(self) -> list[Event]:
        events: list[Event] = []
        tail = self.endpointer.flush() if self.vad else b""
        if tail and self.in_utterance:
            self._decode(tail, events)
        if self.in_utterance:
            self._end(events)
        return events

    def _begin(self, start: float) -> None:
        self.decoder.start_utt()
        self.in_utterance = True
        self.utterance_start = start
        self.since_partial = 0
        self.utterance_audio.clear()

    def _decode(self, pcm: bytes, events: list[Event]) -> None:
        if not self.primed:
            self.utterance_audio += pcm
            if len(self.utterance_audio) < self.prime_bytes:
                return
            pcm = bytes(self.utterance_audio)
            self._prime(pcm[: self.prime_bytes])
        self.decoder.process_raw(pcm)
        self.since_partial += len(pcm)
        if self.since_partial >= self.partial_bytes:
            self.since_partial = 0
            hyp = self.decoder.hyp()
            text = " ".join(_ALTERNATE.sub("", w) for w in hyp.hypstr.split()) if hyp else ""
            if text:
                events.append(PartialTranscript(text=text))

    def _prime(self, head: bytes) -> None:
        """Start the utterance afresh, normalized by the cepstral mean of its first `prime_ms`."""
        self.decoder.end_utt()  # nothing was decoded in it yet
        self.decoder.reinit_feat()  # drop the running estimate's sums, not just its mean
        self.decoder.set_cmn(self.meter.measure(head))
        self.decoder.start_utt()
        self.primed = True
        self.utterance_audio.clear()

    def _end(self, events: list[Event]) -> None:
        if not self.primed:
            # Shorter than the priming span: decode it whole, exactly as offline decoding would.
            audio = bytes(self.utterance_audio)
            self.utterance_audio.clear()
            self.decoder.end_utt()
            self.decoder.reinit_feat()
            self.decoder.start_utt()
            self.decoder.process_raw(audio, full_utt=True)
            self.primed = True
        self.decoder.end_utt()
        self.in_utterance = False
        words = spoken_words(self.decoder, self.utterance_start)
        if words:
            events.append(
                CommittedTranscript(
                    text=" ".join(w.text for w in words),
                    start=words[0].start,
                    end=words[-1].end,
                    words=tuple(words),
                )
            )
