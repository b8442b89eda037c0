from __future__ import annotations

import pytest

from tests.services.conftest import unavailable


def test_a_missing_service_skips_on_a_developer_machine(monkeypatch):
    monkeypatch.delenv("SPEECHSITE_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis is down"):
        unavailable("Redis is down")


def test_a_missing_service_fails_in_ci(monkeypatch):
    monkeypatch.setenv("SPEECHSITE_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="must not skip"):
        unavailable("Redis is down")
