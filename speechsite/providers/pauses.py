"""How long the speaker has been quiet: for choosing a safe moment to commit on a vendor's behalf."""

from __future__ import annotations

from pocketsphinx import Vad

from speechsite.lib.audio import StreamResampler

VAD_RATES = (8000, 16000, 32000, 48000)  # what pocketsphinx's WebRTC Vad accepts


class PauseDetector:
    def __init__(self, sample_rate: int) -> None:
        rate = sample_rate if sample_rate in VAD_RATES else 16000
        self._resampler = StreamResampler(sample_rate, rate)
        self._vad = Vad(Vad.LOOSE, rate, 0.03)
        self._frame_bytes = self._vad.frame_bytes
        self._frame_seconds = self._vad.frame_length
        self._pending = b""
        self.pause_seconds = 0.0  # unvoiced audio at the end of what was fed

    def feed(self, pcm: bytes) -> float:
        data = self._pending + self._resampler.process(pcm)
        whole = len(data) - len(data) % self._frame_bytes
        self._pending = data[whole:]
        for offset in range(0, whole, self._frame_bytes):
            if self._vad.is_speech(data[offset : offset + self._frame_bytes]):
                self.pause_seconds = 0.0
            else:
                self.pause_seconds += self._frame_seconds
        return self.pause_seconds
