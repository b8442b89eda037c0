"""Framework-free PCM helpers: frame checks, resampling and WAV files written as audio arrives."""

from __future__ import annotations

import base64
import wave
from pathlib import Path

import numpy as np
import soxr

SAMPLE_WIDTH = 2  # signed 16-bit little-endian
ENGINE_RATE = 16000
SUPPORTED_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
MAX_FRAME_SECONDS = 1.0


class AudioFrameError(ValueError):
    """A client audio frame that cannot be used; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_sample_rate(rate: object) -> int:
    if isinstance(rate, bool) or not isinstance(rate, int) or rate not in SUPPORTED_RATES:
        rates = ", ".join(str(r) for r in SUPPORTED_RATES)
        raise AudioFrameError(
            "unsupported_sample_rate", f"Sample rate {rate!r} is not supported; use one of {rates} Hz."
        )
    return rate


def check_frame(frame: bytes, sample_rate: int) -> None:
    """Raise AudioFrameError unless `frame` is whole 16-bit samples lasting at most a second."""
    if not frame:
        raise AudioFrameError("empty_frame", "The audio frame was empty.")
    if len(frame) % SAMPLE_WIDTH:
        raise AudioFrameError(
            "odd_byte_count",
            f"Audio frames must hold whole 16-bit samples; got {len(frame)} bytes, an odd number.",
        )
    limit = int(sample_rate * MAX_FRAME_SECONDS) * SAMPLE_WIDTH
    if len(frame) > limit:
        seconds = len(frame) / SAMPLE_WIDTH / sample_rate
        raise AudioFrameError(
            "frame_too_large",
            f"Audio frames may last at most {MAX_FRAME_SECONDS:g} s; this one lasts {seconds:.2f} s.",
        )


def pcm_seconds(n_bytes: int, sample_rate: int) -> float:
    return n_bytes / SAMPLE_WIDTH / sample_rate


def _to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def _to_pcm16(samples: np.ndarray) -> bytes:
    return np.clip(np.rint(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()


# soxr dithers integer output with random noise, so the same audio would decode differently on
# every run; resampling in float and rounding ourselves keeps it repeatable.


class StreamResampler:
    """Resamples a stream of PCM16 chunks to `out_rate`, keeping filter state between chunks."""

    def __init__(self, in_rate: int, out_rate: int = ENGINE_RATE) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = None if in_rate == out_rate else soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32")

    def process(self, pcm: bytes, last: bool = False) -> bytes:
        if self._stream is None:
            return pcm
        return _to_pcm16(self._stream.resample_chunk(_to_float(pcm), last=last))


def resample(pcm: bytes, in_rate: int, out_rate: int) -> bytes:
    """Resample a whole PCM16 buffer at once."""
    if in_rate == out_rate:
        return pcm
    return _to_pcm16(soxr.resample(_to_float(pcm), in_rate, out_rate))


class WavWriter:
    """Appends PCM16 mono to a WAV file whose header is valid after every write.

    The `wave` module patches the RIFF sizes on each write, so a crash or a dropped browser
    still leaves a playable file holding every chunk received so far.
    """

    def __init__(self, path: Path, sample_rate: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.sample_rate = sample_rate
        self.bytes_written = 0
        self._file = path.open("wb")
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 - open as long as the recording
        self._wav.setnchannels(1)
        self._wav.setsampwidth(SAMPLE_WIDTH)
        self._wav.setframerate(sample_rate)
        self._wav.writeframes(b"")  # header now, so even an empty recording is a valid file

    def write(self, pcm: bytes) -> None:
        self._wav.writeframes(pcm)
        self._file.flush()  # durable per chunk, not just buffered
        self.bytes_written += len(pcm)

    @property
    def seconds(self) -> float:
        return pcm_seconds(self.bytes_written, self.sample_rate)

    def close(self) -> None:
        if not self._file.closed:
            self._wav.close()  # patches the header one last time
            self._file.close()


def read_wav(path: Path | str) -> tuple[bytes, int]:
    """Return (pcm16 mono bytes, sample rate) of a 16-bit mono WAV file."""
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != SAMPLE_WIDTH:
            raise AudioFrameError("unsupported_wav", f"{path}: expected mono 16-bit PCM")
        return wav.readframes(wav.getnframes()), wav.getframerate()


# --- Vendor wire formats -----------------------------------------------------------------------

_MULAW_BIAS = 0x84


def mulaw_encode(pcm: bytes) -> bytes:
    """G.711 mu-law, one byte per 16-bit sample (ElevenLabs' `ulaw_8000`), bit-exact with the
    reference coder: 14-bit magnitude (shifted before the sign is taken), bias 33, 8 segments."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32) >> 2
    mask = np.where(samples < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(samples), 8159) + 33
    segment = np.floor(np.log2(magnitude)).astype(np.int32) - 5
    code = np.where(segment > 7, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))  # > 0x1FFF clips
    return (code ^ mask).astype(np.uint8).tobytes()


def mulaw_decode(data: bytes) -> bytes:
    """The inverse of mulaw_encode, for tests and fake servers."""
    codes = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    magnitude = (((codes & 0x0F) << 3) + _MULAW_BIAS) << exponent
    return np.where(codes & 0x80, _MULAW_BIAS - magnitude, magnitude - _MULAW_BIAS).astype("<i2").tobytes()


def to_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def wav_header(sample_rate: int, data_bytes: int = 0) -> bytes:
    """A 44-byte RIFF/WAVE header for mono PCM16 (Prosa wants one before streamed audio)."""
    riff_size = 36 + data_bytes
    return b"".join(
        [
            b"RIFF",
            riff_size.to_bytes(4, "little"),
            b"WAVEfmt ",
            (16).to_bytes(4, "little"),
            (1).to_bytes(2, "little"),  # PCM
            (1).to_bytes(2, "little"),  # mono
            sample_rate.to_bytes(4, "little"),
            (sample_rate * SAMPLE_WIDTH).to_bytes(4, "little"),
            SAMPLE_WIDTH.to_bytes(2, "little"),
            (8 * SAMPLE_WIDTH).to_bytes(2, "little"),
            b"data",
            data_bytes.to_bytes(4, "little"),
        ]
    )
