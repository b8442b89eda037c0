"""Live monitoring: a session's events are published to a channel-layer group per recording.

A teacher's monitor socket joins the group. With REDIS_URL set the group spans every server
process, so the teacher may be connected to a different daphne than the student.
"""

from __future__ import annotations

import logging

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

EVENT_TYPE = "monitor.event"  # the consumer handler is monitor_event(message)


def group_name(recording_id) -> str:
    return f"recording-{str(recording_id).replace('-', '')}"


async def publish(recording_id, payload: dict) -> None:
    """Best effort: a monitor that cannot be reached must never disturb the learner's session."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group_name(recording_id), {"type": EVENT_TYPE, "payload": payload})
    except Exception:
        log.warning("could not publish to the live monitor of %s", recording_id, exc_info=True)
