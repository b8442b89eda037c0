"""/classes/: each page module lists its own routes."""

from __future__ import annotations

from speechsite.classroom import assignment_views, monitor_views, views

app_name = "classroom"

urlpatterns = [*views.urlpatterns, *assignment_views.urlpatterns, *monitor_views.urlpatterns]
