"""The embedded offline engine: pocketsphinx with the en-US model from its wheel."""

from __future__ import annotations

from speechsite.providers.local.session import LocalSession

__all__ = ["LocalSession"]
