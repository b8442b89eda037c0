"""PostgreSQL and Redis for the tests about concurrency and scale.

On a machine without them these tests skip with the reason; CI sets
SPEECHSITE_REQUIRE_SERVICES=1 so that a skip there becomes a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def unavailable(reason: str) -> None:
    if os.environ.get("SPEECHSITE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (SPEECHSITE_REQUIRE_SERVICES=1: this run must not skip it)")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"speechsite_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable at {REDIS_TEST_URL}: {exc}")
    return REDIS_TEST_URL
