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

- ``rising_many``: the same tests over many series at once (every category and region of a tenant in one run), with
  the Benjamini-Hochberg correction for the number of series checked: each series gets a p-value (the smaller of the
  window test's and the CUSUM's), and the sensitivity becomes the expected share of false alarms among the alerts of a
  run, not the chance per series, so a tenant with 50 categories does not get 50 times the false alarms of one with
  one. The limit an alert states is the one at the corrected level (``Crossing.alpha``).
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
    checked: int = 1  # how many series were checked together (rising_many): the correction's m
    alpha: float | None = None  # the false-alarm level the limit was set at, after the correction


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


def _simulated_peaks(rate0: float, days: int, runs: int, seed: int):
    """The CUSUM's highest value over ``days`` days of Poisson(rate0) counts, for ``runs`` simulated series (a fixed seed:
    the same numbers every time), sorted."""
    import numpy as np

    rng = np.random.default_rng(seed)
    k = max(rate0, 1e-9) / math.log(2)
    counts = rng.poisson(max(rate0, 1e-9), size=(runs, days))
    s = np.zeros(runs)
    peak = np.zeros(runs)
    for day in range(days):
        s = np.maximum(0.0, s + counts[:, day] - k)
        peak = np.maximum(peak, s)
    return np.sort(peak)


@functools.lru_cache(maxsize=4096)
def decision_limit(rate0: float, alpha: float, days: int, runs: int = 4000) -> float:
    """The (1 - alpha) quantile of the CUSUM's highest value over ``days`` days of Poisson(rate0) counts."""
    import numpy as np

    return float(np.quantile(_simulated_peaks(rate0, days, runs, 20261206), 1 - alpha))


def at_least(count: int, threshold: int, *, window_days: int) -> Crossing | None:
    return Crossing(count, threshold, None, window_days, None, "threshold") if count >= threshold else None


# ----------------------------------------------------------------------------- many series at once


CUSUM_RUNS = 10000  # simulated series per CUSUM p-value: the smallest p it can tell is 1 / 10,001


@dataclasses.dataclass(frozen=True)
class Assessment:
    """One series' tests before any correction."""

    count: int
    history: tuple[int, ...]
    mean: float
    p_window: float  # the window test's p-value (1.0 when the window has fewer than the minimum count)
    how: str  # poisson | dispersion: which of the window's limits is the binding one
    p_cusum: float  # the CUSUM's p-value (1.0 when not eligible: below the minimum, or not above the mean)
    rate0: float  # the CUSUM's daily baseline rate

    @property
    def p(self) -> float:
        return min(self.p_window, self.p_cusum)


def window_p(history: list[int], count: int, days: int = 7) -> tuple[float, float, str]:
    """(baseline mean, p-value, binding limit) of ``count`` against ``upper_limit``'s two limits: the window crosses
    ``upper_limit(history, alpha)`` exactly when this p-value is at most ``alpha``."""
    from scipy.stats import norm, poisson

    mean = sum(history) / len(history) if history else 0.0
    rate = max(mean, FLOOR_PER_WEEK * days / 7)
    p, how = float(poisson.sf(count - 1, rate)), "poisson"  # P(X >= count)
    if len(history) > 1:
        var = sum((x - mean) ** 2 for x in history) / (len(history) - 1)
        if var > mean:
            # count > ceil(mean + z * sd)  <=>  count - 1 >= mean + z * sd
            p_spread = float(norm.sf((count - 1 - mean) / math.sqrt(var)))
            if p_spread > p:
                p, how = p_spread, "dispersion"
    return mean, p, how


@functools.lru_cache(maxsize=128)
def _cusum_peaks(rate0: float, days: int) -> tuple:
    return (_simulated_peaks(rate0, days, CUSUM_RUNS, 20261207),)


def cusum_p(daily: dict[date, int], end: date, *, days: int = 14, baseline_weeks: int = 8) -> tuple[float, float]:
    """(p-value, daily baseline rate) of the CUSUM's highest value over the last ``days`` days: the share of simulated
    series at the baseline rate that go as high (``cusum`` signals when it is below ``alpha``, up to simulation)."""
    import numpy as np

    first = end - timedelta(days=days - 1)
    base_days = [first - timedelta(days=k) for k in range(1, 7 * baseline_weeks + 1)]
    rate0 = max(sum(daily.get(d, 0) for d in base_days) / len(base_days), FLOOR_PER_WEEK / 7)
    k = rate0 / math.log(2)
    s = peak = 0.0
    for offset in range(days):
        s = max(0.0, s + daily.get(first + timedelta(days=offset), 0) - k)
        peak = max(peak, s)
    if peak <= 0:
        return 1.0, rate0
    (peaks,) = _cusum_peaks(round(rate0, 2), days)
    at_least_as_high = len(peaks) - int(np.searchsorted(peaks, peak - 1e-9, side="left"))
    return (1 + at_least_as_high) / (len(peaks) + 1), rate0


def assess(daily: dict[date, int], end: date, *, window_days: int = 7, baseline_weeks: int = 8, min_count: int = 5) -> Assessment:
    count = window_sum(daily, end, window_days)
    history = baseline_windows(daily, end, window_days, baseline_weeks)
    mean, p_window, how = window_p(history, count, window_days)
    if count < min_count:
        return Assessment(count, tuple(history), mean, 1.0, how, 1.0, 0.0)
    p_cusum, rate0 = cusum_p(daily, end, baseline_weeks=baseline_weeks) if count > mean else (1.0, 0.0)
    return Assessment(count, tuple(history), mean, p_window, how, p_cusum, rate0)


def benjamini_hochberg(pvalues: dict, q: float) -> tuple[set, float]:
    """(keys rejected, the level they were rejected at): the largest k with the k-th smallest p at most k*q/m."""
    m = len(pvalues)
    ranked = sorted(pvalues.items(), key=lambda kv: (kv[1], str(kv[0])))
    cut = 0
    for rank, (_, p) in enumerate(ranked, start=1):
        if p <= rank * q / m:
            cut = rank
    return {key for key, _ in ranked[:cut]}, (cut * q / m if cut else q / max(m, 1))


def rising_many(series: dict, end: date, *, window_days: int = 7, baseline_weeks: int = 8, sensitivity: str = "medium",
                min_count: int = 5) -> dict:
    """``rising`` over every series of one run (key -> daily counts), corrected for how many were checked
    (Benjamini-Hochberg at the sensitivity's level): key -> Crossing for the series that crossed."""
    q = SENSITIVITY[sensitivity]
    assessed = {key: assess(daily, end, window_days=window_days, baseline_weeks=baseline_weeks, min_count=min_count)
                for key, daily in series.items()}
    if not assessed:
        return {}
    rejected, level = benjamini_hochberg({key: a.p for key, a in assessed.items()}, q)
    out = {}
    for key in sorted(rejected, key=str):
        a = assessed[key]
        if a.p_window <= level:
            _, limit, how = upper_limit(list(a.history), level, window_days)
            out[key] = Crossing(a.count, limit, a.mean, window_days, baseline_weeks, how, len(assessed), level)
        else:
            out[key] = Crossing(a.count, round(a.rate0 * 7, 1), a.rate0 * 7, 7, baseline_weeks, "cusum", len(assessed), level)
    return out
