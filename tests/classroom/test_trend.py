"""trend.py: the score-over-time SVG for none, one and many attempts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from speechsite.classroom import trend
from speechsite.classroom.trend import TrendPoint, build_plot, moving_average, render_trend

START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def points(*scores: float, step: timedelta = timedelta(days=1)) -> list[TrendPoint]:
    return [TrendPoint(START + step * index, score) for index, score in enumerate(scores)]


def circles(svg: str) -> list[str]:
    return re.findall(r"<circle [^>]*>", svg)


def test_it_shows_an_empty_state_without_scores():
    html = render_trend([])
    assert "<svg" not in html
    assert "No scored attempts yet" in html


def test_it_draws_one_point_for_one_attempt():
    svg = render_trend(points(62))
    assert len(circles(svg)) == 1
    assert 'aria-label="Overall score 62 in 1 attempt"' in svg
    assert "trend-line" not in svg and "trend-average" not in svg


def test_it_draws_a_point_per_attempt_a_line_and_a_moving_average():
    svg = render_trend(points(62, 70, 65, 75, 81))
    assert len(circles(svg)) == 5
    assert 'class="trend-line"' in svg and 'class="trend-average"' in svg


def test_it_is_an_accessible_image_summarising_the_change():
    svg = render_trend(points(62, 70, 81))
    assert 'role="img"' in svg
    assert 'aria-label="Overall score from 62 to 81 over 3 attempts"' in svg


def test_each_point_has_a_tooltip_with_its_date_and_score():
    svg = render_trend(points(62, 81))
    assert "<title>2030-03-01 09:00: 62</title>" in svg
    assert "<title>2030-03-02 09:00: 81</title>" in svg


def test_it_labels_the_score_axis_from_0_to_100():
    svg = render_trend(points(50, 60))
    for label in ("0", "20", "40", "60", "80", "100"):
        assert f'text-anchor="end">{label}</text>' in svg


def test_it_labels_the_time_axis_with_dates():
    svg = render_trend(points(50, 60, 70, 80, 90, 95, 99))
    assert ">2030-03-01</text>" in svg and ">2030-03-07</text>" in svg


def test_attempts_on_one_day_are_labelled_by_time_with_the_day_in_the_caption():
    svg = render_trend(points(50, 60, 70, step=timedelta(hours=1)))
    assert ">09:00</text>" in svg and ">11:00</text>" in svg
    assert "on 2030-03-01" in svg


def test_higher_scores_are_drawn_higher():
    plot = build_plot(points(20, 90))
    assert plot.points[1].y < plot.points[0].y


def test_later_attempts_are_drawn_further_right_even_if_given_out_of_order():
    plot = build_plot(list(reversed(points(20, 90, 40))))
    assert [point.score for point in plot.points] == [20, 90, 40]
    assert plot.points[0].x < plot.points[1].x < plot.points[2].x


def test_points_are_placed_by_time():
    plot = build_plot(
        [TrendPoint(START, 50), TrendPoint(START + timedelta(days=1), 50), TrendPoint(START + timedelta(days=4), 50)]
    )
    first, second, last = (point.x for point in plot.points)
    assert (second - first) == pytest.approx((last - first) / 4, abs=0.2)


def test_one_attempt_sits_in_the_middle():
    plot = build_plot(points(70))
    assert plot.points[0].x == pytest.approx((plot.left + plot.right) / 2)


def test_scores_outside_0_to_100_stay_inside_the_plot():
    plot = build_plot(points(-5, 130))
    assert all(plot.top <= point.y <= plot.bottom for point in plot.points)


def test_the_moving_average_trails_over_the_window():
    assert moving_average([10, 20, 30, 40], window=2) == [10, 15, 25, 35]
    assert moving_average([]) == []


def test_the_moving_average_is_drawn_from_three_attempts():
    assert build_plot(points(50, 60)).average_line == ""
    assert build_plot(points(50, 60, 70)).average_line.count(",") == 3


def test_many_attempts_render():
    svg = render_trend(points(*[(index * 7) % 100 for index in range(200)], step=timedelta(hours=5)))
    assert len(circles(svg)) == 200
    assert "over 200 attempts" in svg


def test_it_uses_dots_for_decimals_whatever_the_language(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    settings.LANGUAGE_CODE = "de"
    from django.utils import translation

    with translation.override("de"):
        svg = render_trend(points(33.3, 66.7))
    assert re.search(r'cy="\d+(\.\d+)?"', svg)
    assert not re.search(r'c[xy]="\d+,\d', svg)


def test_it_describes_no_scores_plainly():
    assert trend.describe([]) == "No scored attempts yet"
