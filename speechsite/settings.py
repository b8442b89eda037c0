"""Settings for speechsite: one file, driven by the environment, SQLite and in-memory by default."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not os.environ.get("SPEECHSITE_ALLOW_DEV_KEY"):
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "speechsite.accounts",
    "speechsite.providers",
    "speechsite.speech",
    "speechsite.practice",
    "speechsite.classroom",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "speechsite.urls"
ASGI_APPLICATION = "speechsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Take SQLite's write lock when a transaction begins: a deferred transaction that reads and
    # then writes (a quota check) fails at once with "database is locked" instead of waiting.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "speech:live"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# daphne does not serve static files; DEBUG (or this flag) wraps the app in Django's handler.
SERVE_STATIC = env_bool("SERVE_STATIC", DEBUG)

MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# Provider base URLs (scheme + host + port); tests point them at local fake servers.
PROVIDER_URLS = {
    "elevenlabs": os.environ.get("ELEVENLABS_API_URL", "https://api.elevenlabs.io"),
    "openmind": os.environ.get("OPENMIND_API_URL", "https://api.openmind.com"),
    "prosa": os.environ.get("PROSA_API_URL", "https://s-api.prosa.ai"),
    "elsa": os.environ.get("ELSA_API_URL", "https://api.elsanow.io"),
}

# Reconnecting to a vendor after a drop: this many tries, backing off from this delay (doubling).
PROVIDER_RETRY_TRIES = int(os.environ.get("PROVIDER_RETRY_TRIES", "4"))
PROVIDER_RETRY_FIRST_DELAY = float(os.environ.get("PROVIDER_RETRY_FIRST_DELAY", "0.25"))
# Per-provider adapter options (keyword arguments of the session class).
PROVIDER_OPTIONS: dict[str, dict] = {
    # pcm_16000 keeps the browser's audio as it is; ulaw_8000 halves the upstream bandwidth.
    "elevenlabs": {
        "audio_format": os.environ.get("ELEVENLABS_AUDIO_FORMAT", "pcm_16000"),
        # VAD tuning and logging, as ElevenLabs' query parameters; ranges are checked per session.
        "query": {
            name: os.environ[env]
            for name, env in {
                "vad_threshold": "ELEVENLABS_VAD_THRESHOLD",
                "min_speech_duration_ms": "ELEVENLABS_MIN_SPEECH_MS",
                "min_silence_duration_ms": "ELEVENLABS_MIN_SILENCE_MS",
            }.items()
            if os.environ.get(env)
        }
        | (
            {"enable_logging": env_bool("ELEVENLABS_ENABLE_LOGGING", True)}
            if "ELEVENLABS_ENABLE_LOGGING" in os.environ
            else {}
        ),
    },
    "prosa": {"auth": os.environ.get("PROSA_AUTH", "header")},
    "elsa": {"api_plan": os.environ.get("ELSA_API_PLAN", "standard")},
}

# Fernet keys for provider secrets at rest, newest first (empty: one derived from SECRET_KEY).
PROVIDER_KEY_ENCRYPTION_KEYS = env_list("PROVIDER_KEY_ENCRYPTION_KEYS", "")

# The embedded engine: worker processes (pocketsphinx holds the GIL), and its endpointing.
LOCAL_ENGINE_WORKERS = int(os.environ.get("LOCAL_ENGINE_WORKERS", "0")) or (os.cpu_count() or 1)
# Decoders each worker keeps loaded ahead of new sessions (~90 MB each; loading one takes ~0.2 s).
LOCAL_ENGINE_SPARE_DECODERS = int(os.environ.get("LOCAL_ENGINE_SPARE_DECODERS", "6"))
# Uploaded recordings: the largest file, and the longest audio to transcribe or to score.
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(25 * 1024 * 1024)))
UPLOAD_MAX_SECONDS = float(os.environ.get("UPLOAD_MAX_SECONDS", "300"))
UPLOAD_MAX_SECONDS_SCORED = float(os.environ.get("UPLOAD_MAX_SECONDS_SCORED", "30"))

# Speech quotas per role until an admin edits them (Role quotas in admin); None is no limit.
QUOTA_DEFAULTS = {
    "student": {"daily_seconds": 30 * 60, "monthly_seconds": 10 * 3600, "concurrent_sessions": 2},
    "teacher": {"daily_seconds": 2 * 3600, "monthly_seconds": 40 * 3600, "concurrent_sessions": 3},
    "admin": {"daily_seconds": None, "monthly_seconds": None, "concurrent_sessions": None},
}
# A session reserves this many seconds of quota at a time (one locked database write each).
QUOTA_RESERVE_SECONDS = float(os.environ.get("QUOTA_RESERVE_SECONDS", "5"))
# The share of a limit at which a session is warned.
QUOTA_WARN_AT = 0.9

# Pronunciation scores at or above the first number are "good", above the second "fair", else "poor".
SCORE_BANDS = (80, 60)

LOCAL_VAD_SILENCE_MS = int(os.environ.get("LOCAL_VAD_SILENCE_MS", "800"))
LOCAL_PARTIAL_INTERVAL_MS = int(os.environ.get("LOCAL_PARTIAL_INTERVAL_MS", "200"))

HISTORY_PAGE_SIZE = 20

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
