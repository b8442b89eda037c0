"""Uploads count against the same quota as live sessions, and are charged to the ledger."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from speechsite.accounts import quota
from speechsite.accounts.models import Usage
from speechsite.speech import uploads
from speechsite.speech.models import Recording
from tests.fakes.elsa import FakeElsa
from tests.practice.test_uploads import FOX_TEXT, post
from tests.speech.test_consumer_providers import SECRET, add_key, point_at
from tests.support.audio_files import FOX, encode

pytestmark = pytest.mark.django_db(transaction=True)

async def limit(user, **limits) -> None:
    for name, value in limits.items():
        setattr(user, name, value)
    await user.asave()


async def test_a_file_longer_than_the_time_left_is_refused_before_processing(alice, student, tmp_path):
    await limit(student, daily_seconds=2)
    response = await post(alice, encode(FOX, tmp_path / "fox.wav"))
    assert response.status_code == 429
    assert "you have 2 seconds of speech left" in response.content.decode()
    assert await Recording.objects.filter(user=student).acount() == 0


async def test_an_upload_is_refused_when_the_quota_is_spent(alice, student, tmp_path):
    await limit(student, daily_seconds=60)
    await sync_to_async(quota.reserve)(student, 60)
    response = await post(alice, encode(FOX, tmp_path / "fox.flac"))
    assert response.status_code == 429 and "all 60 seconds" in response.content.decode()


async def test_an_upload_within_the_quota_is_charged_for_its_length(alice, student, tmp_path):
    response = await post(alice, encode(FOX, tmp_path / "fox.wav"))
    await uploads.wait(response.context["recording"].pk)
    usage = await Usage.objects.select_related("recording").aget(user=student)
    assert usage.provider == "local" and usage.seconds == pytest.approx(usage.recording.duration, abs=0.001)
    assert usage.seconds > 2.5


async def test_an_elsa_upload_is_charged_with_the_key_that_scored_it(alice, student, tmp_path, settings):
    async with FakeElsa(keys=(SECRET,)) as fake:
        point_at(settings, "elsa", fake)
        key = await add_key("elsa")
        response = await post(alice, encode(FOX, tmp_path / "fox.wav"), provider="elsa", expected_text=FOX_TEXT)
        await uploads.wait(response.context["recording"].pk)
    usage = await Usage.objects.select_related("recording").aget(user=student)
    assert (usage.provider, usage.key_id, usage.key_label) == ("elsa", key.pk, "school")
    assert usage.seconds == pytest.approx(usage.recording.duration, abs=0.001) and usage.seconds > 2.5


async def test_an_elsa_upload_beyond_the_quota_is_not_sent(alice, student, tmp_path, settings):
    """The container of a browser recording may not state its length: the meter still stops it."""
    async with FakeElsa(keys=(SECRET,)) as fake:
        point_at(settings, "elsa", fake)
        await add_key("elsa")
        await limit(student, daily_seconds=2)
        recording = await sync_to_async(Recording.objects.create)(
            user=student, mode="assess", provider="elsa", status=Recording.Status.PROCESSING
        )
        plan = uploads.plan_upload("elsa", FOX_TEXT)
        path = encode(FOX, tmp_path / "fox.wav")
        await uploads.process(student, recording, plan, path)
    assert not [request for request in fake.http if request.method == "POST"]
    await recording.arefresh_from_db()
    assert recording.status == Recording.Status.FAILED and recording.error_code == "quota_exceeded"
    assert (await Usage.objects.aget(user=student)).seconds == 0
