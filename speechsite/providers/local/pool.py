"""A pool of engine worker processes shared by all live sessions of this server process.

Each session is pinned to one worker (a recognizer is stateful), the least loaded when it
opens. Requests go on the worker's queue (`put` only appends to a buffer, so the event loop
never blocks); one reader thread takes replies and hands them to the owning session on its
own event loop. A worker that dies is replaced, and its sessions get an error.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from speechsite.providers.local import worker as worker_module

log = logging.getLogger(__name__)

ReplyHandler = Callable[[str, Any], None]


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    requests: Any
    sessions: set[str] = field(default_factory=set)


@dataclass
class _Route:
    loop: asyncio.AbstractEventLoop
    handler: ReplyHandler
    worker: _Worker


class EnginePool:
    def __init__(self, size: int, spares: int = 4) -> None:
        self.size = max(1, size)
        self.spares = spares
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._routes: dict[str, _Route] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._replies: Any = None
        self._reader: threading.Thread | None = None
        self._ready_pids: set[int] = set()
        self._all_ready = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._workers:
                return
            self._replies = self._context.Queue()
            self._workers = [self._spawn() for _ in range(self.size)]
            self._reader = threading.Thread(target=self._read_replies, name="engine-replies", daemon=True)
            self._reader.start()

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Start the workers and block until each has its decoders loaded (for warm-up only)."""
        self.start()
        return self._all_ready.wait(timeout)

    def _spawn(self) -> _Worker:
        requests = self._context.Queue()
        process = self._context.Process(
            target=worker_module.serve,
            args=(requests, self._replies, os.getpid(), self.spares),
            name="speechsite-engine",
            daemon=True,
        )
        process.start()
        return _Worker(process=process, requests=requests)

    def open(self, options: dict, handler: ReplyHandler) -> str:
        """Register a session on the least loaded worker; replies go to `handler` on this loop."""
        self.start()
        loop = asyncio.get_running_loop()
        session_id = f"{os.getpid()}-{next(self._ids)}"
        with self._lock:
            worker = min(self._workers, key=lambda w: len(w.sessions))
            worker.sessions.add(session_id)
            self._routes[session_id] = _Route(loop, handler, worker)
        worker.requests.put(("open", session_id, options))
        return session_id

    def send(self, session_id: str, op: str, payload: Any = None) -> None:
        route = self._routes.get(session_id)
        if route is not None:
            route.worker.requests.put((op, session_id, payload))

    def release(self, session_id: str) -> None:
        """Forget the session here and free its decoder in the worker."""
        with self._lock:
            route = self._routes.pop(session_id, None)
            if route is not None:
                route.worker.sessions.discard(session_id)
        if route is not None:
            route.worker.requests.put(("close", session_id, None))

    def _read_replies(self) -> None:
        while True:
            try:
                reply = self._replies.get(timeout=1.0)
            except queue.Empty:
                self._replace_dead_workers()
                continue
            except (EOFError, OSError):
                return
            if reply is None:  # shutdown
                return
            session_id, kind, payload = reply
            if kind == "ready":
                self._ready_pids.add(payload)
                if len(self._ready_pids) >= self.size:
                    self._all_ready.set()
                continue
            route = self._routes.get(session_id)
            if route is not None and not route.loop.is_closed():
                route.loop.call_soon_threadsafe(route.handler, kind, payload)

    def _replace_dead_workers(self) -> None:
        with self._lock:
            for index, worker in enumerate(self._workers):
                if worker.process.is_alive():
                    continue
                log.error("engine worker %s exited with %s; replacing it", worker.process.pid, worker.process.exitcode)
                self._workers[index] = self._spawn()
                orphans = [(sid, self._routes.pop(sid)) for sid in worker.sessions if sid in self._routes]
                for _sid, route in orphans:
                    if not route.loop.is_closed():
                        route.loop.call_soon_threadsafe(route.handler, "error", "the engine worker stopped")

    def shutdown(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
            self._routes.clear()
        for worker in workers:
            worker.requests.put(None)
        for worker in workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.terminate()
        if self._reader is not None:
            self._replies.put(None)
            self._reader.join(timeout=5)
            self._reader = None
        self._ready_pids.clear()
        self._all_ready.clear()


_pool: EnginePool | None = None
_pool_lock = threading.Lock()


def engine_pool() -> EnginePool:
    """The process-wide pool, created on first use and sized from settings."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from django.conf import settings

            _pool = EnginePool(settings.LOCAL_ENGINE_WORKERS, settings.LOCAL_ENGINE_SPARE_DECODERS)
        return _pool
