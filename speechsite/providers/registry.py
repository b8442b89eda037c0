"""Provider names, what each can do, and how to start a session with one."""

from __future__ import annotations

from dataclasses import dataclass

from speechsite.providers.base import ProviderError, ProviderSession, SessionConfig


@dataclass(frozen=True)
class Capabilities:
    label: str
    languages: tuple[str, ...]
    sample_rates: tuple[int, ...]
    vad: bool
    manual_commit: bool
    timestamps: bool
    assess: bool = False
    needs_key: bool = True


PROVIDERS: dict[str, Capabilities] = {
    "local": Capabilities(
        label="Embedded engine (offline)",
        languages=("en",),
        sample_rates=(8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000),
        vad=True,
        manual_commit=True,
        timestamps=True,
        needs_key=False,
    ),
}

# Named in the contract; their adapters arrive with their own issues.
KNOWN_PROVIDERS = ("local", "elevenlabs", "openmind", "prosa", "elsa")


def capabilities(name: str) -> Capabilities:
    if name not in PROVIDERS:
        if name in KNOWN_PROVIDERS:
            raise ProviderError(
                "provider_unavailable", f"The provider {name!r} is not available on this server.", fatal=False
            )
        raise ProviderError(
            "unknown_provider",
            f"Unknown provider {name!r}; choose one of: {', '.join(KNOWN_PROVIDERS)}.",
            fatal=False,
        )
    return PROVIDERS[name]


def create_session(name: str, config: SessionConfig) -> ProviderSession:
    capabilities(name)
    if name == "local":
        from speechsite.providers.local import LocalSession

        return LocalSession(config)
    raise ProviderError("provider_unavailable", f"The provider {name!r} is not available.", fatal=False)
