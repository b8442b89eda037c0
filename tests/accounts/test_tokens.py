"""API tokens on the account page: made by their owner, shown once, stored only as a SHA-256."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from speechsite.accounts.models import ApiToken

pytestmark = pytest.mark.django_db

ACCOUNT = "/account/"
CREATE = "/account/tokens/"
HTMX = {"HTTP_HX_REQUEST": "true"}
TOKEN_PATTERN = re.compile(r"ss_[A-Za-z0-9_-]{40,}")


def revoke_url(token: ApiToken) -> str:
    return f"/account/tokens/{token.pk}/revoke/"


def created_plaintext(response) -> str:
    found = set(TOKEN_PATTERN.findall(response.content.decode()))
    assert len(found) == 1, found
    return found.pop()


def test_the_urls_are_where_the_account_page_posts():
    token = ApiToken(pk=7)
    assert reverse("accounts:token_create") == CREATE
    assert reverse("accounts:token_revoke", args=[7]) == revoke_url(token)


def test_it_creates_a_token_and_shows_its_plaintext_once(client, student):
    client.force_login(student)
    response = client.post(CREATE, {"name": "laptop script"})
    assert response.status_code == 200
    page = response.content.decode()
    plaintext = created_plaintext(response)
    assert page.count(plaintext) == 1
    assert "you will not see it again" in page
    token = ApiToken.objects.get(user=student)
    assert token.name == "laptop script"


def test_it_stores_only_the_sha256_of_the_token(client, student):
    client.force_login(student)
    plaintext = created_plaintext(client.post(CREATE, {"name": "laptop"}))
    token = ApiToken.objects.get(user=student)
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.values_list().get(pk=token.pk)]
    assert not any(plaintext in value for value in stored)
    assert plaintext.startswith(token.hint) and len(token.hint) < len(plaintext)


def test_the_plaintext_is_not_kept_in_the_session(client, student):
    client.force_login(student)
    plaintext = created_plaintext(client.post(CREATE, {"name": "laptop"}))
    for session in Session.objects.all():
        assert plaintext not in str(session.get_decoded())
        assert plaintext not in session.session_data


def test_the_response_with_the_plaintext_is_not_cached(client, student):
    client.force_login(student)
    response = client.post(CREATE, {"name": "laptop"})
    assert "no-store" in response["Cache-Control"]


def test_the_new_token_works_for_the_speech_socket(client, student):
    client.force_login(student)
    plaintext = created_plaintext(client.post(CREATE, {"name": "laptop"}))
    assert ApiToken.user_for(plaintext) == student


def test_the_page_afterwards_shows_the_name_and_hint_but_not_the_plaintext(client, student):
    client.force_login(student)
    plaintext = created_plaintext(client.post(CREATE, {"name": "laptop script"}))
    page = client.get(ACCOUNT).content.decode()
    token = ApiToken.objects.get(user=student)
    assert plaintext not in page
    assert "laptop script" in page and f"{token.hint}…" in page
    assert "you will not see it again" not in page


def test_the_page_shows_how_to_use_a_token(client, student):
    ApiToken.issue(student, "laptop")
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert "python speechclient.py --url ws://testserver/ws/speech/ --token &lt;token&gt; file.wav" in page


def test_htmx_create_returns_the_tokens_fragment_with_the_plaintext(client, student):
    client.force_login(student)
    response = client.post(CREATE, {"name": "laptop"}, **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and page.lstrip().startswith('<section class="account-section tokens" id="tokens"')
    assert created_plaintext(response)
    assert "no-store" in response["Cache-Control"]


def test_a_token_needs_a_name(client, student):
    client.force_login(student)
    response = client.post(CREATE, {"name": "   "})
    assert response.status_code == 422
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()
    assert not TOKEN_PATTERN.search(response.content.decode())


def test_a_token_name_over_100_characters_is_refused(client, student):
    client.force_login(student)
    response = client.post(CREATE, {"name": "x" * 101}, **HTMX)
    assert response.status_code == 422
    assert "100 characters or fewer" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_name_of_exactly_100_characters_is_fine(client, student):
    client.force_login(student)
    assert client.post(CREATE, {"name": "x" * 100}).status_code == 200
    assert ApiToken.objects.get(user=student).name == "x" * 100


def test_revoking_your_own_token_redirects_back_to_the_account_page(client, student):
    token, _plaintext = ApiToken.issue(student, "laptop")
    client.force_login(student)
    response = client.post(revoke_url(token))
    assert response.status_code == 302 and response["Location"] == ACCOUNT
    token.refresh_from_db()
    assert token.revoked


def test_a_revoked_token_no_longer_works(client, student):
    token, plaintext = ApiToken.issue(student, "laptop")
    client.force_login(student)
    client.post(revoke_url(token))
    assert ApiToken.user_for(plaintext) is None


def test_a_revoked_token_is_listed_under_revoked_without_a_revoke_button(client, student):
    token, _plaintext = ApiToken.issue(student, "old laptop")
    client.force_login(student)
    page = client.post(revoke_url(token), follow=True).content.decode()
    assert "is revoked" in page  # the message after the redirect
    assert "Revoked (1)" in page and "old laptop" in page
    assert revoke_url(token) not in page
    assert "You have no active tokens." in page


def test_htmx_revoke_returns_the_tokens_fragment(client, student):
    token, _plaintext = ApiToken.issue(student, "laptop")
    client.force_login(student)
    response = client.post(revoke_url(token), **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.content.decode() and "Revoked (1)" in response.content.decode()


def test_revoking_another_users_token_is_a_404(client, student, outsider):
    theirs, plaintext = ApiToken.issue(outsider, "mallory's script")
    client.force_login(student)
    assert client.post(revoke_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert not theirs.revoked
    assert ApiToken.user_for(plaintext) == outsider


def test_a_student_never_sees_another_users_tokens(client, student, outsider):
    ApiToken.issue(outsider, "mallory's script")
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert "mallory" not in page


def test_revoking_an_unknown_token_is_a_404(client, student):
    client.force_login(student)
    assert client.post("/account/tokens/999999/revoke/").status_code == 404


def test_get_on_create_is_405(client, student):
    client.force_login(student)
    assert client.get(CREATE).status_code == 405


def test_get_on_revoke_is_405(client, student):
    token, _plaintext = ApiToken.issue(student, "laptop")
    client.force_login(student)
    assert client.get(revoke_url(token)).status_code == 405
    token.refresh_from_db()
    assert not token.revoked


def test_an_anonymous_post_is_sent_to_sign_in_and_back_to_the_account_page(client):
    response = client.post(CREATE, {"name": "laptop"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={ACCOUNT}"
    assert not ApiToken.objects.exists()


def test_an_anonymous_htmx_post_redirects_the_whole_page(client):
    response = client.post(CREATE, {"name": "laptop"}, **HTMX)
    assert response["HX-Redirect"] == f"{reverse('login')}?next={ACCOUNT}"
    assert not ApiToken.objects.exists()


def test_the_post_needs_the_csrf_token(student):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(student)
    assert strict.post(CREATE, {"name": "laptop"}).status_code == 403
    assert not ApiToken.objects.exists()
