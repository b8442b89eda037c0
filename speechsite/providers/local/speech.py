"""Is there any speech in a recording? A cheap gate before alignment, so silence and noise fail fast."""

from __future__ import annotations

import numpy as np
from pocketsphinx import Vad

MIN_SPEECH_SECONDS = 0.25
_MODE = 3  # the most aggressive WebRTC mode: steady noise is rarely taken for speech


def speech_seconds(pcm: bytes, sample_rate: int = 16000) -> float:
    """Seconds of 30 ms frames that both the VAD and a loudness floor call speech."""
    vad = Vad(_MODE, sample_rate)
    size = vad.frame_bytes
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype=np.int16).astype(np.float32)
    frames = 0
    for start in range(0, len(pcm) - size + 1, size):
        chunk = samples[start // 2 : (start + size) // 2]
        loud = float(np.sqrt(np.mean(chunk * chunk))) > 60.0  # about -55 dBFS
        if loud and vad.is_speech(pcm[start : start + size]):
            frames += 1
    return frames * vad.frame_length


def has_speech(pcm: bytes, sample_rate: int = 16000) -> bool:
    return speech_seconds(pcm, sample_rate) >= MIN_SPEECH_SECONDS
