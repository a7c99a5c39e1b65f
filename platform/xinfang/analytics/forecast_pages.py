"""The forecast page: petitions received per week for the next 4-12 weeks, of the tenant or of one category, with
prediction intervals, and the backtest's error against the seasonal-naive baseline said in words.

Numbers come from ``rollups.daily_counts`` (weeks start on Monday, in the tenant's zone; the running week is left
out of the history: it is not complete). Fitting runs in a thread under a time budget; a result is kept for the
same series (``_CACHE``) so a reload does not fit again.
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict
from datetime import date, timedelta

from quart import request

from ..auth.permissions import Permission, requires
from ..http import staff_page
from ..tenancy.resolution import current_tenant
from .alert_pages import day_words
from .alerts import category_words, tenant_today
from .backtest import Backtest, backtest_words, rolling_origin
from .blueprints import analytics_api_bp, analytics_pages_bp
from .forecasts import MIN_WEEKS, Forecast, forecast_in_thread, forecast_series, point_forecaster, widened

HISTORY_WEEKS = 156  # three years at most
HORIZONS = (4, 8, 12)
METHOD_WORDS = {
    "seasonal": {"zh": "趋势加年度季节规律的回归模型（傅里叶项，AR(1) 误差）", "en": "Trend and yearly pattern (Fourier terms) with AR(1) errors"},
    "level": {"zh": "围绕近期水平的自回归模型（历史不足两年，未计年度季节规律）",
              "en": "Autoregression around the recent level (less than two years of history: no yearly pattern)"},
    "fallback": {"zh": "近8周平均（模型无法拟合）", "en": "Average of the last 8 weeks (the model could not be fitted)"},
}
_CACHE: OrderedDict = OrderedDict()
CACHE_SIZE = 256
BACKTEST_FOLDS = 4  # origins 4 weeks apart: a fit each, on top of the forecast's own


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(daily: dict[date, int], first: date, weeks: int) -> list[int]:
    return [sum(daily.get(first + timedelta(days=7 * w + d), 0) for d in range(7)) for w in range(weeks)]


def trim_leading_zeros(series: list[int], first: date) -> tuple[list[int], date]:
    """History starts at the first week with a petition (weeks before the tenant or the category existed are not zeros)."""
    for index, value in enumerate(series):
        if value:
            return series[index:], first + timedelta(weeks=index)
    return [], first + timedelta(weeks=len(series))


def compute(series: list[int], first: date, horizon: int) -> tuple[Forecast, Backtest | None]:
    """Forecast and backtest (runs in a thread)."""
    key = (tuple(series), first, horizon)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    result = forecast_series(series, first, horizon)
    test = rolling_origin(series, horizon, point_forecaster, folds=BACKTEST_FOLDS, step=4, min_train=MIN_WEEKS) if result.enough else None
    if test is not None:
        result = widened(result, test.errors)  # intervals no narrower than the errors the backtest measured
    _CACHE[key] = (result, test)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result, test


async def weekly_history(tenant, category: str | None, today: date) -> tuple[list[int], date]:
    from .rollups import daily_counts

    end = week_start(today) - timedelta(days=1)  # last complete week's Sunday
    first = week_start(today) - timedelta(weeks=HISTORY_WEEKS)
    filters = {"category": [category]} if category else None
    counts = await daily_counts(tenant, "received", first, end, filters=filters, include_lower=True)
    return trim_leading_zeros(weekly(counts.get("", {}), first, HISTORY_WEEKS), first)


async def forecast_for(tenant, category: str | None, horizon: int, today: date) -> dict:
    series, first = await weekly_history(tenant, category, today)
    try:
        result, test = await forecast_in_thread(compute, series, first, horizon)
    except (TimeoutError, asyncio.TimeoutError):
        return {"timed_out": True, "series": series, "first": first, "history_weeks": len(series)}
    return {"timed_out": False, "series": series, "first": first, "history_weeks": len(series), "forecast": result, "backtest": test,
            "backtest_words": backtest_words(test) if result.enough else None, "method_words": METHOD_WORDS.get(result.method)}


def _choices() -> tuple[str | None, int]:
    category = (request.args.get("category") or "").strip() or None
    try:
        horizon = int(request.args.get("horizon", "8"))
    except ValueError:
        horizon = 8
    return category, horizon if horizon in HORIZONS else 8


def chart_points(series: list[int], result: Forecast | None, shown: int = 26) -> dict:
    """Coordinates for the page's SVG: the last ``shown`` weeks and the forecast with its 80% band (0-100 x 0-40)."""
    past = series[-shown:]
    ahead = result.weeks if result and result.enough else []
    total = len(past) + len(ahead)
    if not total:
        return {}
    top = max([*past, *[w.upper80 for w in ahead], 1])
    x = lambda i: round(100 * i / max(total - 1, 1), 2)  # noqa: E731
    y = lambda v: round(40 - 38 * v / top, 2)  # noqa: E731
    history = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(past))
    offset = len(past)
    mean = " ".join(f"{x(offset + i)},{y(w.mean)}" for i, w in enumerate(ahead))
    band = " ".join([f"{x(offset + i)},{y(w.upper80)}" for i, w in enumerate(ahead)]
                    + [f"{x(offset + i)},{y(w.lower80)}" for i, w in reversed(list(enumerate(ahead)))])
    return {"history": history, "mean": mean, "band": band, "top": round(top)}


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


@analytics_pages_bp.get("/forecast")
@requires(Permission.ANALYTICS_READ)
async def forecast_page(tenant_slug):
    ctx = current_tenant()
    category, horizon = _choices()
    categories = await category_words(ctx.scope)
    if category and category not in categories:
        category = None
    view = await forecast_for(ctx.tenant, category, horizon, tenant_today(ctx.tenant))
    return await staff_page("staff/analytics/forecast.html", view=view, categories=categories, category=category, horizon=horizon,
                            horizons=HORIZONS, min_weeks=MIN_WEEKS, day_words=day_words,
                            chart=chart_points(view["series"], view.get("forecast")))


@analytics_api_bp.get("/forecast")
@requires(Permission.ANALYTICS_READ)
async def forecast_api(tenant_slug):
    """Petitions received per week, forecast for the next 4, 8 or 12 weeks (``horizon``) of the tenant or one ``category``,
    with 80% and 95% prediction intervals and the backtest's MAE and MASE against the seasonal-naive baseline."""
    ctx = current_tenant()
    category, horizon = _choices()
    view = await forecast_for(ctx.tenant, category, horizon, tenant_today(ctx.tenant))
    result, test = view.get("forecast"), view.get("backtest")
    return {"history_weeks": view["history_weeks"], "enough": bool(result and result.enough), "timed_out": view["timed_out"],
            "method": result.method if result else None,
            "weeks": [{"week": w.week.isoformat(), "mean": round(w.mean, 2), "lower80": round(w.lower80, 2), "upper80": round(w.upper80, 2),
                       "lower95": round(w.lower95, 2), "upper95": round(w.upper95, 2)} for w in (result.weeks if result else [])],
            "backtest": None if test is None else {"mae": test.mae, "baseline_mae": test.baseline_mae, "mase": _finite(test.mase),
                                                   "baseline_mase": _finite(test.baseline_mase), "season": test.m, "origins": test.origins},
            "words": view.get("backtest_words")}
