"""Early-warning detectors: pure functions over daily counts (``{day: n}``), no store, no clock.

- ``rising``: the last ``window_days`` against the same-length windows of the ``baseline_weeks`` weeks before.
  The expected upper limit is the larger of the Poisson quantile at the baseline mean and, where the baseline varies
  more than a Poisson count would (over-dispersion), its mean plus z standard deviations. Crossing: the window's count
  is above that limit and at least ``min_count``. A subject without history gets a small floor rate
  (``FLOOR_PER_WEEK``), so a brand-new topic needs ``min_count`` petitions, not one.
- ``cusum``: a one-sided Poisson CUSUM over the days of the last weeks (a smaller rise that lasts), as a second
  opinion that ``rising`` reports when the window limit is not crossed.
- ``at_least``: plain thresholds (collective petitions, one person's repeats, overdue cases of one unit).

Sensitivity is the false-alarm probability per check and window: low 0.1%, medium 1%, high 5%.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from datetime import date, timedelta


SENSITIVITY = {"low": 0.001, "medium": 0.01, "high": 0.05}
FLOOR_PER_WEEK = 0.5


@dataclasses.dataclass(frozen=True)
class Crossing:
    count: int  # what was counted in the window
    limit: float  # the limit it crossed (above, for rising; at least, for thresholds)
    baseline_mean: float | None  # average per window over the baseline weeks (None for a plain threshold)
    window_days: int
    baseline_weeks: int | None
    method: str  # "poisson" | "dispersion" | "cusum" | "threshold"


def window_sum(daily: dict[date, int], end: date, days: int) -> int:
    return sum(daily.get(end - timedelta(days=k), 0) for k in range(days))


def baseline_windows(daily: dict[date, int], end: date, days: int, weeks: int) -> list[int]:
    """The counts of the ``weeks`` windows of ``days`` days ending 7, 14, ... days before ``end`` (newest first)."""
    return [window_sum(daily, end - timedelta(days=7 * k), days) for k in range(1, weeks + 1)]


def upper_limit(history: list[int], alpha: float, days: int = 7) -> tuple[float, float, str]:
    """(baseline mean, expected upper limit, how it was set) for one window, from past windows."""
    from scipy.stats import norm, poisson  # imported when first used: scipy.stats takes seconds to import

    mean = sum(history) / len(history) if history else 0.0
    rate = max(mean, FLOOR_PER_WEEK * days / 7)
    limit, how = float(poisson.ppf(1 - alpha, rate)), "poisson"
    if len(history) > 1:
        var = sum((x - mean) ** 2 for x in history) / (len(history) - 1)
        if var > mean:
            spread = mean + norm.ppf(1 - alpha) * math.sqrt(var)
            if spread > limit:
                limit, how = math.ceil(spread), "dispersion"
    return mean, limit, how


def rising(daily: dict[date, int], end: date, *, window_days: int = 7, baseline_weeks: int = 8, sensitivity: str = "medium",
           min_count: int = 5) -> Crossing | None:
    """The window ending ``end`` (inclusive) above its expected upper limit, or None."""
    alpha = SENSITIVITY[sensitivity]
    count = window_sum(daily, end, window_days)
    history = baseline_windows(daily, end, window_days, baseline_weeks)
    mean, limit, how = upper_limit(history, alpha, window_days)
    if count > limit and count >= min_count:
        return Crossing(count, limit, mean, window_days, baseline_weeks, how)
    shift = cusum(daily, end, baseline_weeks=baseline_weeks, alpha=alpha)
    if shift is not None and count >= min_count and count > mean:
        return dataclasses.replace(shift, count=count)
    return None


def cusum(daily: dict[date, int], end: date, *, days: int = 14, baseline_weeks: int = 8, alpha: float = 0.01) -> Crossing | None:
    """One-sided Poisson CUSUM over the last ``days`` days against the daily rate of the baseline weeks before them,
    tuned to detect a doubling of the rate. Its decision limit is set so that a series at the baseline rate signals
    within the ``days`` with probability ``alpha`` (``decision_limit``). None when not signalled."""
    first = end - timedelta(days=days - 1)
    base_days = [first - timedelta(days=k) for k in range(1, 7 * baseline_weeks + 1)]
    rate0 = max(sum(daily.get(d, 0) for d in base_days) / len(base_days), FLOOR_PER_WEEK / 7)
    k = rate0 / math.log(2)  # the reference value of the Poisson CUSUM for rate0 -> 2 x rate0
    h = decision_limit(round(rate0, 2), alpha, days)
    s = 0.0
    for offset in range(days):
        s = max(0.0, s + daily.get(first + timedelta(days=offset), 0) - k)
        if s > h:
            return Crossing(window_sum(daily, end, 7), round(rate0 * 7, 1), rate0 * 7, 7, baseline_weeks, "cusum")
    return None


@functools.lru_cache(maxsize=4096)
def decision_limit(rate0: float, alpha: float, days: int, runs: int = 4000) -> float:
    """The (1 - alpha) quantile of the CUSUM's highest value over ``days`` days of Poisson(rate0) counts (simulated with a
    fixed seed: the same limit every time)."""
    import numpy as np

    rng = np.random.default_rng(20261206)
    k = max(rate0, 1e-9) / math.log(2)
    counts = rng.poisson(max(rate0, 1e-9), size=(runs, days))
    s = np.zeros(runs)
    peak = np.zeros(runs)
    for day in range(days):
        s = np.maximum(0.0, s + counts[:, day] - k)
        peak = np.maximum(peak, s)
    return float(np.quantile(peak, 1 - alpha))


def at_least(count: int, threshold: int, *, window_days: int) -> Crossing | None:
    return Crossing(count, threshold, None, window_days, None, "threshold") if count >= threshold else None
