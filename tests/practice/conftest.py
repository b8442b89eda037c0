"""Practice fixtures: alice signed in on an async client (uploads are async views)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient


@pytest.fixture
async def alice(student):
    client = AsyncClient()
    await sync_to_async(client.force_login)(student)
    return client
