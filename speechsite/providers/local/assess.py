"""Assess mode in the engine worker: live partials, the server's endpoint, then the scorer.

The streaming recognizer gives partials and commits as usual; the whole attempt is kept for
the scorer. The endpoint (the client should stop) comes when the expected sentence has been
heard and a pause follows, after a long pause in any case, or when the attempt runs too long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from speechsite.providers.base import CommittedTranscript, Endpoint, Event, ProviderError
from speechsite.providers.local.recognizer import BYTES_PER_SECOND, StreamingRecognizer

_WORD = re.compile(r"[a-z0-9']+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class EndpointRules:
    # Share of the expected words the recognizer must have heard, in order, to call the sentence read.
    # Learners' speech is often misrecognized, so this is lenient; the last word must be among them.
    coverage: float = 0.6
    long_pause_ms: int = 2500  # silence after speech that ends the attempt whatever was heard
    no_speech_ms: int = 8000  # silence from the start that ends it (the scorer then says "no speech")
    max_seconds: float = 30.0  # the scorer's cost grows with length; an attempt is one sentence


def sentence_heard(expected: list[str], heard: list[str], coverage: float) -> bool:
    """Whether the heard words say the sentence has been read to its end.

    Either enough of the expected words came, in order, and the last one (or something that
    sounds like it) among the final few; or about as many words came as were expected, which
    catches a learner whose words the recognizer mostly got wrong.
    """
    if not expected or not heard:
        return False
    matcher = SequenceMatcher(a=expected, b=heard, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks()) / len(expected)
    last = expected[-1]
    ending = any(SequenceMatcher(a=last, b=word).ratio() >= 0.6 for word in heard[-3:])
    if matched >= coverage and (ending or matched == 1.0):
        return True
    return len(heard) >= 0.9 * len(expected) and matched >= coverage / 2


class AssessingRecognizer:
    """Wraps a StreamingRecognizer (which the worker also reaches through `.decoder`)."""

    def __init__(self, recognizer: StreamingRecognizer, scorer, expected_text: str, rules: EndpointRules) -> None:
        self.recognizer = recognizer
        self.scorer = scorer
        self.expected_text = expected_text
        self.expected = words_of(expected_text)
        self.rules = rules
        self.audio = bytearray()
        self.heard: list[str] = []
        self.silent_bytes = 0  # since the last utterance ended (or the start, before any speech)
        self.endpointed = False

    @property
    def decoder(self):
        return self.recognizer.decoder

    @property
    def in_utterance(self) -> bool:
        return self.recognizer.in_utterance

    def feed(self, pcm: bytes) -> list[Event]:
        room = int(self.rules.max_seconds * BYTES_PER_SECOND) - len(self.audio)
        if room <= 0:
            return []  # past the limit: the endpoint was sent; late frames are not scored
        pcm = pcm[:room]
        self.audio += pcm
        events = self.recognizer.feed(pcm)
        for event in events:
            if isinstance(event, CommittedTranscript):
                self.heard += words_of(event.text)
        self.silent_bytes = 0 if self.recognizer.in_utterance else self.silent_bytes + len(pcm)
        if not self.endpointed and self._over(events):
            self.endpointed = True
            events.append(Endpoint())
        return events

    def _over(self, events: list[Event]) -> bool:
        rules = self.rules
        if len(self.audio) >= rules.max_seconds * BYTES_PER_SECOND:
            return True
        committed = any(isinstance(event, CommittedTranscript) for event in events)
        if committed and sentence_heard(self.expected, self.heard, rules.coverage):
            return True
        pause_ms = self.silent_bytes * 1000 // BYTES_PER_SECOND
        return pause_ms >= (rules.long_pause_ms if self.heard else rules.no_speech_ms)

    def commit(self) -> list[Event]:
        return self.recognizer.commit()

    def assess(self) -> list[Event]:
        """The assessment of the whole attempt, or why there is none.

        The worker sends this before it finishes the recognizer: decoding the tail and the last
        commit take up to ~100 ms, and the learner is waiting for the scores, not the transcript.
        """
        try:
            return [self.scorer.assess(bytes(self.audio), self.expected_text)]
        except ProviderError as exc:
            return [exc]

    def finish(self) -> list[Event]:
        return self.recognizer.finish()
