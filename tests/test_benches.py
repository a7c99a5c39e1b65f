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
import threading
import time

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
    "indexing.py": (["--tiny"], "ratio ours / baseline"),
    "tenants.py": (["--tiny"], "ratios 30 / 3 tenants"),
    "inbox_count.py": (["--tenants", "20", "--petitions", "100", "--small", "20", "--own", "30", "--runs", "3"], "x base"),
}
# Printed instead of the summary when the machine has no nginx and cannot install it (no root, no sudo, no apt-get).
SKIPPED = "scale-out run skipped"


def bench_scripts() -> list[str]:
    return sorted(p.name for p in BENCH.glob("*.py") if not p.name.startswith("_"))


# At most this many tiny runs at once: each starts its own store, web server and workers, and all thirteen together on
# two cores starved one another and the suite's other process (servers that did not answer within their minute).
PARALLEL_RUNS = 3


class TinyRuns:
    """The benches' tiny runs, started in the background a few at a time (most of their time is waiting: servers
    starting, processes killed and restarted), the longest first; each writes to a file, read when it ends."""

    def __init__(self, folder, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.processes: dict[str, subprocess.Popen] = {}
        self.started = {script: threading.Event() for script in TINY}
        self.stopping = False
        self.thread = threading.Thread(target=self._start_all, name="tiny-benches", daemon=True)
        self.thread.start()

    def _start_all(self) -> None:
        for script in sorted(TINY, key=lambda s: s not in LONGEST_FIRST):
            while not self.stopping and sum(p.poll() is None for p in self.processes.values()) >= PARALLEL_RUNS:
                time.sleep(0.2)
            if self.stopping:
                return
            with open(self.folder / f"{script}.log", "wb") as output:
                self.processes[script] = subprocess.Popen([sys.executable, str(BENCH / script), *TINY[script][0]], cwd=REPO_ROOT,
                                                          env=self.env, stdout=output, stderr=subprocess.STDOUT)
            self.started[script].set()

    def finish(self, script: str, timeout: float) -> tuple[int | None, str]:
        """Wait for the script's run (``timeout`` seconds once it started); its exit code (None: killed) and output."""
        self.started[script].wait()
        process = self.processes[script]
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None, (self.folder / f"{script}.log").read_text(errors="replace")
        return process.returncode, (self.folder / f"{script}.log").read_text(errors="replace")

    def stop(self) -> None:
        self.stopping = True
        for script, event in self.started.items():
            event.set()  # nobody waits for a run that will not start
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


LONGEST_FIRST = {"scale_out.py", "fault_submissions.py", "event_drain.py", "search.py", "submissions.py"}


@pytest.fixture(scope="module")
def tiny_runs(redis_available, tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}  # each bench sets up its own
    runs = TinyRuns(tmp_path_factory.mktemp("benches"), env)
    yield runs
    runs.stop()


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(TINY))
def test_bench_runs_at_a_tiny_size(script, tiny_runs):
    summary_word = TINY[script][1]
    returncode, output = tiny_runs.finish(script, timeout=300)
    if returncode is None:
        pytest.fail(f"{script} ran longer than 300 s:\n{output[-4000:]}")
    assert returncode == 0, f"{script} exited {returncode}:\n{output[-4000:]}"
    if SKIPPED in output:
        pytest.skip(output.strip().splitlines()[-1][:300])
    assert summary_word in output, f"{script} printed no '{summary_word}':\n{output[-4000:]}"


def test_every_bench_script_has_a_tiny_run():
    assert bench_scripts() == sorted(TINY), "add the new bench script to TINY with arguments for a run of seconds"
