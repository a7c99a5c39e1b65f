"""Intake forecast error against the seasonal-naive baseline on synthetic multi-year weekly series.

Each series is petitions received per week: a level, a yearly pattern (a main peak and a smaller second one, the
Spring Festival dip), a slow trend, Poisson noise, and, on some series, over-dispersion (a random weekly factor).
Every series is backtested from rolling origins with the platform's own code (``analytics.backtest.rolling_origin``
with ``analytics.forecasts.point_forecaster``, the model the forecast page uses) at 4, 8 and 12 weeks ahead; the
baseline, in the same run on the same origins, is "the same week last year" (seasonal naive, m = 52).

    .venv/bin/python bench/forecast_backtest.py [--years 4] [--series 12] [--folds 8] [--seed 1]

Prints per horizon the mean MAE and MASE of the model and of the baseline, and the ratio ours / baseline.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform")]

import numpy as np  # noqa: E402

from xinfang.analytics.backtest import rolling_origin  # noqa: E402
from xinfang.analytics.forecasts import point_forecaster  # noqa: E402


def synthetic(rng: np.random.Generator, weeks: int) -> list[int]:
    t = np.arange(weeks)
    level = rng.uniform(5, 60)
    amplitude = rng.uniform(0.1, 0.4) * level
    phase = rng.uniform(0, 2 * np.pi)
    season = amplitude * np.sin(2 * np.pi * t / 52.18 + phase) + 0.4 * amplitude * np.sin(4 * np.pi * t / 52.18 + 2 * phase)
    festival = np.where((t % 52) < 2, -0.5 * level, 0.0)  # the Spring Festival weeks: fewer petitions
    trend = rng.uniform(-0.2, 0.3) * level * t / weeks
    mean = np.maximum(level + season + festival + trend, 0.5)
    if rng.random() < 0.5:
        mean = mean * rng.gamma(10, 0.1, size=weeks)  # over-dispersed weeks
    return rng.poisson(mean).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--series", type=int, default=12)
    parser.add_argument("--folds", type=int, default=8)
    parser.add_argument("--step", type=int, default=4)
    parser.add_argument("--horizons", default="4,8,12")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    weeks = args.years * 52
    series = [synthetic(rng, weeks) for _ in range(args.series)]
    print(f"{args.series} synthetic series of {weeks} weeks, {args.folds} rolling origins {args.step} weeks apart")
    for horizon in (int(h) for h in args.horizons.split(",")):
        started = time.perf_counter()
        results = [rolling_origin(y, horizon, point_forecaster, folds=args.folds, step=args.step) for y in series]
        results = [r for r in results if r is not None]
        seconds = time.perf_counter() - started
        mase = float(np.mean([r.mase for r in results if not math.isnan(r.mase)]))
        base_mase = float(np.mean([r.baseline_mase for r in results if not math.isnan(r.baseline_mase)]))
        mae = float(np.mean([r.mae for r in results]))
        base_mae = float(np.mean([r.baseline_mae for r in results]))
        wins = sum(r.mae < r.baseline_mae for r in results)
        print(f"h={horizon:2d} weeks: model MAE {mae:6.2f} MASE {mase:.3f} | seasonal naive MAE {base_mae:6.2f} MASE {base_mase:.3f} "
              f"| ratio ours / baseline MASE {mase / base_mase:.3f} | model better on {wins}/{len(results)} series "
              f"| {seconds / max(len(results), 1):.2f} s per series ({results[0].origins if results else 0} fits)")


if __name__ == "__main__":
    main()
