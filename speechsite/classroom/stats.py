"""Numbers for the review pages: class lists, a class's roster, and a student's weakest sounds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Avg, Count, Max, QuerySet

from speechsite.accounts.models import Classroom, User
from speechsite.speech.models import Assessment

# A sound scored once or twice says more about one bad take than about the learner.
MIN_PHONEME_COUNT = 3
WEAKEST_PHONEME_LIMIT = 8


def classrooms_to_review(user) -> QuerySet[Classroom]:
    """The classes on a reviewer's list: a teacher's own current ones, every class for an admin."""
    classrooms = Classroom.visible_to(user)
    if not user.is_school_admin:
        classrooms = classrooms.filter(archived=False)
    return classrooms.annotate(student_count=Count("students", distinct=True)).order_by("archived", "name", "id")


def roster(classroom: Classroom) -> QuerySet[User]:
    """The class's students, each with attempt_count, average_overall (None if never scored) and last_activity."""
    return classroom.students.annotate(
        attempt_count=Count("recordings", distinct=True),
        average_overall=Avg("recordings__assessment__overall"),
        last_activity=Max("recordings__started_at"),
    ).order_by("last_name", "first_name", "username")


@dataclass(frozen=True)
class PhonemeStat:
    symbol: str
    ipa: str
    mean: float
    count: int


def _number(value) -> float | None:
    """A score as a float, or None for anything a provider left empty or malformed."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def phoneme_scores(words) -> Iterable[tuple[str, str, float]]:
    """(symbol, ipa, score) for every scored phoneme in one assessment's words JSON, skipping anything malformed."""
    if not isinstance(words, list):
        return
    for word in words:
        phonemes = word.get("phonemes") if isinstance(word, dict) else None
        if not isinstance(phonemes, list):
            continue
        for phoneme in phonemes:
            if not isinstance(phoneme, dict) or not phoneme.get("symbol"):
                continue
            value = _number(phoneme.get("score"))
            if value is not None:
                yield str(phoneme["symbol"]), str(phoneme.get("ipa") or ""), value


def weakest_phonemes(
    assessments: Iterable[Assessment],
    *,
    limit: int = WEAKEST_PHONEME_LIMIT,
    min_count: int = MIN_PHONEME_COUNT,
) -> list[PhonemeStat]:
    """Each sound's mean score over the assessments, lowest first; only sounds scored at least `min_count` times."""
    totals: dict[str, float] = {}
    counts: Counter[str] = Counter()
    ipas: dict[str, Counter[str]] = {}
    for assessment in assessments:
        for symbol, ipa, value in phoneme_scores(assessment.words):
            totals[symbol] = totals.get(symbol, 0.0) + value
            counts[symbol] += 1
            if ipa:
                ipas.setdefault(symbol, Counter())[ipa] += 1
    stats = [
        PhonemeStat(
            symbol=symbol,
            # Providers agree on a symbol's IPA almost always; the commonest spelling wins if not.
            ipa=ipas[symbol].most_common(1)[0][0] if symbol in ipas else "",
            mean=totals[symbol] / counts[symbol],
            count=counts[symbol],
        )
        for symbol in totals
        if counts[symbol] >= min_count
    ]
    stats.sort(key=lambda stat: (stat.mean, -stat.count, stat.symbol))
    return stats[:limit]


def assessments_of(recordings: QuerySet) -> QuerySet[Assessment]:
    """The assessments of `recordings`, oldest first (without the provider's raw JSON, which can be large)."""
    return (
        Assessment.objects.filter(recording__in=recordings.values("pk"))
        .select_related("recording")
        .defer("provider_raw", "details")
        .order_by("recording__started_at")
    )
