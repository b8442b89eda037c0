"""Server events in the two wire formats: JSON objects, or htmx out-of-band HTML fragments.

The HTML comes from the same fragment templates the pages use (templates/speech/_*.html).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from django.template.loader import render_to_string

from speechsite.providers.base import (
    Assessment,
    CommittedTranscript,
    Endpoint,
    Notice,
    PartialTranscript,
    ProviderError,
)


def word_dicts(event: CommittedTranscript) -> list[dict]:
    return [asdict(word) for word in event.words]


def assessment_fields(assessment: Assessment) -> dict:
    """The contract's assessment object (plus what we add: ipa, times, decisions, details)."""
    fields = asdict(assessment)
    for word in fields["words"]:
        word["phonemes"] = list(word["phonemes"])
    fields["words"] = list(fields["words"])
    return fields


def event_payload(kind: str, **fields: object) -> dict:
    return {"type": kind, **fields}


def payload_for(event: object) -> dict:
    """The contract's JSON object for a provider event."""
    if isinstance(event, PartialTranscript):
        return event_payload("partial_transcript", text=event.text)
    if isinstance(event, CommittedTranscript):
        return event_payload(
            "committed_transcript", text=event.text, start=event.start, end=event.end, words=word_dicts(event)
        )
    if isinstance(event, Assessment):
        return event_payload("assessment", **assessment_fields(event))
    if isinstance(event, Endpoint):
        return event_payload("endpoint")
    if isinstance(event, Notice):
        return event_payload("notice", message=event.message)
    if isinstance(event, ProviderError):
        return error_payload(event.code, event.message, event.fatal)
    raise TypeError(f"no wire form for {event!r}")


def error_payload(code: str, message: str, fatal: bool = False) -> dict:
    return event_payload("error", code=code, message=message, fatal=fatal)


def as_json(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"))


def as_html(payload: dict) -> str:
    """One socket message of out-of-band fragments; the ws extension swaps each by id."""
    kind = payload["type"]
    if kind == "committed_transcript":
        segment = {"text": payload["text"], "start": payload["start"], "end": payload["end"], "words": payload["words"]}
        return render_to_string("speech/_committed.html", {"segment": segment})
    return render_to_string(f"speech/_{kind}.html", {"event": payload})
