"""/ws/monitor/<recording>/: a teacher watches a student's session while it happens.

The learner's session publishes each event to the recording's channel-layer group
(speechsite.speech.monitor); this socket joins the group and forwards the events as the same
out-of-band HTML fragments the learner's page gets. It is read-only: the teacher sends nothing.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from speechsite.classroom.access import reviewable_recording
from speechsite.speech import monitor
from speechsite.speech.models import Assessment, Recording
from speechsite.speech.render import as_html

log = logging.getLogger(__name__)

UNAUTHENTICATED = 4401
NOT_FOUND = 4404  # unknown, or not one of this teacher's students: the same answer, so nothing leaks

# What the teacher's status line says, by the recording's stored status: (state, message).
STATUS_LINES = {
    Recording.Status.LIVE: ("live", "Live: the transcript appears as the student speaks."),
    Recording.Status.PROCESSING: ("live", "Processing an uploaded file…"),
    Recording.Status.COMPLETED: ("ended", "The session has ended."),
    Recording.Status.INTERRUPTED: ("ended", "The session was interrupted; this is everything received."),
    Recording.Status.FAILED: ("failed", "The session failed."),
}


def status_line(status: str) -> tuple[str, str]:
    return STATUS_LINES.get(status, ("ended", "The session has ended."))


def monitor_state(recording: Recording) -> dict:
    """What a monitor shows of `recording` so far (the page and the socket's first message)."""
    segments = list(recording.segments.all())
    assessment = Assessment.objects.filter(recording=recording).first()
    state, message = status_line(recording.status)
    return {
        "segments": segments,
        "last_index": max((segment.index for segment in segments), default=-1),
        "assessment": assessment,
        "state": state,
        "message": message,
    }


def status_html(state: str, message: str) -> str:
    return render_to_string("speech/_status.html", {"state": state, "message": message, "oob": True})


@database_sync_to_async
def find_recording(user, recording_id) -> Recording | None:
    try:
        return reviewable_recording(user, recording_id)
    except Http404:
        return None


@database_sync_to_async
def initial_state(recording_id) -> tuple[str, int]:
    """The state so far as one message of out-of-band fragments, and the last segment index in it."""
    recording = Recording.objects.get(pk=recording_id)
    state = monitor_state(recording)
    return render_to_string("classroom/_monitor_state.html", {**state, "oob": True}), state["last_index"]


class MonitorConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    last_index = -1  # the highest segment index already sent: the same segment never arrives twice

    async def connect(self) -> None:
        await self.accept()  # accept first: only an open socket can carry the 4401/4404 close codes
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        recording = await find_recording(user, self.scope["url_route"]["kwargs"]["recording_id"])
        if recording is None:
            await self.close(code=NOT_FOUND)
            return
        # Join before reading the state: an event published in between waits in our queue (this
        # handler runs to the end before the next message is dispatched) and is deduplicated below.
        self.group = monitor.group_name(recording.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        html, self.last_index = await initial_state(recording.pk)
        await self.send(text_data=html)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Read-only: whatever the teacher's browser sends is ignored."""

    async def monitor_event(self, message: dict) -> None:
        html = self.fragment_for(dict(message["payload"]))  # a copy: the layer may share the dict
        if html:
            await self.send(text_data=html)

    def fragment_for(self, payload: dict) -> str:
        kind = payload.get("type")
        if kind == "committed_transcript":
            index = payload.pop("index", None)
            if index is not None and index <= self.last_index:
                # Already in the state sent on connect; only its partial needs clearing.
                return render_to_string("speech/_partial_transcript.html", {"event": {"text": ""}})
            if index is not None:
                self.last_index = index
        elif kind == "session_started":
            return status_html(*STATUS_LINES[Recording.Status.LIVE])
        elif kind == "session_ended":
            # Not the learner's "Saved. Open the recording": that link is the learner's own page.
            # The socket stays open so the teacher can go on reading the result.
            return status_html(*STATUS_LINES[Recording.Status.COMPLETED])
        elif kind == "assessment":
            payload.pop("recording_id", None)  # the scores without the learner's own audio player
        try:
            return as_html(payload)
        except TemplateDoesNotExist:
            log.warning("the live monitor has no fragment for %r events", kind)
            return ""

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
