"""The common provider interface: a session takes PCM and yields normalized events.

Providers never import Django models: they get a SessionConfig (and, for vendors, a secret),
speak their protocol and put events on the session's queue. The consumer owns the rest.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    confidence: float | None = None


@dataclass(frozen=True)
class PartialTranscript:
    text: str


@dataclass(frozen=True)
class CommittedTranscript:
    text: str
    start: float
    end: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    """The provider decided the utterance is over; the client should stop sending."""


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not an error (e.g. a provider restart)."""

    message: str


@dataclass(frozen=True)
class KeyReport:
    """Which stored key a remote session used, and whether the vendor refused it.

    The consumer records it on the key (last used / last error); it never reaches the client.
    """

    ref: object
    refused: str = ""  # the vendor's reason; empty when the key was accepted


@dataclass(frozen=True)
class PhonemeScore:
    """One phoneme of a word: ARPAbet `symbol` (no stress digit), `ipa`, and a 0-100 score."""

    symbol: str
    score: float | None
    ipa: str = ""
    start: float | None = None  # seconds on the recording's timeline, when the provider knows
    end: float | None = None
    decision: str = ""  # the provider's own verdict string, kept as given (ELSA's are undocumented)


@dataclass(frozen=True)
class WordScore:
    text: str
    score: float | None  # 0-100
    start: float | None = None
    end: float | None = None
    phonemes: tuple[PhonemeScore, ...] = ()
    decision: str = ""
    found: bool = True  # False when the word was expected but not heard (it lowers completeness)


@dataclass(frozen=True)
class Assessment:
    """A pronunciation result in our schema; every score is 0-100 or None when unknown.

    `details` holds what only some providers give (intonation, CEFR levels, speed metrics, the
    transcript of an unscripted attempt); `provider_raw` is the provider's own JSON, kept whole.
    """

    overall: float | None
    accuracy: float | None
    fluency: float | None
    completeness: float | None
    words: tuple[WordScore, ...] = ()
    expected_text: str = ""
    transcript: str = ""
    details: dict = field(default_factory=dict)
    provider_raw: dict = field(default_factory=dict)


Event = PartialTranscript | CommittedTranscript | Endpoint | Notice | KeyReport | Assessment


class ProviderError(Exception):
    """A failure with a stable `code`, a human `message`, and whether the session must end."""

    def __init__(self, code: str, message: str, *, fatal: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal

    def __reduce__(self):
        # Engine workers send errors across processes; the default pickling loses code and fatal.
        return (_rebuild_error, (type(self), self.code, self.message, self.fatal))


def _rebuild_error(cls: type[ProviderError], code: str, message: str, fatal: bool) -> ProviderError:
    return cls(code, message, fatal=fatal)


@dataclass(frozen=True)
class SessionConfig:
    language: str = "en"
    sample_rate: int = 16000
    commit_strategy: str = "vad"  # "vad" | "manual"
    mode: str = "transcribe"
    expected_text: str = ""
    vad_silence_ms: int = 800
    partial_interval_ms: int = 200
    extra: dict = field(default_factory=dict)


_END = object()


class ProviderSession(ABC):
    """One live stream to one provider.

    Call `open`, then `send_audio` / `commit` as audio arrives, then `finish` at the end of
    audio (or `close` to abandon). `events()` yields normalized events and ends after `finish`
    has flushed everything; a ProviderError is yielded, not raised, so the consumer can report
    it and decide from `fatal` whether to go on.
    """

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def send_audio(self, pcm: bytes) -> None: ...

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    async def finish(self) -> None:
        """No more audio: flush, emit the last events, then end the event stream."""

    @abstractmethod
    async def close(self) -> None:
        """Abandon the session and free its resources; safe to call more than once."""

    def emit(self, event: Event | ProviderError) -> None:
        self._queue.put_nowait(event)

    def end_events(self) -> None:
        self._queue.put_nowait(_END)

    async def events(self) -> AsyncIterator[Event | ProviderError]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            yield item  # type: ignore[misc]
