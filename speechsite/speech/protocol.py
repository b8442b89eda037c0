"""The client side of the /ws/speech/ contract: parsing and checking what clients send."""

from __future__ import annotations

import json
from dataclasses import dataclass

from speechsite.lib.audio import AudioFrameError, check_sample_rate

MODES = ("transcribe", "assess")
COMMIT_STRATEGIES = ("vad", "manual")
FORMATS = ("html", "json")
CLIENT_TYPES = ("start", "commit", "stop")
MIN_SILENCE_MS, MAX_SILENCE_MS = 200, 5000


class ProtocolError(Exception):
    """A client message we cannot act on; the socket stays usable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StartRequest:
    mode: str = "transcribe"
    provider: str = "local"
    language: str = "en"
    sample_rate: int = 16000
    commit_strategy: str = "vad"
    expected_text: str = ""
    format: str = "html"
    vad_silence_ms: int | None = None
    exercise_id: int | None = None  # an Exercise whose text is the expected text (our extension)


def parse_message(text: str) -> dict:
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        raise ProtocolError("invalid_json", 'Text frames must be JSON objects, e.g. {"type": "start"}.') from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("invalid_message", 'Text frames must be JSON objects with a string "type".')
    if message["type"] not in CLIENT_TYPES:
        raise ProtocolError(
            "unknown_type",
            f"Unknown message type {message['type']!r}; expected one of: {', '.join(CLIENT_TYPES)}.",
        )
    return message


def requested_format(message: dict, default: str) -> str | None:
    """The reply format a start message asks for (None if it names no known format), so even
    the errors about that start come back in a form the client reads."""
    fmt = message.get("format", default)
    return fmt if fmt in FORMATS else None


def _choice(message: dict, key: str, choices: tuple[str, ...], default: str) -> str:
    value = message.get(key, default)
    if value not in choices:
        raise ProtocolError(f"invalid_{key}", f"{key} must be one of: {', '.join(choices)}; got {value!r}.")
    return value


def parse_start(message: dict, default_format: str = "html") -> StartRequest:
    mode = _choice(message, "mode", MODES, "transcribe")
    fmt = _choice(message, "format", FORMATS, default_format)
    strategy = _choice(message, "commit_strategy", COMMIT_STRATEGIES, "vad")
    provider = message.get("provider", "local")
    if not isinstance(provider, str) or not provider:
        raise ProtocolError("unknown_provider", f"provider must be a provider name; got {provider!r}.")
    language = message.get("language", "en")
    if not isinstance(language, str) or not 2 <= len(language) <= 16:
        raise ProtocolError("invalid_language", f'language must be a language code such as "en"; got {language!r}.')
    try:
        rate = check_sample_rate(message.get("sample_rate", 16000))
    except AudioFrameError as exc:
        raise ProtocolError(exc.code, exc.message) from None
    expected = message.get("expected_text", "")
    if not isinstance(expected, str):
        raise ProtocolError("invalid_expected_text", "expected_text must be a string.")
    if mode == "assess" and "expected_text" in message and not expected.strip():
        raise ProtocolError("empty_expected_text", "expected_text is empty; give the sentence the learner will read.")
    silence = message.get("vad_silence_ms")
    if silence is not None and (
        isinstance(silence, bool) or not isinstance(silence, int) or not MIN_SILENCE_MS <= silence <= MAX_SILENCE_MS
    ):
        raise ProtocolError(
            "invalid_vad_silence_ms",
            f"vad_silence_ms must be a whole number from {MIN_SILENCE_MS} to {MAX_SILENCE_MS}; got {silence!r}.",
        )
    exercise = message.get("exercise_id")
    if exercise is not None and (isinstance(exercise, bool) or not isinstance(exercise, int) or exercise < 1):
        raise ProtocolError("invalid_exercise_id", f"exercise_id must be an exercise's number; got {exercise!r}.")
    return StartRequest(
        mode=mode,
        provider=provider,
        language=language.lower(),
        sample_rate=rate,
        commit_strategy=strategy,
        expected_text=expected.strip(),
        format=fmt,
        vad_silence_ms=silence,
        exercise_id=exercise,
    )
