"""What every remote adapter inherits from RemoteSession, checked once per vendor against its fake."""

from __future__ import annotations

import pytest

from speechsite.providers.base import ProviderError
from tests.fakes.base import Faults
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.elsa import FakeElsa
from tests.fakes.openmind import FakeOpenMind
from tests.fakes.prosa import FakeProsa
from tests.providers import test_elevenlabs, test_elsa, test_openmind, test_prosa
from tests.providers.remote_support import FAST_RETRY, errors, speech, stream

VENDORS = {
    "elevenlabs": (FakeElevenLabs, test_elevenlabs.session),
    "openmind": (FakeOpenMind, test_openmind.session),
    "prosa": (FakeProsa, test_prosa.session),
    "elsa": (FakeElsa, test_elsa.session),
}


@pytest.mark.parametrize("vendor", sorted(VENDORS))
async def test_it_retries_a_refused_handshake_then_reports_the_vendor_unreachable(vendor: str) -> None:
    fake_class, session = VENDORS[vendor]
    async with fake_class(faults=Faults(refuse_handshake=503)) as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake).open()
    assert raised.value.code == "provider_unreachable" and raised.value.fatal
    assert len(fake.requests) == FAST_RETRY.tries


@pytest.mark.parametrize("vendor", sorted(VENDORS))
async def test_it_gives_up_after_bounded_retries_with_a_fatal_error(vendor: str) -> None:
    fake_class, session = VENDORS[vendor]
    async with fake_class(faults=Faults(drop_after_chunks=2, drop_times=99)) as fake:
        events = await stream(session(fake), speech())
    failure = errors(events)[-1]
    assert failure.fatal and failure.code in ("provider_dropped", "provider_unreachable")
    assert fake.connections <= 1 + FAST_RETRY.tries
