"""Fake ELSA Speak API (PROTOCOLS.md §4): both websockets, both REST endpoints and result links, one port.

    async with FakeElsa(keys=("k",)) as fake:
        ... adapter base URL = fake.http_url ...
    fake.assert_clean()

One loopback port answers everything, as ELSA_API_URL does: a small HTTP front serves the REST
endpoints and result links itself and pipes websocket upgrades to the websockets server behind it.
What it checks and the results it makes (a deterministic model of ELSA) are in elsa_content.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fakes.base import FakeServer, Faults
from tests.fakes.elsa_content import (
    RATE,
    WORD_SECONDS,
    check_audio,
    is_speech,
    parse_multipart,
    scripted_result,
    unscripted_result,
)

SCRIPTED_WS, UNSCRIPTED_WS = "/api/v2/ws/score_audio", "/api/v1/ws/score_audio_plus"  # §4a, §4b
SCRIPTED_REST, UNSCRIPTED_REST = "/api/v2/score_audio", "/api/v1/score_audio_plus"  # §4c
RESULTS, AUDIO = "/fake/results/", "/fake/audio/"  # where our result_link/audio_link point ([UNK] upstream)
SCHEMES = ("elsa", "bearer")  # §4 Authentication: ELSA, Elsa and Bearer
PLANS = ("standard", "premium")
CONFIG_KEYS = {"api_plan", "return_json", "force_grammar_vocab"}


@dataclass
class Stream:
    """One websocket connection (and, scripted, its latest stream)."""

    index: int
    kind: str  # "scripted" | "unscripted"
    start: dict[str, Any] = field(default_factory=dict)  # start_stream data / unscripted config
    frames: int = 0
    pcm: bytearray = field(default_factory=bytearray)
    speech_seconds: float = 0.0
    trailing_silence: float = 0.0
    endpointed: bool = False
    finished: bool = False  # the result went out
    end_stream: bool = False
    late_frames: int = 0  # audio after stopped_listening or the result (§4a: ignored)
    speech_frames: list[bool] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


@dataclass
class HttpRecord:
    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name -> (filename, type, data)
    status: int = 0


class FakeElsa(FakeServer):
    """§4. Faults: refuse_handshake, drop_after_chunks/drop_times (the first N connections drop),
    error_after_chunks + error_type (the ELSA:error text) + close_code, reply_delay. Other knobs below."""

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        keys: tuple[str, ...] = ("test-key",),
        forbidden: tuple[str, ...] = (),  # tokens answered 403 instead of 401
        decisions: tuple[str, str, str] = ("correct", "almost", "incorrect"),  # good/fair/poor, opaque
        script: tuple[str, ...] = ("hello", "world", "this", "is", "me"),
        endpoint_after: float | None = None,  # scripted: stopped_listening after this much audio
        endpoint_silence: float | None = None,  # ... or after this much silence following speech
        partial_every: int | None = None,  # scripted: a partial decoding_result every N frames
        partial_text: bool = True,  # partials carry a `transcript`
        ws_connect: bool = True,  # scripted: ELSA:wsConnect at connect
        unscripted_ws_connect: bool = False,  # §4b: the docs log shows it, the sample would choke
        statuses: tuple[str, ...] = (),  # unscripted: extra statuses before the final one
        final_status: str = "success",  # unscripted: success | failed | bad_quality | anything
        reason: str = "The audio is too noisy",
        partial_error: str | None = None,
        inline: str | None = "result",  # success: result under "result", merged ("self"), or link only (None)
        link_host: str = "127.0.0.1",  # another host name makes result links cross-origin
        link_auth: bool = True,  # result links need the Authorization header
        link_failures: tuple[int, ...] = (),  # statuses for the first result-link GETs
        rest_failures: tuple[int, ...] = (),  # statuses for the first REST posts (429, 503...)
        rest_status: int | None = None,  # every REST post answers this (e.g. 404)
        rest_plus_style: str = "result",  # score_audio_plus body: the result, a "status" message, or "link"
        v3: bool = False,  # add utterance pronunciation_score and recording_quality (§4d v3)
        start_error: str | None = None,  # answer the start (both kinds) with ELSA:error and this text
        error_times: int | None = None,  # how many connections get start_error / error_after_chunks (None: all)
        warning: str | None = None,  # scripted: an ELSA:warning right after start_stream_result
        drop_at_endpoint: bool = False,  # scripted: drop right after stopped_listening (Faults.drop_times)
    ) -> None:
        super().__init__(faults)
        self.keys, self.forbidden, self.decisions, self.script = keys, forbidden, decisions, script
        self.endpoint_after, self.endpoint_silence = endpoint_after, endpoint_silence
        self.partial_every, self.partial_text = partial_every, partial_text
        self.ws_connect, self.unscripted_ws_connect = ws_connect, unscripted_ws_connect
        self.statuses, self.final_status, self.reason = statuses, final_status, reason
        self.partial_error, self.inline = partial_error, inline
        self.link_host, self.link_auth, self.link_failures = link_host, link_auth, list(link_failures)
        self.rest_failures, self.rest_status, self.rest_plus_style = list(rest_failures), rest_status, rest_plus_style
        self.v3, self.start_error, self.error_times, self.errors_done = v3, start_error, error_times, 0
        self.warning, self.drop_at_endpoint = warning, drop_at_endpoint
        self.auth: list[str] = []  # the Authorization header of each websocket handshake
        self.streams: list[Stream] = []
        self.sent: list[list[dict[str, Any]]] = []  # per connection
        self.http: list[HttpRecord] = []  # REST posts and link GETs
        self.results: dict[str, dict[str, Any]] = {}  # stream id -> result, served at RESULTS
        self._front: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle: the HTTP front ------------------------------------------------------------
    async def __aenter__(self) -> FakeElsa:
        await super().__aenter__()
        self._front = await asyncio.start_server(self._serve_front, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._front.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().__aexit__(*exc)

    @property
    def port(self) -> int:
        return self._front.sockets[0].getsockname()[1]

    @property
    def ws_port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    def link(self, prefix: str, stream_id: str) -> str:
        return f"http://{self.link_host}:{self.port}{prefix}{stream_id}"

    async def _serve_front(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            if headers.get("upgrade", "").lower() == "websocket":
                return await self._pipe(head, reader, writer)
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            status, payload = await self.http_request(method, target, headers, body)
            content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            kind = "audio/wav" if isinstance(payload, bytes) else "application/json"
            writer.write(
                f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(content)}\r\nConnection: close\r\n\r\n".encode()
                + content
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            self._tasks.discard(asyncio.current_task())

    async def _pipe(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hand a websocket upgrade to the websockets server; an abort there aborts here (a drop)."""
        inner_reader, inner_writer = await asyncio.open_connection("127.0.0.1", self.ws_port)
        inner_writer.write(head)

        async def copy(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
                target.close()
            except ConnectionError:
                target.transport.abort()

        await asyncio.gather(copy(reader, inner_writer), copy(inner_reader, writer), return_exceptions=True)

    # --- REST and links (§4c) -----------------------------------------------------------------
    def token_status(self, authorization: str | None) -> int:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() not in SCHEMES or not token.strip():
            return 401
        token = token.strip()
        return 403 if token in self.forbidden else 200 if token in self.keys else 401

    async def http_request(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        record = HttpRecord(method, urlsplit(target).path, headers)
        self.http.append(record)
        await self.pause()
        record.status, payload = self.answer(record, headers, body)
        return record.status, payload

    def answer(self, r: HttpRecord, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if r.path.startswith((RESULTS, AUDIO)):
            return self.serve_link(r, headers)
        if r.path not in (SCRIPTED_REST, UNSCRIPTED_REST):
            return 404, {"detail": "Not Found"}
        if r.method != "POST":
            return 405, {"detail": "Method Not Allowed"}
        if self.rest_status is not None:
            return self.rest_status, {"detail": HTTPStatus(self.rest_status).phrase}
        if self.rest_failures:
            status = self.rest_failures.pop(0)
            return status, {"detail": HTTPStatus(status).phrase}
        if (auth := self.token_status(headers.get("authorization"))) != 200:
            return auth, {"detail": "Invalid token" if auth == 401 else "Forbidden"}
        parsed = parse_multipart(headers.get("content-type", ""), body)
        if isinstance(parsed, str):
            return 400, {"detail": parsed}
        r.fields, r.files = parsed
        problem, pcm = self.check_form(r)
        if problem:
            return 400, {"detail": problem}
        s = Stream(index=-1, kind="scripted" if r.path == SCRIPTED_REST else "unscripted", start=r.fields)
        for offset in range(0, len(pcm), RATE):  # judged per 0.5 s, as streamed audio is
            self.hear(s, pcm[offset : offset + RATE])
        if s.kind == "scripted":
            return 200, self.scripted_result(s)
        result = self.unscripted_result(s)
        if self.rest_plus_style == "result":
            return 200, result
        stream_id = f"rest-{len(self.http)}"
        self.results[stream_id] = result
        return 200, self.success(stream_id, result, inline=self.rest_plus_style == "status")

    def check_form(self, r: HttpRecord) -> tuple[str, bytes]:
        """Required fields (§4c) and the audio. Returns (problem, pcm)."""
        required = ("sentence",) if r.path == SCRIPTED_REST else ("api_plan", "return_json")
        for name in required:
            if not r.fields.get(name, "").strip():
                return f"{name} is required", b""
        if r.fields.get("api_plan", "standard") not in PLANS:
            return f"api_plan must be one of {PLANS}", b""
        if r.path == UNSCRIPTED_REST and r.fields["return_json"].lower() not in ("true", "false", "1", "0"):
            return "return_json must be a boolean", b""
        if "audio_file" not in r.files:
            return "one of audio_file, audio_path or audio_data is required (the fake takes audio_file)", b""
        pcm, problem = check_audio(r.files["audio_file"][2])
        return problem, pcm

    def serve_link(self, r: HttpRecord, headers: dict[str, str]) -> tuple[int, Any]:
        if self.link_failures:
            return self.link_failures.pop(0), {"detail": "link unavailable"}
        if self.link_auth and (auth := self.token_status(headers.get("authorization"))) != 200:
            return auth, {"detail": "Invalid token"}
        stream_id = r.path.rsplit("/", 1)[-1]
        if stream_id not in self.results:
            return 404, {"detail": "Not Found"}
        if r.path.startswith(AUDIO):
            return 200, b"RIFF"  # the fake keeps no audio file; the link exists for shape
        return 200, self.results[stream_id]

    # --- websockets ---------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.requests.append(request)
        if request.path.split("?")[0] not in (SCRIPTED_WS, UNSCRIPTED_WS):
            self.violation(f"handshake to {request.path!r}")
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if self.faults.refuse_handshake:
            return connection.respond(HTTPStatus(self.faults.refuse_handshake), "refused\n")
        header = request.headers.get("Authorization", "")
        self.auth.append(header)
        if (status := self.token_status(header)) != 200:
            return connection.respond(HTTPStatus(status), json.dumps({"detail": "Invalid token"}) + "\n")
        return None

    async def send(self, ws: ServerConnection, s: Stream, message: dict[str, Any]) -> None:
        await self.pause()
        self.sent[s.index].append(message)
        await ws.send(json.dumps(message))

    async def recv(self, ws: ServerConnection, s: Stream) -> Any:
        raw = await ws.recv()
        if isinstance(raw, str):
            with contextlib.suppress(ValueError):
                raw = json.loads(raw)
        self.received[s.index].append(raw)
        return raw

    async def handle(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?")[0]
        s = Stream(index=len(self.streams), kind="scripted" if path == SCRIPTED_WS else "unscripted")
        self.streams.append(s)
        self.sent.append([])
        with contextlib.suppress(ConnectionClosed):
            await (self.scripted(ws, s) if s.kind == "scripted" else self.unscripted(ws, s))

    async def fail(self, ws: ServerConnection, s: Stream, why: str) -> None:
        """A client mistake: record it, answer as the sample's server would (ELSA:error, close)."""
        self.violation(f"connection {s.index}: {why}")
        await self.send(ws, s, {"type": "ELSA:error", "message": why})
        await ws.close(1008)

    async def audio_frame(self, ws: ServerConnection, s: Stream, frame: bytes) -> bool:
        """A binary frame: check, count, inject faults. True when the fake ended the connection."""
        pcm, problem = check_audio(frame)
        if problem:
            await self.fail(ws, s, f"frame {s.frames}: {problem}")
            return True
        s.frames += 1
        self.hear(s, pcm)
        if self.should_drop(s.frames):
            await self.drop(ws)
            return True
        f = self.faults
        if f.error_after_chunks is not None and s.frames >= f.error_after_chunks and self.error_due():
            await self.error(ws, s, f.error_type or "Internal server error")
            return True
        return False

    def error_due(self) -> bool:
        if self.error_times is not None and self.errors_done >= self.error_times:
            return False
        self.errors_done += 1
        return True

    async def error(self, ws: ServerConnection, s: Stream, message: str) -> None:
        """§4a: ELSA:error {"message": ...}; the sample closes after it, so the fake closes too."""
        await self.send(ws, s, {"type": "ELSA:error", "message": message})
        await ws.close(self.faults.close_code or 1011)

    def hear(self, s: Stream, pcm: bytes) -> None:
        seconds = len(pcm) / 2 / RATE
        s.pcm += pcm
        speech = is_speech(pcm)
        s.speech_frames.append(speech)
        s.speech_seconds += seconds if speech else 0.0
        s.trailing_silence = 0.0 if speech else s.trailing_silence + seconds

    def endpoint_due(self, s: Stream) -> bool:
        if self.endpoint_after is not None and s.seconds >= self.endpoint_after - 1e-6:
            return True
        silence = self.endpoint_silence
        return silence is not None and s.speech_seconds > 0 and s.trailing_silence >= silence - 1e-6

    # --- §4a scripted -------------------------------------------------------------------------
    async def scripted(self, ws: ServerConnection, s: Stream) -> None:
        if self.ws_connect:
            await self.send(ws, s, {"type": "ELSA:wsConnect", "data": {"server": "fake-elsa"}})
        while True:  # one stream after another on the same socket (ELSA:ready)
            start = await self.recv(ws, s)
            if isinstance(start, dict) and start.get("type") == "ELSA:end_stream" and s.finished:
                continue  # a late end_stream after a server endpoint: harmless
            if isinstance(start, bytes) and s.finished:
                s.late_frames += 1
                continue
            info = start.get("data", {}).get("stream_info") if isinstance(start, dict) else None
            if not (isinstance(start, dict) and start.get("type") == "ELSA:start_stream" and isinstance(info, dict)):
                return await self.fail(ws, s, f"expected ELSA:start_stream with data.stream_info, got {start!r:.120}")
            if info.get("api_plan") not in PLANS or not str(info.get("sentence") or "").strip():
                return await self.fail(ws, s, f"stream_info needs api_plan in {PLANS} and a sentence: {info!r}")
            if self.faults.close_code is not None and self.faults.error_after_chunks is None:
                return await ws.close(self.faults.close_code)
            if self.start_error and self.error_due():
                return await self.error(ws, s, self.start_error)
            s.start, s.pcm, s.frames, s.finished, s.endpointed = info, bytearray(), 0, False, False
            s.speech_seconds = s.trailing_silence = 0.0
            s.speech_frames = []
            await self.send(ws, s, {"type": "ELSA:start_stream_result", "data": {"stream_id": f"fake-{s.index}"}})
            if self.warning:
                await self.send(ws, s, {"type": "ELSA:warning", "message": self.warning})
            if not await self.scripted_audio(ws, s):
                return

    async def scripted_audio(self, ws: ServerConnection, s: Stream) -> bool:
        """Audio until end_stream or our endpoint; then the result and ready. False: connection over."""
        while True:
            msg = await self.recv(ws, s)
            if isinstance(msg, bytes):
                if s.endpointed:
                    s.late_frames += 1
                    continue
                if await self.audio_frame(ws, s, msg):
                    return False
                await self.send(ws, s, {"type": "ELSA:audioACK", "data": {"frame": s.frames}})
                if self.partial_every and s.frames % self.partial_every == 0:
                    partial = {"stream_finished": False} | ({"transcript": self.heard(s)} if self.partial_text else {})
                    await self.send(ws, s, {"type": "ELSA:decoding_result", "data": partial})
                if self.endpoint_due(s):
                    s.endpointed = True
                    await self.send(ws, s, {"type": "ELSA:stopped_listening"})
                    if self.drop_at_endpoint and self.drops_done < self.faults.drop_times:
                        await self.drop(ws)
                        return False
                    await self.scripted_finish(ws, s)
                    return True
            elif isinstance(msg, dict) and msg.get("type") == "ELSA:end_stream":
                s.end_stream = True
                await self.scripted_finish(ws, s)
                return True
            else:
                await self.fail(ws, s, f"unexpected message during audio: {msg!r:.120}")
                return False

    async def scripted_finish(self, ws: ServerConnection, s: Stream) -> None:
        result = self.scripted_result(s) | {"stream_finished": True}
        await self.send(ws, s, {"type": "ELSA:decoding_result", "data": result})
        await self.send(ws, s, {"type": "ELSA:ready"})
        s.finished = True

    def heard(self, s: Stream) -> str:
        words = str(s.start.get("sentence", "")).split()
        return " ".join(words[: int(s.speech_seconds / WORD_SECONDS + 1e-6)])

    # --- §4b unscripted -----------------------------------------------------------------------
    async def unscripted(self, ws: ServerConnection, s: Stream) -> None:
        if self.unscripted_ws_connect:
            await self.send(ws, s, {"type": "ELSA:wsConnect", "data": {"server": "fake-elsa"}})
        config = await self.recv(ws, s)
        if not isinstance(config, dict) or "type" in config:
            return await self.fail(ws, s, f"first message must be the config object without `type`: {config!r:.120}")
        if unknown := set(config) - CONFIG_KEYS:
            self.violation(f"connection {s.index}: unknown config keys {sorted(unknown)}")
        if config.get("api_plan") not in PLANS or not isinstance(config.get("return_json"), bool):
            return await self.fail(ws, s, f"config needs api_plan in {PLANS} and a boolean return_json: {config!r}")
        if self.faults.close_code is not None and self.faults.error_after_chunks is None:
            return await ws.close(self.faults.close_code)
        if self.start_error and self.error_due():
            return await self.error(ws, s, self.start_error)
        s.start = config
        stream_id = f"fake-stream-{s.index}"
        await self.send(ws, s, {"status": "processing", "stream_id": stream_id})
        while True:
            msg = await self.recv(ws, s)
            if isinstance(msg, bytes):
                if await self.audio_frame(ws, s, msg):
                    return
            elif isinstance(msg, dict) and msg.get("type") == "ELSA:end_stream":
                s.end_stream = True
                break
            else:
                return await self.fail(ws, s, f"unexpected message during audio: {msg!r:.120}")
        await self.send(ws, s, {"status": "processing", "message": "Finished receiving audio"})
        for status in self.statuses:
            await self.send(ws, s, {"status": status})
        if self.final_status == "success":
            self.results[stream_id] = result = self.unscripted_result(s)
            await self.send(ws, s, self.success(stream_id, result, inline=config["return_json"]))
        else:
            await self.send(ws, s, {"status": self.final_status, "reason": self.reason})
        s.finished = True
        await ws.close(1000)

    def success(self, stream_id: str, result: dict[str, Any], inline: bool) -> dict[str, Any]:
        message = {"status": "success", "result_link": self.link(RESULTS, stream_id)}
        message["audio_link"] = self.link(AUDIO, stream_id)
        if self.partial_error:
            message["partial_error"] = self.partial_error
        if inline and self.inline == "result":
            message["result"] = result
        elif inline and self.inline == "self":
            message |= result
        return message

    def scripted_result(self, s: Stream) -> dict[str, Any]:
        sentence, premium = str(s.start.get("sentence", "")), s.start.get("api_plan") == "premium"
        first_silent = bool(s.speech_frames) and not s.speech_frames[0]
        return scripted_result(sentence, premium, s.speech_seconds, s.seconds, first_silent, self.decisions, self.v3)

    def unscripted_result(self, s: Stream) -> dict[str, Any]:
        return unscripted_result(self.script, sum(s.speech_frames), s.seconds, self.decisions)
