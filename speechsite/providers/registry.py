"""Provider names, what each can do, and how to start a session with one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings

from speechsite.providers.base import ProviderError, ProviderSession, SessionConfig
from speechsite.providers.remote import Credential, RetryPolicy


@dataclass(frozen=True)
class Capabilities:
    label: str
    languages: tuple[str, ...]
    sample_rates: tuple[int, ...]  # what the vendor takes natively; other client rates are resampled
    vad: bool
    manual_commit: bool
    timestamps: bool  # word timings (segment times are always given)
    assess: bool = False
    unscripted_assess: bool = False  # can score free speech, with no expected text
    needs_key: bool = True


# Scribe v2's documented languages are many more; these are the ones a school here is likely to teach.
ELEVENLABS_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl", "pl", "id", "ja", "ko", "zh", "hi", "ar", "ru", "tr")

PROVIDERS: dict[str, Capabilities] = {
    "local": Capabilities(
        label="Embedded engine (offline)",
        languages=("en",),
        sample_rates=(16000,),
        vad=True,
        manual_commit=True,
        timestamps=True,
        assess=True,
        needs_key=False,
    ),
    "elevenlabs": Capabilities(
        label="ElevenLabs Scribe v2 Realtime",
        languages=ELEVENLABS_LANGUAGES,
        sample_rates=(8000, 16000, 22050, 24000, 44100, 48000),
        vad=True,
        manual_commit=True,
        timestamps=True,
    ),
    "openmind": Capabilities(
        label="OpenMind ASR",
        languages=ELEVENLABS_LANGUAGES,  # an ElevenLabs proxy
        sample_rates=(8000, 16000, 22050, 44100),
        vad=True,
        manual_commit=False,  # no commit message exists: the proxy segments on its own
        timestamps=False,
    ),
    "prosa": Capabilities(
        label="Prosa STT (Indonesian)",
        languages=("id",),  # stt-general-online, the one documented streaming model
        sample_rates=(8000, 16000, 22050, 24000, 44100, 48000),
        vad=True,
        manual_commit=False,
        timestamps=False,
    ),
    "elsa": Capabilities(
        label="ELSA Speak (pronunciation)",
        languages=("en",),
        sample_rates=(16000,),  # ELSA takes 16 kHz mono 16-bit WAV; other client rates are resampled
        vad=True,  # ELSA's own endpoint (stopped_listening) in scripted streams
        manual_commit=False,
        timestamps=False,  # word positions are character indices, not times
        assess=True,
        unscripted_assess=True,  # score_audio_plus scores free speech
    ),
}

# Named in the contract.
KNOWN_PROVIDERS = ("local", "elevenlabs", "openmind", "prosa", "elsa")
SESSION_CLASSES = {
    "local": "speechsite.providers.local:LocalSession",
    "elevenlabs": "speechsite.providers.elevenlabs:ElevenLabsSession",
    "openmind": "speechsite.providers.openmind:OpenMindSession",
    "prosa": "speechsite.providers.prosa:ProsaSession",
    "elsa": "speechsite.providers.elsa:ElsaSession",
}


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


def session_class(name: str) -> type[ProviderSession]:
    module, _, attribute = SESSION_CLASSES[name].partition(":")
    return getattr(import_module(module), attribute)


def create_session(name: str, config: SessionConfig, credentials: Sequence[Credential] = ()) -> ProviderSession:
    caps = capabilities(name)
    cls = session_class(name)
    if not caps.needs_key:
        return cls(config)
    options = dict(settings.PROVIDER_OPTIONS.get(name, {}))
    retry = RetryPolicy(tries=settings.PROVIDER_RETRY_TRIES, first_delay=settings.PROVIDER_RETRY_FIRST_DELAY)
    return cls(config, credentials, settings.PROVIDER_URLS[name], retry=retry, **options)
