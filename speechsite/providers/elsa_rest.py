"""ELSA single-file scoring over REST (shared/PROTOCOLS.md section 4c), and result-link fetching.

    events = await score_file(wav_bytes, "attempt.wav", "pizza party", credentials, "https://api.elsanow.io")

Scripted (an expected text) posts `sentence`, `api_plan` and `audio_file` to /api/v2/score_audio;
unscripted posts `api_plan`, `return_json=true` and `audio_file` to /api/v1/score_audio_plus.
Refused keys (401/403/402) fail over to the next; 5xx, 429 and connection errors are retried
with backoff. Secrets never reach a message or a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urljoin, urlsplit

import httpx

from speechsite.providers.base import Event, KeyReport, ProviderError
from speechsite.providers.elsa_results import STATUS_ERRORS, assessment_from, inline_result, status_error
from speechsite.providers.remote import Credential, RetryPolicy, redact

log = logging.getLogger(__name__)

SCRIPTED_PATH = "/api/v2/score_audio"
UNSCRIPTED_PATH = "/api/v1/score_audio_plus"
API_PLANS = ("standard", "premium")
SCHEME = "ELSA"
DEFAULT_TIMEOUT = 60.0
KEY_REFUSALS = {
    401: ("provider_auth_failed", "ELSA rejected the key"),
    403: ("provider_auth_failed", "ELSA rejected the key"),
    402: ("provider_quota_exceeded", "ELSA says the quota is used up"),
}
MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg", "webm": "audio/webm"}
DETAIL_CHARS = 200  # of an error body, in a message


class ScoringFailed(ProviderError):
    """Scoring failed; `reports` says which keys were tried (refused ones included), for bookkeeping."""

    def __init__(self, code: str, message: str, reports: Sequence[KeyReport] = ()) -> None:
        super().__init__(code, message)
        self.reports = list(reports)


def authorization(secret: str) -> dict[str, str]:
    return {"Authorization": f"{SCHEME} {secret}"}


def check_plan(api_plan: str) -> None:
    if api_plan not in API_PLANS:
        raise ProviderError("invalid_option", f"Unknown ELSA api_plan {api_plan!r}; use standard or premium.")


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def detail_of(response: httpx.Response, secrets: Sequence[str]) -> str:
    """ELSA's own words on an error (FastAPI-style `detail`, or `message`), redacted and short."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body = body.get("detail") or body.get("message") or body.get("error") or body
    if not isinstance(body, str):
        body = json.dumps(body)
    return redact(body.strip(), secrets)[:DETAIL_CHARS]


def transient(status: int) -> bool:
    return status == 429 or status >= 500


async def request_with_retries(
    send: Callable[[], Awaitable[httpx.Response]], retry: RetryPolicy, secrets: Sequence[str], what: str
) -> httpx.Response:
    """Call `send()` until it answers other than 5xx/429, backing off; ProviderError when it never does."""
    problem = ""
    for attempt in range(1, retry.tries + 1):
        try:
            response = await send()
        except httpx.TimeoutException:
            problem = "ELSA did not answer in time"
        except httpx.TransportError as exc:
            problem = f"ELSA could not be reached ({type(exc).__name__}: {redact(str(exc), secrets)})"
        else:
            if not transient(response.status_code):
                return response
            problem = f"ELSA answered {response.status_code}: {detail_of(response, secrets)}".rstrip(": ")
        log.warning("ELSA %s, attempt %d failed: %s", what, attempt, problem)
        if attempt < retry.tries:
            await asyncio.sleep(retry.delay(attempt))
    code = "provider_rate_limited" if problem.startswith("ELSA answered 429") else "provider_unreachable"
    raise ProviderError(code, f"ELSA {what} failed after {retry.tries} tries: {problem}.")


async def fetch_result(
    http: httpx.AsyncClient, link: str, secret: str, base_url: str, retry: RetryPolicy, secrets: Sequence[str]
) -> dict:
    """GET a `result_link`. The key goes along only to ELSA's own origin (a link elsewhere, such
    as a pre-signed storage URL, must not receive it)."""
    url = urljoin(base_url.rstrip("/") + "/", link)
    headers = authorization(secret) if same_origin(url, base_url) else {}
    response = await request_with_retries(lambda: http.get(url, headers=headers), retry, secrets, "result download")
    if response.status_code != 200:
        detail = detail_of(response, secrets)
        status = response.status_code
        raise ProviderError("elsa_no_result", f"ELSA's result could not be downloaded ({status}): {detail}")
    try:
        result = response.json()
    except ValueError:
        raise ProviderError("elsa_no_result", "ELSA's result link did not hold JSON.") from None
    if not isinstance(result, dict):
        raise ProviderError("elsa_no_result", "ELSA's result link did not hold a JSON object.")
    return result


async def result_of(
    body: dict, http: httpx.AsyncClient, secret: str, base_url: str, retry: RetryPolicy, secrets: Sequence[str]
) -> dict:
    """The result object a response stands for: itself, a status message's inline result, or its link."""
    status = body.get("status")
    if not isinstance(status, str):
        return body
    if status in STATUS_ERRORS:
        raise status_error(body)
    if status == "success":
        result = inline_result(body)
        if result is not None:
            return result
        link = body.get("result_link")
        if isinstance(link, str) and link:
            return await fetch_result(http, link, secret, base_url, retry, secrets)
    why = f" ({body['partial_error']})" if body.get("partial_error") else ""
    raise ProviderError("elsa_no_result", f"ELSA answered with status {status!r} but no result{why}.")


def media_type(filename: str) -> str:
    return MEDIA_TYPES.get(filename.rsplit(".", 1)[-1].lower(), "application/octet-stream")


async def score_file(
    audio: bytes,
    filename: str,
    expected_text: str,
    credentials: Sequence[Credential],
    base_url: str,
    api_plan: str = "standard",
    timeout: float = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
) -> list[Event]:
    """Score one recording: KeyReports (one per key tried) then the Assessment; ScoringFailed otherwise."""
    if not credentials:
        raise ScoringFailed("missing_key", "No active ELSA key is configured.")
    check_plan(api_plan)
    retry = retry or RetryPolicy()
    secrets = [credential.secret for credential in credentials]
    sentence = expected_text.strip()
    if sentence:
        url, fields = base_url.rstrip("/") + SCRIPTED_PATH, {"sentence": sentence, "api_plan": api_plan}
    else:
        url, fields = base_url.rstrip("/") + UNSCRIPTED_PATH, {"api_plan": api_plan, "return_json": "true"}
    files = {"audio_file": (filename or "audio.wav", audio, media_type(filename or "audio.wav"))}
    reports: list[KeyReport] = []
    refusal = KEY_REFUSALS[401]
    async with httpx.AsyncClient(timeout=timeout) as http:
        for credential in credentials:

            def post(secret: str = credential.secret):
                return http.post(url, data=fields, files=files, headers=authorization(secret))

            try:
                response = await request_with_retries(post, retry, secrets, "scoring")
                if response.status_code in KEY_REFUSALS:
                    refusal = KEY_REFUSALS[response.status_code]
                    reason = f"{refusal[1]} ({response.status_code}): {detail_of(response, secrets)}".rstrip(": ")
                    log.warning("ELSA refused a key: %s", reason)
                    reports.append(KeyReport(credential.ref, refused=reason))
                    continue
                reports.append(KeyReport(credential.ref))
                body = answer_of(response, secrets)
                result = await result_of(body, http, credential.secret, base_url, retry, secrets)
            except ProviderError as error:
                raise ScoringFailed(error.code, redact(error.message, secrets), reports) from None
            return [*reports, assessment_from(result, sentence)]
    raise ScoringFailed(refusal[0], f"{refusal[1]}. No other ELSA key is left to try.", reports)


def answer_of(response: httpx.Response, secrets: Sequence[str]) -> dict:
    """A 200's JSON object; any other status as our error with ELSA's detail."""
    status = response.status_code
    if status == 404:
        raise ProviderError("provider_not_found", f"ELSA answered 404 Not Found: {detail_of(response, secrets)}")
    if not 200 <= status < 300:
        detail = detail_of(response, secrets)
        raise ProviderError("provider_rejected_request", f"ELSA refused the request ({status}): {detail}")
    try:
        body = response.json()
    except ValueError:
        raise ProviderError("provider_error", "ELSA answered with something that is not JSON.") from None
    if not isinstance(body, dict):
        raise ProviderError("provider_error", "ELSA answered with JSON that is not an object.")
    return body
