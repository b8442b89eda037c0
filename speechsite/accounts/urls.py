from __future__ import annotations

from django.urls import path

from speechsite.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("tokens/", views.token_create, name="token_create"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
