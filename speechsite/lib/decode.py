"""Decode an uploaded audio file (anything ffmpeg reads) to mono PCM16 at the engine rate, with PyAV.

Framework-free and blocking; callers run it in a thread (`asyncio.to_thread`). Every failure a
learner can cause surfaces as `AudioFileError` with a stable `code` and a message for people;
PyAV exceptions never leak out.

Uploads are untrusted, so the file is always handed to ffmpeg as an already-open Python file
and nested opens are refused (`protocol_whitelist`): otherwise an uploaded HLS playlist or
concat list could make ffmpeg read other files on the server and "decode" them for the uploader.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import av
import av.error

from speechsite.lib.audio import ENGINE_RATE, SAMPLE_WIDTH, pcm_seconds

Source = str | os.PathLike[str] | BinaryIO

# No protocol has this name, so every nested open (playlists, concat lists, drefs) fails.
_OPEN_OPTIONS = {"protocol_whitelist": "none"}
_PROGRESS_STEP = 0.02  # report at most ~50 times per file
_MAX_ERRORS_BEFORE_AUDIO = 50  # give up on a file that never yields a good packet
# Demuxers for still images/text art: files ffmpeg opens but which are "not audio", not "a video".
_IMAGE_FORMATS = {"image2", "gif", "webp", "apng", "tty", "ico", "bmp"}
_CONTAINER_LABELS = {"mov": "mp4", "matroska": "webm"}


class AudioFileError(Exception):
    """An upload that cannot be used; `code` is stable, `message` is for the learner."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DecodedAudio:
    pcm: bytes  # mono signed 16-bit little-endian
    sample_rate: int
    duration: float  # seconds
    source_format: str  # for display, e.g. "mp3", "wav", "ogg/opus", "mp4/aac"


def _not_audio(detail: str = "") -> AudioFileError:
    return AudioFileError(
        "not_audio",
        "This file is not audio we can read" + (f" ({detail})" if detail else "") + ". "
        "Please upload a recording such as MP3, WAV, M4A, OGG, WEBM or FLAC.",
    )


def _fmt_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _fmt_bytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


def _too_long(max_seconds: float, seconds: float | None = None) -> AudioFileError:
    length = f" is {_fmt_duration(seconds)} long;" if seconds is not None else " is too long;"
    return AudioFileError(
        "too_long", f"This recording{length} the limit is {_fmt_duration(max_seconds)}. Please upload a shorter one."
    )


@contextlib.contextmanager
def _opened(source: Source, max_bytes: int | None = None) -> Iterator[tuple[BinaryIO, int]]:
    """Yield (binary file at its start, size in bytes), enforcing `max_bytes` before any decoding."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            yield file, _checked_size(file, max_bytes)
        return
    if not (hasattr(source, "seekable") and source.seekable()):
        # ffmpeg needs to seek in some containers (mp4); buffer at most one byte over the limit.
        source = io.BytesIO(source.read(-1 if max_bytes is None else max_bytes + 1))
    yield source, _checked_size(source, max_bytes)


def _checked_size(file: BinaryIO, max_bytes: int | None) -> int:
    size = file.seek(0, os.SEEK_END)
    file.seek(0)  # uploads are whole files, whoever read from them before
    if max_bytes is not None and size > max_bytes:
        raise AudioFileError(
            "too_large",
            f"This file is {_fmt_bytes(size)}; the limit is {_fmt_bytes(max_bytes)}. Please upload a smaller one.",
        )
    if size == 0:
        raise _not_audio("the file is empty")
    return size


@contextlib.contextmanager
def _container(file: BinaryIO) -> Iterator[av.container.InputContainer]:
    try:
        container = av.open(file, "r", options=_OPEN_OPTIONS)
    except (av.error.FFmpegError, EOFError, ValueError, IndexError) as exc:
        raise _not_audio() from exc
    try:
        yield container
    finally:
        container.close()


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    if container.streams.audio:
        stream = container.streams.audio[0]
        if stream.codec_context is None:  # ffmpeg knows the container but has no decoder for the codec
            raise _not_audio("its sound is stored in a format we cannot decode")
        return stream
    name = container.format.name
    if not container.streams or name in _IMAGE_FORMATS or name.endswith("_pipe"):
        raise _not_audio()
    raise AudioFileError(
        "no_audio_stream", "This file has no sound in it (it looks like a video without an audio track)."
    )


def _container_seconds(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _format_label(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> str:
    codec = stream.codec_context.codec.canonical_name
    first = container.format.name.split(",")[0]
    label = _CONTAINER_LABELS.get(first, first)
    if label == "webm" and codec not in ("opus", "vorbis"):
        label = "mkv"  # webm only allows opus/vorbis audio
    if label == codec or codec.startswith("pcm_"):
        return label  # "mp3", "flac", "wav": the codec adds nothing for people
    return f"{label}/{codec}"


def probe(source: Source, *, max_seconds: float) -> float:
    """Duration in seconds as the container reports it, without decoding.

    Returns 0.0 when the container does not say (a browser's MediaRecorder webm, for one);
    `decode_file` still enforces the limit on those while decoding.
    """
    with _opened(source) as (file, _size), _container(file) as container:
        seconds = _container_seconds(container, _audio_stream(container)) or 0.0
    if seconds > max_seconds:
        raise _too_long(max_seconds, seconds)
    return seconds


class _Progress:
    """Turns byte position and decoded time into a monotonic, throttled 0..1 fraction."""

    def __init__(self, callback: Callable[[float], None] | None, size: int, seconds: float | None) -> None:
        self._callback = callback
        self._size = size
        self._seconds = seconds
        self._last = 0.0

    def update(self, pos: int | None, decoded_seconds: float) -> None:
        if self._callback is None:
            return
        by_bytes = pos / self._size if pos is not None and pos > 0 else 0.0
        by_time = decoded_seconds / self._seconds if self._seconds else 0.0
        fraction = min(max(by_bytes, by_time), 0.99)  # 1.0 only once the PCM is complete
        if fraction >= self._last + _PROGRESS_STEP:
            self._last = fraction
            self._callback(fraction)

    def done(self) -> None:
        if self._callback is not None:
            self._callback(1.0)


class _Mono16:
    """av.AudioResampler to mono s16, rebuilt if the input format changes mid-stream (it cannot adapt)."""

    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._resampler: av.AudioResampler | None = None
        self._input: tuple[str, str, int] | None = None
        self.chunks: list[bytes] = []

    def push(self, frame: av.AudioFrame) -> None:
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        if shape != self._input:
            self.flush()
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=self._rate)
            self._input = shape
        frame.pts = None  # timestamps from broken files can make the filter graph drop or pad audio
        self._resample(frame)

    def flush(self) -> None:
        if self._resampler is not None:
            self._resample(None)
            self._resampler = None
            self._input = None

    def _resample(self, frame: av.AudioFrame | None) -> None:
        assert self._resampler is not None
        try:
            frames = self._resampler.resample(frame)
        except (av.error.FFmpegError, ValueError) as exc:  # e.g. a channel layout the filter graph rejects
            raise _unreadable() from exc
        for out in frames:
            # s16 is native-endian; "<i2" makes the promised little-endian explicit.
            self.chunks.append(out.to_ndarray()[0, : out.samples].astype("<i2", copy=False).tobytes())


def _frames(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Iterator[tuple[av.AudioFrame, int | None]]:
    """Decoded frames with their packet's byte position; damaged packets are skipped as ffmpeg does.

    Raises `unreadable` if nothing at all decodes; a demuxer failure midway ends the stream early
    (a truncated mp4), keeping the audio before the damage.
    """
    packets = container.demux(stream)
    errors = 0
    produced = False
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except (av.error.FFmpegError, ValueError):
            errors += 1
            break
        try:
            frames = packet.decode()
        except (av.error.FFmpegError, ValueError) as exc:
            errors += 1
            if not produced and errors >= _MAX_ERRORS_BEFORE_AUDIO:
                raise _unreadable() from exc
            continue
        for frame in frames:
            produced = True
            yield frame, packet.pos
    if errors and not produced:
        raise _unreadable()


def decode_file(
    source: Source,
    *,
    sample_rate: int = ENGINE_RATE,
    max_seconds: float,
    max_bytes: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> DecodedAudio:
    """Decode the first audio stream of `source` to mono PCM16 at `sample_rate`.

    Stops with `too_long` as soon as the decoded audio passes `max_seconds`, whatever the
    container claims (and at once if it claims far more). Packets the decoder rejects are
    skipped, so a damaged or truncated file yields the audio that could be read; `unreadable`
    if none could. `progress(fraction)` is called on this thread; an exception it raises
    aborts decoding and propagates.
    """
    with _opened(source, max_bytes) as (file, size), _container(file) as container:
        stream = _audio_stream(container)
        claimed = _container_seconds(container, stream)
        # Clearly over: refuse without decoding. Near the limit, padding and bitrate estimates
        # make the container's figure unreliable, so decoding decides.
        if claimed is not None and claimed > max_seconds * 1.5:
            raise _too_long(max_seconds, claimed)
        label = _format_label(container, stream)
        tracker = _Progress(progress, size, claimed)
        mono = _Mono16(sample_rate)
        decoded = 0.0
        for frame, pos in _frames(container, stream):
            decoded += frame.samples / frame.sample_rate
            if decoded > max_seconds:
                raise _too_long(max_seconds, claimed if claimed and claimed > max_seconds else None)
            mono.push(frame)
            tracker.update(pos, decoded)
        mono.flush()

    pcm = b"".join(mono.chunks)
    if not pcm:
        raise AudioFileError("empty_audio", "This file contains no audio at all (it is zero seconds long).")
    tracker.done()
    return DecodedAudio(
        pcm=pcm, sample_rate=sample_rate, duration=pcm_seconds(len(pcm), sample_rate), source_format=label
    )


def _unreadable() -> AudioFileError:
    return AudioFileError(
        "unreadable", "This audio file is damaged and could not be decoded. Please export or record it again."
    )


def iter_pcm_chunks(decoded: DecodedAudio, seconds: float = 0.5) -> Iterator[bytes]:
    """Yield `decoded.pcm` in slices of about `seconds`, each a whole number of 16-bit samples."""
    step = max(1, int(decoded.sample_rate * seconds)) * SAMPLE_WIDTH
    pcm = decoded.pcm[: len(decoded.pcm) - len(decoded.pcm) % SAMPLE_WIDTH]
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]
