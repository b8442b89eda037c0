"""The `local` provider session: resamples to 16 kHz and talks to an engine worker."""

from __future__ import annotations

from typing import Any

from speechsite.lib.audio import ENGINE_RATE, StreamResampler
from speechsite.providers.base import ProviderError, ProviderSession, SessionConfig
from speechsite.providers.local.pool import EnginePool, engine_pool


class LocalSession(ProviderSession):
    name = "local"

    def __init__(self, config: SessionConfig, pool: EnginePool | None = None) -> None:
        super().__init__(config)
        self.pool = pool or engine_pool()
        self.resampler = StreamResampler(config.sample_rate, ENGINE_RATE)
        self.session_id: str | None = None

    async def open(self) -> None:
        options = {
            "commit_strategy": self.config.commit_strategy,
            "silence_ms": self.config.vad_silence_ms,
            "partial_interval_ms": self.config.partial_interval_ms,
        }
        if self.config.mode == "assess":
            options["commit_strategy"] = "vad"  # the endpoint and the scorer need no manual commits
            options["assess"] = {"expected_text": self.config.expected_text}
        self.session_id = self.pool.open(options, self._on_reply)

    async def send_audio(self, pcm: bytes) -> None:
        audio = self.resampler.process(pcm)
        if audio and self.session_id:
            self.pool.send(self.session_id, "audio", audio)

    async def commit(self) -> None:
        if self.session_id:
            self.pool.send(self.session_id, "commit")

    async def finish(self) -> None:
        if not self.session_id:
            self.end_events()
            return
        tail = self.resampler.process(b"", last=True)
        if tail:
            self.pool.send(self.session_id, "audio", tail)
        self.pool.send(self.session_id, "finish")

    async def close(self) -> None:
        if self.session_id:
            self.pool.release(self.session_id)
            self.session_id = None
            self.end_events()

    def _on_reply(self, kind: str, payload: Any) -> None:
        if kind == "events":
            for event in payload:
                self.emit(event)
        elif kind == "finished":
            for event in payload:
                self.emit(event)
            if self.session_id:
                self.pool.release(self.session_id)
                self.session_id = None
            self.end_events()
        elif kind == "error":
            self.emit(ProviderError("engine_failed", f"The embedded speech engine failed: {payload}", fatal=True))
            if self.session_id:
                self.pool.release(self.session_id)
                self.session_id = None
            self.end_events()
