"""The committed flite sentences as PCM plus reference text: the test fixtures
(tests/fixtures/audio) for timing, and those plus bench/audio for accuracy."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

AUDIO = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "audio"
ACCURACY_AUDIO = Path(__file__).resolve().parent / "audio"
RATE = 16000
BYTES_PER_SECOND = RATE * 2
# Not single sentences: two_sentences has two utterances, the others have no words at all.
SKIP = {"two_sentences", "silence", "noise"}


@dataclass(frozen=True)
class Sentence:
    name: str
    reference: str
    pcm: bytes  # 16 kHz mono PCM16 LE

    @property
    def seconds(self) -> float:
        return len(self.pcm) / BYTES_PER_SECOND


def load_sentences(folder: Path = AUDIO) -> list[Sentence]:
    sentences = []
    for line in (folder / "index.tsv").read_text().splitlines():
        if not line.strip():
            continue
        name, _voice, text = line.split("\t", 2)
        if name in SKIP:
            continue
        with wave.open(str(folder / f"{name}.wav")) as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, RATE):
                raise SystemExit(f"{name}.wav: expected 16 kHz mono 16-bit")
            pcm = w.readframes(w.getnframes())
        sentences.append(Sentence(name, text.strip().lower(), pcm))
    if not sentences:
        raise SystemExit(f"no fixture sentences found in {folder}")
    return sentences


def load_accuracy_sentences() -> list[Sentence]:
    """42 sentences in four voices: enough words (~330) that one word is a third of a point."""
    return load_sentences(AUDIO) + load_sentences(ACCURACY_AUDIO)


def silence(ms: int) -> bytes:
    return b"\x00\x00" * (RATE * ms // 1000)
