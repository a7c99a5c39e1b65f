"""`xinfang probe worker|indexer|beat`, the exec probes of k8s/ for the roles that serve no HTTP: it answers 0 for
this run's real worker, indexer and beat (naming the node it heard from) and 1, saying why, when there is no beat."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.conftest import REPO_ROOT, child_env


def _probe(env: dict[str, str], role: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xinfang", "probe", role], env=env, cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_probe_answers_for_the_live_roles_and_refuses_a_missing_beat(settings, worker, tmp_path):
    env = child_env(settings)
    # Elsewhere a data directory where no beat ever ran: the beat probe must fail, with the reason.
    lonely = dict(env, XINFANG_DATA_DIR=str(tmp_path / "no-beat-here"))
    deadline = time.monotonic() + 120  # the session's worker, indexer and beat may still be starting
    while True:
        runs = {role: _probe(env, role) for role in ("worker", "indexer", "beat")}
        runs["no beat"] = _probe(lonely, "beat")
        answers = {role: (run.wait(timeout=240), *run.communicate()) for role, run in runs.items()}
        # Other Celery workers on this machine answer the same broadcast ping: wait until this run's has answered.
        live_ok = all(answers[role][0] == 0 for role in ("worker", "indexer", "beat")) and f"xinfang-{worker.pid}@" in answers["worker"][1]
        if live_ok or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert live_ok, answers
    assert f"xinfang-{worker.pid}@" in answers["worker"][1], answers["worker"]  # it names the nodes it heard from
    assert "xinfang-indexer-" in answers["indexer"][1] and "xinfang-indexer-" not in answers["worker"][1]
    code, out, err = answers["no beat"]
    assert code == 1 and "no beat has recorded itself" in err, (code, out, err)
