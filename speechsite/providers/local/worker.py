"""The engine worker process: hosts many recognizers, one request at a time.

pocketsphinx holds the GIL while it decodes (measured: two threads take twice as long as one),
so decoding lives in processes, one per core. Requests and replies are small tuples on
multiprocessing queues; this module imports no Django.
"""

from __future__ import annotations

import os
import queue
from typing import Any

from pocketsphinx import Decoder

from speechsite.providers.local.assess import AssessingRecognizer, EndpointRules
from speechsite.providers.local.recognizer import CepstralMeter, StreamingRecognizer, new_decoder
from speechsite.providers.local.scorer import Scorer

# Loading a decoder blocks the worker for ~0.2 s, which would stall every stream it hosts, so
# decoders are loaded ahead: at start, and again once the worker has been idle for a while.
IDLE_SECONDS = 0.5


def serve(requests: Any, replies: Any, parent_pid: int, spares: int = 4) -> None:
    idle: list[Decoder] = [new_decoder() for _ in range(spares)]
    meter = CepstralMeter()
    scorer = Scorer()  # loaded up front: the first assessment must not wait for its decoders
    recognizers: dict[str, StreamingRecognizer | AssessingRecognizer] = {}
    replies.put(("", "ready", os.getpid()))

    def release(session_id: str) -> None:
        recognizer = recognizers.pop(session_id, None)
        if recognizer is None:
            return
        if recognizer.in_utterance:
            recognizer.decoder.end_utt()
        if len(idle) < 2 * spares:  # after a burst, keep some for the next one and free the rest
            idle.append(recognizer.decoder)

    while True:
        short = len(idle) < spares
        try:
            request = requests.get(timeout=IDLE_SECONDS if short else 1.0)
        except queue.Empty:
            if os.getppid() != parent_pid:
                return  # the server went away without telling us
            if short:
                idle.append(new_decoder())
            continue
        if request is None:
            return
        op, session_id, payload = request
        try:
            if op == "open":
                decoder = idle.pop() if idle else new_decoder()
                assess = payload.pop("assess", None)
                recognizer = StreamingRecognizer(decoder, meter, **payload)
                if assess is not None:
                    rules = EndpointRules()
                    recognizer = AssessingRecognizer(recognizer, scorer, assess["expected_text"], rules)
                recognizers[session_id] = recognizer
                continue
            if op == "close":
                release(session_id)
                continue
            recognizer = recognizers.get(session_id)
            if recognizer is None:
                continue  # closed already; late audio is dropped on purpose
            if op == "audio":
                events = recognizer.feed(payload)
            elif op == "commit":
                events = recognizer.commit()
            elif op == "finish":
                if isinstance(recognizer, AssessingRecognizer):
                    replies.put((session_id, "events", recognizer.assess()))
                events = recognizer.finish()
                release(session_id)
                replies.put((session_id, "finished", events))
                continue
            else:
                raise ValueError(f"unknown request {op!r}")
            if events:
                replies.put((session_id, "events", events))
        except Exception as exc:  # one broken stream must not take the others down
            release(session_id)
            replies.put((session_id, "error", f"{type(exc).__name__}: {exc}"))
