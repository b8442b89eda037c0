"""Make upload-style audio files at test time from the committed WAV fixtures, using PyAV.

    encode(FOX, tmp_path / "fox.mp3")                       # codec picked from the suffix
    encode(FOX, tmp_path / "fox.wav", rate=44100, channels=2)
    long_wav(tmp_path / "long.wav", seconds=600)
    video_without_audio(tmp_path / "silent.mp4")

Compressed files are generated rather than committed so the fixtures stay small and every
format is produced by the same ffmpeg the app decodes with.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from speechsite.lib.audio import SAMPLE_WIDTH, read_wav

FOX = Path(__file__).resolve().parent.parent / "fixtures" / "audio" / "fox_slt.wav"

# suffix -> (container format, audio codec); rates are forced to what the codec accepts.
FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("wav", "pcm_s16le"),
    ".mp3": ("mp3", "libmp3lame"),
    ".flac": ("flac", "flac"),
    ".ogg": ("ogg", "libopus"),
    ".opus": ("ogg", "libopus"),
    ".webm": ("webm", "libopus"),
    ".m4a": ("ipod", "aac"),
    ".mka": ("matroska", "flac"),
}
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:  # PyAV raises different errors for unknown vs. not-built codecs
        return False
    return True


def _codec_rate(codec: str, wanted: int) -> int:
    if codec == "libopus":
        return wanted if wanted in _OPUS_RATES else 48000
    if codec == "libmp3lame" and wanted < 8000:
        return 8000
    return wanted


def encode(
    wav_path: Path | str,
    dest_path: Path | str,
    *,
    rate: int | None = None,
    channels: int | None = None,
    codec: str | None = None,
    container_format: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode a 16-bit mono WAV into `dest_path`; format and codec follow its suffix unless given.

    `rate`/`channels` default to the source's (codec limits permitting); `options` go to the muxer
    (e.g. ``{"live": "1"}`` for a webm without a duration, like a browser's MediaRecorder).
    """
    dest = Path(dest_path)
    fmt, default_codec = FORMATS.get(dest.suffix.lower(), (None, None))
    fmt = container_format or fmt
    codec = codec or default_codec
    if fmt is None or codec is None:
        raise ValueError(f"no default format for {dest.suffix!r}; pass container_format and codec")
    pcm, src_rate = read_wav(wav_path)
    out_rate = _codec_rate(codec, rate or src_rate)
    # ffmpeg's native vorbis encoder (libvorbis is not in PyAV's wheels) only does stereo.
    layout = "stereo" if (channels or 1) == 2 or codec == "vorbis" else "mono"

    with av.open(str(dest), "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream(codec, rate=out_rate, layout=layout)
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}  # the native encoder is marked so
        samples = np.frombuffer(pcm, dtype="<i2")
        if layout == "stereo":  # the same signal in both channels, at full level (ffmpeg's upmix is -3 dB)
            samples = np.repeat(samples, 2)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = src_rate
        frame.pts = 0
        # Convert to what the encoder takes, cut into the frame size it wants (opus/aac need fixed sizes).
        resampler = av.AudioResampler(
            format=stream.codec_context.codec.audio_formats[0].name,
            layout=layout,
            rate=out_rate,
            frame_size=stream.codec_context.frame_size or 1024,
        )
        pts = 0
        for chunk in [*resampler.resample(frame), *resampler.resample(None)]:
            chunk.pts, chunk.time_base = pts, Fraction(1, out_rate)  # contiguous, or muxers mislabel length
            pts += chunk.samples
            out.mux(stream.encode(chunk))
        out.mux(stream.encode(None))
    return dest


def long_wav(dest: Path | str, seconds: float, *, source: Path | str = FOX) -> Path:
    """A WAV lasting `seconds`, made by repeating `source` (speech, so it is not silence)."""
    pcm, rate = read_wav(source)
    n_bytes = int(seconds * rate) * SAMPLE_WIDTH
    repeats = -(-n_bytes // len(pcm))
    dest = Path(dest)
    with wave.open(str(dest), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        for _ in range(repeats):
            wav.writeframes(pcm[:n_bytes])
            n_bytes -= len(pcm)
            if n_bytes <= 0:
                break
    return dest


def video_encoder() -> str | None:
    """A video encoder this PyAV build has, or None."""
    return next((name for name in ("mpeg4", "libx264", "mjpeg") if has_encoder(name)), None)


def video_without_audio(dest: Path | str, *, frames: int = 10, codec: str | None = None) -> Path:
    """A short video file (mp4 by suffix) with no audio track at all."""
    codec = codec or video_encoder()
    if codec is None:
        raise RuntimeError("this PyAV build has no video encoder")
    dest = Path(dest)
    with av.open(str(dest), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for i in range(frames):
            image = np.full((48, 64, 3), (i * 20) % 256, dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return dest
