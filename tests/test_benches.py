"""Every benchmark starts and finishes at a tiny size, so a refactor cannot leave one broken.

The benchmarks live apart from the tests (bench/, see bench/README.md) and take
minutes at their real sizes; here each runs in seconds, exactly as a person
would start it, and must end cleanly and print its comparison with a baseline.
A new script in bench/ must be added to TINY, or the last test fails.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO_ROOT

BENCH = REPO_ROOT / "bench"

# script -> (arguments for a tiny run, a word its summary must print)
TINY: dict[str, tuple[list[str], str]] = {
    "archive_opinion.py": (["--tenants", "5", "--entries", "400", "--target-tenants", "3", "--target-entries", "30", "--runs", "1"], "x base"),
    "sweeper.py": (["--cards", "400", "--repeats", "1", "--no-profile", "--no-what-if"], "x base"),
    "search.py": (["--petitions", "300", "--fingerprints", "2000", "--queries", "5", "--rounds", "1", "--checks", "5",
                   "--drain-docs", "20", "--workers", "1", "--no-profile"], "ratio"),
    "duplicates_quality.py": ([], "ratio ours / baseline"),
    "startup.py": (["--once"], "baseline"),
    "submissions.py": (["--clients", "2", "--duration", "2", "--rounds", "1", "--warmup", "0.5", "--profile", "0"], "ratio"),
    "fault_submissions.py": (["--quick"], "lost"),
    "event_drain.py": (["--tiny"], "events/s while draining"),
    "make_search_corpus.py": (["--check"], "files unchanged"),
    "search_quality.py": (["--size", "tiny"], "ratio ours / baseline"),
    "analytics.py": (["--tenants", "8", "--petitions", "200", "--runs", "1", "--events", "2"], "x base"),
    "forecast_backtest.py": (["--years", "3", "--series", "1", "--folds", "2", "--horizons", "4"], "ratio ours / baseline"),
    "scale_out.py": (["--tiny"], "ratio scale-out / baseline"),
}
# Printed instead of the summary when the machine has no nginx and cannot install it (no root, no sudo, no apt-get).
SKIPPED = "scale-out run skipped"


def bench_scripts() -> list[str]:
    return sorted(p.name for p in BENCH.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def tiny_runs(redis_available):
    """Every bench's tiny run, started at once: most of their time is waiting (servers starting, processes killed
    and restarted), so together they take about as long as the slowest (a minute instead of two in a row)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}  # each bench sets up its own
    runs = {script: subprocess.Popen([sys.executable, str(BENCH / script), *arguments], cwd=REPO_ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for script, (arguments, _) in TINY.items()}
    yield runs
    for process in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(TINY))
def test_bench_runs_at_a_tiny_size(script, tiny_runs):
    summary_word = TINY[script][1]
    try:
        output, _ = tiny_runs[script].communicate(timeout=300)
    except subprocess.TimeoutExpired:
        tiny_runs[script].kill()
        output, _ = tiny_runs[script].communicate()
        pytest.fail(f"{script} ran longer than 300 s:\n{output[-4000:]}")
    returncode = tiny_runs[script].returncode
    assert returncode == 0, f"{script} exited {returncode}:\n{output[-4000:]}"
    if SKIPPED in output:
        pytest.skip(output.strip().splitlines()[-1][:300])
    assert summary_word in output, f"{script} printed no '{summary_word}':\n{output[-4000:]}"


def test_every_bench_script_has_a_tiny_run():
    assert bench_scripts() == sorted(TINY), "add the new bench script to TINY with arguments for a run of seconds"
