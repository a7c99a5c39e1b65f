"""Intake forecasts (analytics/forecasts.py) and their backtest (analytics/backtest.py): intervals that hold held-out
weeks most of the time on a seasonal series, MASE computed right on a series checked by hand, too-short history said
plainly (pure functions, and the page on a tenant whose history is days old)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from tests.conftest import login_token
from xinfang.analytics.backtest import backtest_words, mase, mase_scale, rolling_origin, seasonal_naive
from xinfang.analytics.forecast_pages import trim_leading_zeros, weekly
from xinfang.analytics.forecasts import MIN_WEEKS, forecast_series

ISOLATION_CASES = {
    "analytics_pages.forecast_page": {"method": "GET", "path": "/staff/analytics/forecast", "kind": "collection"},
    "analytics.forecast_api": {"method": "GET", "path": "/api/analytics/forecast", "kind": "collection"},
}


def seasonal_series(seed: int, weeks: int) -> list[int]:
    """Poisson counts around a yearly sine (20 +- 8 a week) with a slight upward trend."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    return rng.poisson(20 + 8 * np.sin(2 * np.pi * t / 52) + 0.02 * t).tolist()


def test_intervals_hold_the_held_out_weeks_most_of_the_time():
    inside80 = inside95 = total = 0
    for seed in (11, 12, 13):
        y = seasonal_series(seed, 160)
        result = forecast_series(y[:148], date(2023, 1, 2), 12)
        assert result.enough and result.method == "seasonal"
        assert [w.week for w in result.weeks][:2] == [date(2023, 1, 2) + timedelta(weeks=148), date(2023, 1, 2) + timedelta(weeks=149)]
        for w, actual in zip(result.weeks, y[148:]):
            assert 0 <= w.lower95 <= w.lower80 <= w.mean <= w.upper80 <= w.upper95
            inside80 += w.lower80 <= actual <= w.upper80
            inside95 += w.lower95 <= actual <= w.upper95
            total += 1
    assert inside80 / total >= 0.6, (inside80, total)
    assert inside95 / total >= 0.8, (inside95, total)  # measured: 30 of 36 (the intervals ignore parameter uncertainty)


def test_intervals_are_widened_to_the_backtests_errors_never_narrowed():
    from xinfang.analytics.forecasts import widened

    result = forecast_series(seasonal_series(3, 120), date(2024, 1, 1), 4)
    assert widened(result, [1.0] * 3) == result  # too few errors to say anything
    wide = widened(result, [-10.0, 10.0] * 5)  # |error| 10 everywhere: both quantiles are 10
    for before, after in zip(result.weeks, wide.weeks):
        assert after.mean == before.mean
        assert after.upper80 >= max(before.upper80, before.mean + 10 - 1e-9) and after.lower80 <= before.lower80
        assert after.upper95 >= before.upper95 and after.lower95 == max(0.0, min(before.lower95, before.mean - 10))


def test_mase_on_a_series_checked_by_hand():
    # in-sample one-step naive errors of 1,2,3,4 are 1,1,1: scale 1; errors |5-4|, |6-8| = 1, 2: MASE 1.5
    assert mase_scale([1, 2, 3, 4], 1) == 1.0
    assert mase([5, 6], [4, 8], [1, 2, 3, 4], 1) == 1.5
    assert math.isnan(mase([1], [1], [2, 2, 2], 1))  # a flat history has no scale
    assert seasonal_naive(list(range(104)), 3, 52).tolist() == [52, 53, 54]

    # Rolling origin, forecaster = mean of the training weeks, horizon 2, origins 4 and 6, naive baseline (m = 1):
    # origin 4: train 1,3,2,4 (mean 2.5, scale (2+1+2)/3 = 5/3), actual 3,5 -> errors .5, 2.5; naive 4,4 -> 1, 1
    # origin 6: train 1,3,2,4,3,5 (mean 3, scale (2+1+2+1+2)/5 = 1.6), actual 4,6 -> errors 1, 3; naive 5,5 -> 1, 1
    y = [1, 3, 2, 4, 3, 5, 4, 6]
    result = rolling_origin(y, 2, lambda train, h: np.full(h, np.mean(train)), folds=2, step=2, min_train=4)
    assert (result.m, result.origins, result.points) == (1, 2, 4)
    assert result.mae == pytest.approx(1.75) and result.baseline_mae == pytest.approx(1.0)
    assert result.mase == pytest.approx((0.3 + 1.5 + 0.625 + 1.875) / 4)
    assert result.baseline_mase == pytest.approx((0.6 + 0.6 + 0.625 + 0.625) / 4)
    words = backtest_words(result)
    assert "比简单地照搬上一周的预测误差高 75%" in words["zh"] and "75% higher than simply copying the week before" in words["en"]


def test_the_model_beats_the_seasonal_naive_baseline_on_a_seasonal_series():
    from xinfang.analytics.forecasts import point_forecaster

    result = rolling_origin(seasonal_series(5, 156), 8, point_forecaster, folds=3, step=8)
    assert result.m == 52
    assert result.mae < result.baseline_mae
    assert "比简单地照搬去年同期的预测误差低" in backtest_words(result)["zh"]


def test_too_short_a_history_gives_no_forecast():
    short = forecast_series([3] * (MIN_WEEKS - 1), date(2026, 1, 5), 8)
    assert not short.enough and short.weeks == [] and short.history_weeks == MIN_WEEKS - 1
    assert "历史数据太短" in backtest_words(None)["zh"]
    # weeks before the first petition are not history
    series, first = trim_leading_zeros([0, 0, 4, 0, 5], date(2026, 1, 5))
    assert series == [4, 0, 5] and first == date(2026, 1, 19)
    assert weekly({date(2026, 1, 5): 2, date(2026, 1, 11): 1, date(2026, 1, 12): 7}, date(2026, 1, 5), 2) == [3, 7]


def test_a_flat_series_falls_back_without_inventing_a_trend():
    result = forecast_series([4] * 30, date(2026, 1, 5), 4)
    assert result.enough and result.method == "fallback"
    assert all(w.mean == pytest.approx(4) and w.lower80 < 4 < w.upper80 for w in result.weeks)


async def test_the_page_says_there_is_not_enough_history(client, tenants):
    headers = await login_token(client, tenants.A, "leader")
    page = await client.get(f"/t/{tenants.A}/staff/analytics/forecast?horizon=4", headers=headers)
    text = await page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert "历史数据不足" in text and "信访量预测" in text
    api = await (await client.get(f"/t/{tenants.A}/api/analytics/forecast?horizon=12", headers=headers)).get_json()
    assert api["enough"] is False and api["weeks"] == [] and api["history_weeks"] < MIN_WEEKS
    one = await client.get(f"/t/{tenants.A}/api/analytics/forecast?horizon=4&category=other", headers=headers)  # one category
    assert one.status_code == 200 and (await one.get_json())["enough"] is False
    english = await (await client.get(f"/t/{tenants.A}/staff/analytics/forecast?lang=en", headers=headers)).get_data(as_text=True)
    assert "not enough history" in english


async def test_the_page_shows_the_forecast_and_its_error_honestly(client, tenants, monkeypatch):
    """The history stands in for the rollups here (three seasonal years); the rest is the page as it runs."""
    from xinfang.analytics import forecast_pages

    history = seasonal_series(21, 156)

    async def three_years(tenant, category, today):
        return history, date(2023, 12, 4)
    monkeypatch.setattr(forecast_pages, "weekly_history", three_years)
    headers = await login_token(client, tenants.A, "leader")
    page = await client.get(f"/t/{tenants.A}/staff/analytics/forecast?horizon=4", headers=headers)
    text = await page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert "比简单地照搬去年同期的预测误差" in text and "MASE" in text and "80% 区间" in text and "<svg" in text
    assert text.count("<tr>") == 1 + 4  # the header and four weeks
    api = await (await client.get(f"/t/{tenants.A}/api/analytics/forecast?horizon=4", headers=headers)).get_json()
    assert api["enough"] and api["method"] == "seasonal" and len(api["weeks"]) == 4 and api["weeks"][0]["week"] == "2026-11-30"
    assert api["backtest"]["season"] == 52 and api["backtest"]["mase"] > 0
    assert api["words"]["zh"] in text.replace("&#34;", '"')

    async def too_slow(*args, **kwargs):
        raise TimeoutError
    monkeypatch.setattr(forecast_pages, "forecast_in_thread", too_slow)
    slow = await (await client.get(f"/t/{tenants.A}/staff/analytics/forecast?horizon=8", headers=headers)).get_data(as_text=True)
    assert "计算超时" in slow
