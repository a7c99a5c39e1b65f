"""Weekly intake forecasts with prediction intervals (statsmodels), and the words that say how far to trust them.

The series is petitions received per week (weeks start on Monday, in the tenant's zone), of a tenant or of one
category. The model depends on how much history there is:

- at least ``SEASONAL_WEEKS`` (two years): a regression on a trend and yearly Fourier terms (sine and cosine of the
  week of the year, ``FOURIER_TERMS`` pairs) with AR(1) errors (SARIMAX): the yearly pattern is learnt from every
  year at once, with a handful of parameters, not 52 separate seasonal states;
- at least ``MIN_WEEKS``: AR(1) around a level, no yearly pattern (it cannot be learnt from less than two years);
- less: no forecast. ``Forecast.enough`` is False and the page says there is not enough history.

A model that fails to fit (a flat series of zeros, say) falls back to the mean of the last weeks with an interval
from the spread of those weeks (Poisson at least). Counts are never negative: lower limits are cut at 0.

Fitting takes a fraction of a second per series; pages run it off the event loop (``forecast_in_thread``) under a
time budget. The pure functions here take plain lists and know nothing of the store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import warnings
from datetime import date, timedelta

import numpy as np

MIN_WEEKS = 16  # fewer complete weeks of history: no forecast
SEASONAL_WEEKS = 104  # two years: the yearly pattern can be estimated
FOURIER_TERMS = 3
YEAR_WEEKS = 365.25 / 7
LEVELS = (0.8, 0.95)  # the prediction intervals shown
FALLBACK_WEEKS = 8
TIME_BUDGET_SECONDS = 20.0


@dataclasses.dataclass(frozen=True)
class WeekForecast:
    week: date  # the Monday the week starts
    mean: float
    lower80: float
    upper80: float
    lower95: float
    upper95: float


@dataclasses.dataclass(frozen=True)
class Forecast:
    enough: bool
    method: str  # "seasonal" | "level" | "fallback" | "none"
    history_weeks: int
    weeks: list[WeekForecast]


def fourier(t: np.ndarray, terms: int = FOURIER_TERMS) -> np.ndarray:
    return np.column_stack([fn(2 * np.pi * k * t / YEAR_WEEKS) for k in range(1, terms + 1) for fn in (np.sin, np.cos)])


def _fit_predict(y: np.ndarray, h: int, levels: tuple[float, ...]) -> tuple[str, np.ndarray, dict[float, tuple[np.ndarray, np.ndarray]]]:
    """(method, means, {level: (lower, upper)}) for the ``h`` weeks after ``y``."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    n = len(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short or flat series; the result is checked below
        try:
            if np.ptp(y) == 0:
                raise ValueError("a flat series has nothing to fit")
            if n >= SEASONAL_WEEKS:
                t = np.arange(n + h, dtype=float)
                x = fourier(t)
                result = SARIMAX(y, exog=x[:n], order=(1, 0, 0), trend="ct").fit(disp=False)
                predicted = result.get_forecast(h, exog=x[n:])
                method = "seasonal"
            else:
                result = SARIMAX(y, order=(1, 0, 0), trend="c").fit(disp=False)
                predicted = result.get_forecast(h)
                method = "level"
            means = np.asarray(predicted.predicted_mean, dtype=float)
            bands = {}
            for level in levels:
                ci = np.asarray(predicted.conf_int(alpha=1 - level), dtype=float)
                bands[level] = (ci[:, 0], ci[:, 1])
            if not np.all(np.isfinite(means)) or not all(np.all(np.isfinite(b)) for pair in bands.values() for b in pair):
                raise ValueError("not finite")
            return method, means, bands
        except Exception:  # noqa: BLE001 - any failure to fit falls back to the recent mean
            return "fallback", *_fallback(y, h, levels)


def _fallback(y: np.ndarray, h: int, levels: tuple[float, ...]):
    from scipy.stats import norm

    recent = y[-FALLBACK_WEEKS:]
    mean = float(recent.mean())
    sd = max(float(recent.std(ddof=1)) if len(recent) > 1 else 0.0, math.sqrt(max(mean, 0.25)))
    means = np.full(h, mean)
    bands = {level: (means - norm.ppf(0.5 + level / 2) * sd, means + norm.ppf(0.5 + level / 2) * sd) for level in levels}
    return means, bands


def forecast_series(weekly: list[int], first_week: date, horizon: int) -> Forecast:
    """Forecast ``horizon`` weeks after ``weekly`` (complete weeks, the first starting on ``first_week``)."""
    n = len(weekly)
    if n < MIN_WEEKS:
        return Forecast(False, "none", n, [])
    y = np.asarray(weekly, dtype=float)
    method, means, bands = _fit_predict(y, horizon, LEVELS)
    start = first_week + timedelta(weeks=n)
    weeks = []
    for k in range(horizon):
        (lo80, hi80), (lo95, hi95) = bands[0.8], bands[0.95]
        weeks.append(WeekForecast(start + timedelta(weeks=k), max(0.0, float(means[k])), max(0.0, float(lo80[k])), max(0.0, float(hi80[k])),
                                  max(0.0, float(lo95[k])), max(0.0, float(hi95[k]))))
    return Forecast(True, method, n, weeks)


MIN_ERRORS = 8  # backtest errors needed before they widen the intervals


def widened(result: Forecast, errors: tuple[float, ...] | list[float]) -> Forecast:
    """Each interval at least as wide as the backtest's errors say (the ``level`` quantile of the absolute errors of
    the rolling-origin forecasts, all weeks ahead pooled): the model's own intervals leave out the uncertainty of its
    estimated parameters and a season that varies, and held-out weeks fell outside them more often than they claim."""
    if not result.enough or len(errors) < MIN_ERRORS:
        return result
    spread = np.abs(np.asarray(errors, dtype=float))
    q80, q95 = float(np.quantile(spread, 0.8)), float(np.quantile(spread, 0.95))
    weeks = [dataclasses.replace(w, lower80=max(0.0, min(w.lower80, w.mean - q80)), upper80=max(w.upper80, w.mean + q80),
                                 lower95=max(0.0, min(w.lower95, w.mean - q95)), upper95=max(w.upper95, w.mean + q95)) for w in result.weeks]
    return dataclasses.replace(result, weeks=weeks)


def point_forecaster(train: np.ndarray, h: int) -> np.ndarray:
    """The model's means only (what the backtest scores)."""
    return _fit_predict(np.asarray(train, dtype=float), h, (0.8,))[1]


async def forecast_in_thread(fn, *args, budget: float = TIME_BUDGET_SECONDS):
    """Run a fitting function off the event loop; ``TimeoutError`` past the budget (the thread then finishes
    on its own and its result is dropped: a thread cannot be stopped from outside)."""
    return await asyncio.wait_for(asyncio.to_thread(fn, *args), timeout=budget)
