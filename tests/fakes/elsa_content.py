"""What the fake ELSA (tests/fakes/elsa.py) checks and says: WAV and multipart parsing, results.

Fake model (deterministic, a fake's choice): audio is judged per 0.5 s; a block whose peak is under
SILENCE_PEAK is silence. Scripted: a word of the sentence is heard per WORD_SECONDS of speech
(words beyond are left unscored, null); scores come from the word's letters; each letter run is a
phoneme whose `text` is the letters, `trans` its IPA, `trans_arpabet` its ARPAbet (with stress).
Unscripted: one `script` word per speech block makes the transcript. Decisions are opaque strings.
"""

from __future__ import annotations

import struct
from email.parser import HeaderParser
from typing import Any

import numpy as np

RATE, SILENCE_PEAK, WORD_SECONDS = 16000, 300, 0.25
# Letter -> (IPA, ARPAbet with stress): the fake's grapheme-to-phoneme stand-in.
SOUNDS = """æ/AE1 b/B k/K d/D ɛ/EH1 f/F ɡ/G h/HH ɪ/IH1 dʒ/JH k/K l/L m/M n/N ɑ/AA1 p/P k/K ɹ/R s/S t/T ʌ/AH0 v/V
w/W ks/K-S j/Y z/Z"""  # noqa: RUF001 - IPA on purpose
LETTERS = {
    letter: (ipa, arpabet.replace("-", " "))
    for letter, (ipa, _, arpabet) in zip(
        "abcdefghijklmnopqrstuvwxyz", (s.partition("/") for s in SOUNDS.split()), strict=True
    )
}


def parse_wav(data: bytes) -> tuple[bytes, int, int, int] | str:
    """(pcm, tag, channels, rate) of a standalone PCM16 WAV file, or what is wrong with it."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return "frame is not a WAV file (no RIFF/WAVE header)"
    if int.from_bytes(data[4:8], "little") != len(data) - 8:
        return "RIFF size does not match the file (a standalone WAV needs exact sizes)"
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if cid == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", data, pos + 8)
        elif cid == b"data":
            if fmt is None:
                return "data chunk before fmt chunk"
            if pos + 8 + size != len(data):
                return "data size does not match the file"
            return data[pos + 8 :], fmt[0], fmt[1], fmt[2]
        pos += 8 + size + (size & 1)
    return "WAV without a data chunk"


def check_audio(data: bytes) -> tuple[bytes, str]:
    """§4a step 4 / §4c: 16 kHz mono 16-bit PCM WAV. Returns (pcm, problem)."""
    parsed = parse_wav(data)
    if isinstance(parsed, str):
        return b"", parsed
    pcm, tag, channels, rate = parsed
    if (tag, channels, rate) != (1, 1, RATE) or len(pcm) % 2:
        return pcm, f"WAV is not 16 kHz mono 16-bit PCM (tag {tag}, {channels} ch, {rate} Hz)"
    return pcm, ""


def is_speech(pcm: bytes) -> bool:
    return bool(pcm) and int(np.abs(np.frombuffer(pcm, "<i2").astype(np.int32)).max()) >= SILENCE_PEAK


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]] | str:
    """multipart/form-data, split exactly on its boundary: (fields, files by name), or what is wrong."""
    header = HeaderParser().parsestr(f"Content-Type: {content_type}\r\n\r\n")
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        return "the body must be multipart/form-data with a boundary"
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    parts = body.split(b"--" + boundary.encode())
    if len(parts) < 3 or not parts[-1].startswith(b"--"):
        return "malformed multipart body (no closing boundary)"
    for part in parts[1:-1]:
        head, separator, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator or not content.endswith(b"\r\n"):
            return "malformed multipart part"
        headers = HeaderParser().parsestr(head.decode("utf-8", "replace") + "\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            return "a multipart part without a name"
        filename = headers.get_filename()
        if filename is None:
            fields[name] = content[:-2].decode("utf-8", "replace")
        else:
            files[name] = (filename, headers.get_content_type(), content[:-2])
    return fields, files


# --- results (§4d) ---------------------------------------------------------------------------


def band(score: float | None, decisions: tuple[str, str, str]) -> str | None:
    if score is None:
        return None
    return decisions[0] if score >= 80 else decisions[1] if score >= 65 else decisions[2]


def word_result(text: str, position: int, score: float | None, decisions, premium: bool) -> dict[str, Any]:
    phonemes, index = [], 0
    while index < len(text):
        end = index
        while end + 1 < len(text) and text[end + 1].lower() == text[index].lower():
            end += 1  # a double letter is one sound
        ipa, arpabet = LETTERS.get(text[index].lower(), ("", ""))
        if ipa:
            p_score = None if score is None else float(max(0, min(100, score - 6 + (index * 11) % 15)))
            phoneme = {"text": text[index : end + 1], "trans": ipa, "trans_arpabet": arpabet,
                       "start_index": position + index, "end_index": position + end,
                       "nativeness_score": p_score, "decision": band(p_score, decisions)}  # fmt: skip
            if premium:
                phoneme["feedback"] = [{"text": f"Say /{ipa}/ clearly."}]
            phonemes.append(phoneme)
        index = end + 1
    return {"text": text, "start_index": position, "end_index": position + len(text) - 1,
            "decision": band(score, decisions), "nativeness_score": score, "phonemes": phonemes}  # fmt: skip


def scripted_result(
    sentence: str, premium: bool, speech_seconds: float, seconds: float, first_is_silence: bool, decisions, v3: bool
) -> dict[str, Any]:
    heard = int(speech_seconds / WORD_SECONDS + 1e-6)
    words, position = [], 0
    if not sentence.split():
        raise ValueError("a scripted result needs a sentence")
    for number, text in enumerate(sentence.split()):
        position = sentence.index(text, position)
        score = float(55 + (sum(map(ord, text)) * 7 + number * 13) % 45) if number < heard else None
        words.append(word_result(text, position, score, decisions, premium))
        position += len(text)
    scored = [w["nativeness_score"] for w in words if w["nativeness_score"] is not None]
    overall = round(sum(scored) / len(scored), 1) if scored else 0.0
    utterance = {
        "initial_silence": first_is_silence, "sentence": sentence, "sentence_id": 0, "total_time": round(seconds, 3),
        "has_speech": bool(scored), "attempt_type": "RELEVANT" if scored else "UNSPOKEN", "snr": 25.1,
        "decision": band(overall, decisions), "nativeness_score": overall, "nativeness_score_partial": overall,
        "ipa": " ".join("".join(p["trans"] for p in w["phonemes"]) for w in words),
        "intonation_score": round(overall * 0.9, 1), "fluency_score": int(overall * 0.95),
        "speed_metrics": {"words_per_minute": round(len(scored) * 60 / max(seconds, 1e-6), 1)},
        "pronunciation_rate_metrics": {"correct_words_ratio": round(sum(x >= 80 for x in scored) / len(words), 3)},
        "words": words,
    }  # fmt: skip
    if v3:
        utterance |= {"pronunciation_score": overall, "recording_quality": "good"}
    return {"api_version": "fake-2", "total_time": round(seconds, 3), "utterance": [utterance]}


def unscripted_result(script: tuple[str, ...], speech_blocks: int, seconds: float, decisions) -> dict[str, Any]:
    words = [script[i % len(script)] for i in range(speech_blocks)]
    transcript = " ".join(words)
    score = float(50 + (len(transcript) * 7) % 45) if words else None
    long_enough = seconds > 20  # §4c: grammar and vocabulary need more than about 20 s
    elsa: dict[str, Any] = {}
    for name, offset in (("eps", 0), ("pronunciation", 0), ("intonation", -5), ("fluency", -3)):
        value = None if score is None else score + offset
        elsa |= {f"{name}_score": value, f"{name}_decision": band(value, decisions)}
    elsa |= {"grammar_score": score if long_enough else None, "vocabulary_score": score if long_enough else None}
    return {
        "recording_quality": "ok", "assessment_quality": "ok", "transcript": transcript,
        "speakers": [{
            "speaker_id": 0, "total_time": round(seconds, 3),
            "metrics": {
                "general_scores": {"elsa": elsa, "cefr": {"overall_cefr": "B2", "pronunciation_cefr": "B1"},
                                   "other_scores": {"ielts_score": None, "toefl_score": None}},
                "other_metrics": {"fluency": {"pausing_score": 70, "words_per_minute": len(words) * 120}},
            },
            "utterances": [{"utterance_id": 0, "text": transcript, "result": {"nativeness_score": score}}],
            "feedbacks": {"pronunciation": {"top_errors": [
                {"phoneme": "th", "errors": [{"error_phoneme": "t", "type": "substitution", "count": 1}]}]}},
        }],
    }  # fmt: skip
