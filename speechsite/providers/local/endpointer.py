"""Voice-activity endpointing on pocketsphinx's WebRTC-derived Vad.

pocketsphinx's own Endpointer hands speech back a whole decision window late, which would
delay every partial by that window. This one passes audio through at once: it decides speech
has started after a short run of voiced frames (keeping a little pre-roll so first consonants
survive) and that it has ended after `silence_ms` of unvoiced frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pocketsphinx import Vad


@dataclass(frozen=True)
class VadStep:
    """What one frame did: the audio to decode (if any) and whether speech started or ended."""

    audio: bytes = b""
    started: bool = False
    ended: bool = False


class Endpointer:
    def __init__(
        self,
        *,
        silence_ms: int = 800,
        start_ms: int = 90,
        preroll_ms: int = 240,
        mode: int = Vad.LOOSE,
        sample_rate: int = 16000,
    ) -> None:
        self._vad = Vad(mode, sample_rate, 0.03)
        self.frame_bytes: int = self._vad.frame_bytes
        self.frame_seconds: float = self._vad.frame_length
        frame_ms = self.frame_seconds * 1000
        self._start_frames = max(1, round(start_ms / frame_ms))
        self._silence_frames = max(1, round(silence_ms / frame_ms))
        self._preroll: deque[bytes] = deque(maxlen=max(self._start_frames, round(preroll_ms / frame_ms)))
        self._voiced_run = 0
        self._unvoiced_run = 0
        self._pending = b""
        self.frames_seen = 0
        self.in_speech = False
        self.speech_start = 0.0  # seconds from stream start, of the first frame handed out

    def process(self, pcm: bytes) -> list[VadStep]:
        """Feed any amount of PCM; returns one step per whole frame that produced something."""
        data = self._pending + pcm
        whole = len(data) - len(data) % self.frame_bytes
        self._pending = data[whole:]
        steps = []
        for offset in range(0, whole, self.frame_bytes):
            step = self._frame(data[offset : offset + self.frame_bytes])
            if step.audio or step.started or step.ended:
                steps.append(step)
        return steps

    def flush(self) -> bytes:
        """End of stream: the partial frame still held, if we are in speech."""
        tail, self._pending = self._pending, b""
        return tail if self.in_speech else b""

    def _frame(self, frame: bytes) -> VadStep:
        voiced = self._vad.is_speech(frame)
        self.frames_seen += 1
        if not self.in_speech:
            self._preroll.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run < self._start_frames:
                return VadStep()
            self.in_speech = True
            self._unvoiced_run = 0
            audio = b"".join(self._preroll)
            self.speech_start = (self.frames_seen - len(self._preroll)) * self.frame_seconds
            self._preroll.clear()
            return VadStep(audio=audio, started=True)
        self._unvoiced_run = 0 if voiced else self._unvoiced_run + 1
        if self._unvoiced_run >= self._silence_frames:
            self.in_speech = False
            self._voiced_run = 0
            return VadStep(audio=frame, ended=True)
        return VadStep(audio=frame)

    def force_end(self) -> None:
        """A manual commit ends the current speech region; the next voiced frames start a new one."""
        self.in_speech = False
        self._voiced_run = 0
        self._unvoiced_run = 0
