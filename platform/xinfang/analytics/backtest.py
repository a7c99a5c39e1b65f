"""How far to trust a forecast: a rolling-origin backtest against the seasonal-naive baseline.

From each of several origins in the past, the model is fitted on the weeks before the origin only and forecasts the
``h`` weeks after it; the same is done by the baseline a person would use without any model: "the same week last
year" (seasonal naive, ``m`` = 52) where a year of history exists before the origin, else "the week before" (naive,
``m`` = 1). Errors are compared as MAE and as MASE (Hyndman and Koehler 2006): each absolute error divided by the
in-sample MAE of the one-step baseline on that origin's training weeks, then averaged. A MASE below 1 beats the
baseline's in-sample one-step error; the page says plainly how the two out-of-sample errors compare.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

SEASON = 52


@dataclasses.dataclass(frozen=True)
class Backtest:
    m: int  # the baseline's season: 52 (same week last year) or 1 (the week before)
    horizon: int
    origins: int  # how many origins were scored
    points: int  # how many (origin, week ahead) errors
    mae: float
    baseline_mae: float
    mase: float  # nan when the scale is 0 (a flat history)
    baseline_mase: float
    errors: tuple[float, ...] = ()  # actual - model, every (origin, week ahead): what the intervals are widened to

    @property
    def improvement(self) -> float:
        """How much lower the model's MAE is than the baseline's, as a fraction (negative: higher)."""
        return 1 - self.mae / self.baseline_mae if self.baseline_mae > 0 else 0.0


def seasonal_naive(train: Sequence[float], h: int, m: int) -> np.ndarray:
    """The value ``m`` weeks before each of the ``h`` weeks ahead (repeating the last season)."""
    y = np.asarray(train, dtype=float)
    n = len(y)
    return np.array([y[n - m + (k % m)] for k in range(h)])


def mase_scale(train: Sequence[float], m: int) -> float:
    """The in-sample MAE of the one-step seasonal-naive forecast: mean |y_t - y_(t-m)|, t = m .. n-1."""
    y = np.asarray(train, dtype=float)
    if len(y) <= m:
        return math.nan
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def mase(actual: Sequence[float], forecast: Sequence[float], train: Sequence[float], m: int) -> float:
    scale = mase_scale(train, m)
    if not scale or math.isnan(scale):
        return math.nan
    return float(np.mean(np.abs(np.asarray(actual, dtype=float) - np.asarray(forecast, dtype=float)))) / scale


def rolling_origin(y: Sequence[float], horizon: int, forecaster: Callable[[np.ndarray, int], np.ndarray], *, folds: int = 6,
                   step: int = 4, min_train: int = 16) -> Backtest | None:
    """Score ``forecaster(train, h) -> means`` from up to ``folds`` origins ``step`` weeks apart, the last one ``horizon``
    weeks before the end. None when not even one origin has ``min_train`` weeks before it."""
    values = np.asarray(y, dtype=float)
    n = len(values)
    origins = [n - horizon - step * i for i in range(folds)]
    origins = sorted(o for o in origins if o >= min_train)
    if not origins:
        return None
    m = SEASON if origins[0] > SEASON else 1
    errors, base_errors, scaled, base_scaled, signed = [], [], [], [], []
    for origin in origins:
        train, actual = values[:origin], values[origin:origin + horizon]
        model = np.maximum(np.asarray(forecaster(train, horizon), dtype=float)[:horizon], 0)
        base = seasonal_naive(train, horizon, m)
        scale = mase_scale(train, m)
        e, b = np.abs(actual - model), np.abs(actual - base)
        signed.extend(actual - model)
        errors.extend(e)
        base_errors.extend(b)
        if scale and not math.isnan(scale):
            scaled.extend(e / scale)
            base_scaled.extend(b / scale)
    return Backtest(m, horizon, len(origins), len(errors), float(np.mean(errors)), float(np.mean(base_errors)),
                    float(np.mean(scaled)) if scaled else math.nan, float(np.mean(base_scaled)) if base_scaled else math.nan,
                    tuple(float(x) for x in signed))


def backtest_words(result: Backtest | None) -> dict[str, str]:
    """The error said honestly, in Chinese and English."""
    if result is None:
        return {"zh": "历史数据太短，无法回测预测误差。", "en": "The history is too short to backtest the forecast error."}
    base_zh = "照搬去年同期" if result.m == SEASON else "照搬上一周"
    base_en = "copying the same week last year" if result.m == SEASON else "copying the week before"
    pct = round(abs(result.improvement) * 100)
    mase_zh = f"MASE {result.mase:.2f}，简单方法 {result.baseline_mase:.2f}" if not math.isnan(result.mase) else "MASE 无法计算（历史没有波动）"
    mase_en = f"MASE {result.mase:.2f}, simple method {result.baseline_mase:.2f}" if not math.isnan(result.mase) else \
        "MASE cannot be computed (the history does not vary)"
    how_zh = f"在过去 {result.origins} 个时点回测（每次预测后 {result.horizon} 周，共 {result.points} 个预测周）"
    how_en = f"backtested from {result.origins} past points ({result.horizon} weeks ahead each, {result.points} weeks in all)"
    if pct == 0:
        zh = f"本预测与简单地{base_zh}的预测误差相当（平均每周差 {result.mae:.1f} 件，对 {result.baseline_mae:.1f} 件）。"
        en = f"This forecast's error is about the same as simply {base_en} ({result.mae:.1f} vs {result.baseline_mae:.1f} petitions a week off)."
    elif result.improvement > 0:
        zh = f"本预测比简单地{base_zh}的预测误差低 {pct}%（平均每周差 {result.mae:.1f} 件，对 {result.baseline_mae:.1f} 件）。"
        en = f"This forecast's error is {pct}% lower than simply {base_en} ({result.mae:.1f} vs {result.baseline_mae:.1f} petitions a week off)."
    else:
        zh = f"本预测比简单地{base_zh}的预测误差高 {pct}%（平均每周差 {result.mae:.1f} 件，对 {result.baseline_mae:.1f} 件），请谨慎参考。"
        en = (f"This forecast's error is {pct}% higher than simply {base_en} ({result.mae:.1f} vs {result.baseline_mae:.1f} petitions a "
              "week off): use it with care.")
    return {"zh": f"{zh}{how_zh}；{mase_zh}。", "en": f"{en} It was {how_en}; {mase_en}."}
