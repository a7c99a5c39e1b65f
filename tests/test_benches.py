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
}


def bench_scripts() -> list[str]:
    return sorted(p.name for p in BENCH.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(TINY))
def test_bench_runs_at_a_tiny_size(script, redis_available):
    arguments, summary_word = TINY[script]
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}  # each bench sets up its own
    done = subprocess.run([sys.executable, str(BENCH / script), *arguments], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{output[-4000:]}"
    assert summary_word in output, f"{script} printed no '{summary_word}':\n{output[-4000:]}"


def test_every_bench_script_has_a_tiny_run():
    assert bench_scripts() == sorted(TINY), "add the new bench script to TINY with arguments for a run of seconds"
