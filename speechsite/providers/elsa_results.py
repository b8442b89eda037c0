"""ELSA's result JSON (shared/PROTOCOLS.md section 4d) in our Assessment schema.

One mapping serves REST and streaming, scripted and unscripted. Choices where 4d is silent:

- Scripted: `overall` is ELSA's headline score (v3 `pronunciation_score`, else `nativeness_score`),
  `accuracy` is `nativeness_score` (else `pronunciation_score`), `fluency` is `fluency_score`.
  Unscripted: `overall` is `eps_score`, `accuracy` is `pronunciation_score`, `fluency` is `fluency_score`.
- `completeness`: ELSA reports none. An `UNSPOKEN` attempt scores 0; otherwise it is the share of
  expected words that carry a score (a word ELSA did not score is taken as not heard).
- `start_index`/`end_index` are character positions in the sentence (4d: "pizza" is 0..4 and its
  first phoneme "p" is 0..0), not times, so word and phoneme times stay None.
- A phoneme's `text` is the letters it spells (it has character indices); `trans` is its IPA and
  `trans_arpabet` its ARPAbet. `symbol` is the ARPAbet without stress digits.
- `decision` strings are undocumented: kept exactly as given, never interpreted.
"""

from __future__ import annotations

import re
from typing import Any

from speechsite.providers.base import Assessment, PhonemeScore, ProviderError, WordScore

# Terminal failure statuses of the unscripted API (4b), with what we tell the learner.
STATUS_ERRORS: dict[str, tuple[str, str]] = {
    "failed": ("elsa_failed", "ELSA could not score the recording"),
    "bad_quality": ("elsa_bad_quality", "ELSA could not assess the recording because of its audio quality"),
}
# Keys that only a result object has (a status message never does).
RESULT_KEYS = ("utterance", "speakers", "transcript", "recording_quality")
UNSPOKEN = "UNSPOKEN"
_STRESS = re.compile(r"[0-2]")
# For a phoneme without `trans_arpabet`: its IPA in ARPAbet (General American, stress dropped).
IPA_TO_ARPABET = dict(
    pair.split("=")
    for pair in """
    ɑ=AA ɑː=AA æ=AE ʌ=AH ə=AH ɔ=AO ɔː=AO aʊ=AW aɪ=AY ɛ=EH e=EH ɝ=ER ɚ=ER ɜː=ER eɪ=EY ɪ=IH i=IY iː=IY
    oʊ=OW əʊ=OW ɔɪ=OY ʊ=UH u=UW uː=UW b=B tʃ=CH t͡ʃ=CH d=D ð=DH f=F ɡ=G g=G h=HH dʒ=JH d͡ʒ=JH k=K l=L
    m=M n=N ŋ=NG p=P ɹ=R r=R s=S ʃ=SH t=T θ=TH v=V w=W j=Y z=Z ʒ=ZH
    """.split()  # noqa: RUF001, SIM905 - IPA letters, on purpose; a table reads better than 52 literals
)


def number(value: Any) -> float | None:
    """A score as a float; None for null, booleans and anything that is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def first_number(source: dict, *keys: str) -> float | None:
    for key in keys:
        value = number(source.get(key))
        if value is not None:
            return value
    return None


def obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def objs(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def compact(values: dict[str, Any]) -> dict[str, Any]:
    """Drop what ELSA left out (None, empty), so details say only what was reported."""
    return {key: value for key, value in values.items() if value not in (None, "", {}, [])}


# --- status messages -------------------------------------------------------------------------


def inline_result(message: dict) -> dict | None:
    """The result a status message carries: under `result` (our fake's choice), or the message itself."""
    nested = message.get("result")
    if isinstance(nested, dict) and nested:
        return nested
    if any(key in message for key in RESULT_KEYS):
        return message
    return None


def status_error(message: dict) -> ProviderError:
    """A `failed` / `bad_quality` message as our error, ELSA's reason shown as given."""
    code, what = STATUS_ERRORS[message["status"]]
    reason = text(message.get("reason")) or text(message.get("message"))
    return ProviderError(code, f"{what}: {reason}" if reason else f"{what}.")


# --- words and phonemes ----------------------------------------------------------------------


def arpabet(raw: dict, ipa: str) -> str:
    given = text(raw.get("trans_arpabet")).strip()
    if given:
        return _STRESS.sub("", given).upper()
    return IPA_TO_ARPABET.get(ipa, "")


def phoneme_score(raw: dict) -> PhonemeScore:
    ipa = text(raw.get("trans")) or text(raw.get("ipa")) or text(raw.get("text"))
    return PhonemeScore(
        symbol=arpabet(raw, ipa),
        score=first_number(raw, "nativeness_score", "pronunciation_score", "score"),
        ipa=ipa,
        decision=text(raw.get("decision")),
    )


def word_score(raw: dict, unspoken: bool) -> WordScore:
    score = first_number(raw, "nativeness_score", "pronunciation_score", "score")
    return WordScore(
        text=text(raw.get("text")) or text(raw.get("word")),
        score=score,
        phonemes=tuple(phoneme_score(p) for p in objs(raw.get("phonemes"))),
        decision=text(raw.get("decision")),
        found=score is not None and not unspoken,
    )


def completeness(words: tuple[WordScore, ...], unspoken: bool) -> float | None:
    if unspoken:
        return 0.0
    if not words:
        return None
    return round(100.0 * sum(word.found for word in words) / len(words), 1)


# --- scripted ---------------------------------------------------------------------------------


def scripted(result: dict, expected_text: str) -> Assessment:
    utterances = objs(result.get("utterance"))
    utterance = utterances[0] if utterances else {}
    attempt_type = text(utterance.get("attempt_type"))
    unspoken = attempt_type.upper() == UNSPOKEN or (not attempt_type and utterance.get("has_speech") is False)
    words = tuple(word_score(w, unspoken) for w in objs(utterance.get("words")))
    details = compact(
        {
            "kind": "scripted",
            "decision": text(utterance.get("decision")),
            "intonation": number(utterance.get("intonation_score")),
            "attempt_type": attempt_type,
            "recording_quality": result.get("recording_quality") or utterance.get("recording_quality"),
            "partial_error": result.get("partial_error") or utterance.get("partial_error"),
            "speed_metrics": obj(utterance.get("speed_metrics")),
            "pronunciation_rate_metrics": obj(utterance.get("pronunciation_rate_metrics")),
            "nativeness_score_partial": number(utterance.get("nativeness_score_partial")),
            "pausing": obj(utterance.get("pausing")),
            "ipa": text(utterance.get("ipa")),
            "snr": number(utterance.get("snr")),
            "total_time": number(utterance.get("total_time")) or number(result.get("total_time")),
            "initial_silence": utterance.get("initial_silence"),
            "api_version": result.get("api_version"),
            "utterances": len(utterances) if len(utterances) > 1 else None,
        }
    )
    return Assessment(
        overall=first_number(utterance, "pronunciation_score", "nativeness_score"),
        accuracy=first_number(utterance, "nativeness_score", "pronunciation_score"),
        fluency=number(utterance.get("fluency_score")),
        completeness=completeness(words, unspoken),
        words=words,
        expected_text=expected_text or text(utterance.get("sentence")),
        details=details,
        provider_raw=result,
    )


# --- unscripted -------------------------------------------------------------------------------


def unscripted(result: dict) -> Assessment:
    speakers = objs(result.get("speakers"))
    speaker = speakers[0] if speakers else {}
    metrics = obj(speaker.get("metrics"))
    general = obj(metrics.get("general_scores"))
    elsa = obj(general.get("elsa"))
    utterances = objs(speaker.get("utterances"))
    words = tuple(
        word_score(w, False) for utterance in utterances for w in objs(obj(utterance.get("result")).get("words"))
    )
    transcript = text(result.get("transcript")) or " ".join(text(u.get("text")) for u in utterances).strip()
    details = compact(
        {
            "kind": "unscripted",
            "intonation": number(elsa.get("intonation_score")),
            "scores": compact({k: v for k, v in elsa.items() if k.endswith("_score")}),
            "decisions": compact({k: v for k, v in elsa.items() if k.endswith("_decision")}),
            "cefr": obj(general.get("cefr")),
            "other_scores": compact(obj(general.get("other_scores"))),
            "other_metrics": obj(metrics.get("other_metrics")),
            "speed_metrics": obj(obj(obj(metrics.get("other_metrics")).get("fluency"))),
            "top_errors": objs(obj(obj(speaker.get("feedbacks")).get("pronunciation")).get("top_errors")),
            "recording_quality": result.get("recording_quality"),
            "assessment_quality": result.get("assessment_quality"),
            "partial_error": result.get("partial_error"),
            "transcript": transcript,
            "total_time": number(speaker.get("total_time")),
            "speakers": len(speakers) if len(speakers) > 1 else None,
        }
    )
    return Assessment(
        overall=first_number(elsa, "eps_score", "pronunciation_score"),
        accuracy=number(elsa.get("pronunciation_score")),
        fluency=number(elsa.get("fluency_score")),
        completeness=completeness(words, False),
        words=words,
        transcript=transcript,
        details=details,
        provider_raw=result,
    )


def assessment_from(result: dict, expected_text: str = "", extra: dict | None = None) -> Assessment:
    """Map one ELSA result object; `extra` (e.g. stream statuses, partial_error) joins `details`."""
    result = obj(result)
    if "utterance" in result or (expected_text and "speakers" not in result):
        assessment = scripted(result, expected_text)
    else:
        assessment = unscripted(result)
    assessment.details.update(compact(extra or {}))
    return assessment
