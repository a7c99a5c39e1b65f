"""The source roots never shadow the standard library's ``platform`` module (pymongo imports it)."""

import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import REPO_ROOT, eventually

STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def is_stdlib(path: str) -> bool:
    return Path(path).resolve().parent == STDLIB


def test_platform_folder_is_a_source_root_not_a_package():
    assert (REPO_ROOT / "platform" / "xinfang" / "__init__.py").exists()
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()
    assert not (REPO_ROOT / "search" / "__init__.py").exists()
    assert not (REPO_ROOT / "plugins" / "__init__.py").exists()


def test_platform_is_stdlib_in_this_process():
    assert is_stdlib(platform.__file__), platform.__file__
    assert platform.python_implementation() == "CPython"


def test_platform_is_stdlib_from_the_repo_root_in_a_fresh_interpreter():
    # The repo root is the working directory and first on sys.path here, exactly as a
    # developer runs things; `platform/` must still not be what `import platform` finds.
    code = "import platform, pymongo, xinfang.app; print(platform.__file__); print(platform.system())"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    module_file, system = out.stdout.split()
    assert is_stdlib(module_file), module_file
    assert system == "Linux"


async def test_platform_is_stdlib_in_the_web_process(client, superuser):
    facts = await (await client.get("/api/platform/diagnostics", headers=superuser)).get_json()
    assert is_stdlib(facts["platform_module"]) and facts["platform_is_stdlib"] is True


async def test_platform_is_stdlib_in_a_celery_worker(client, superuser, worker):
    started = await client.post("/api/platform/diagnostics/probes", headers=superuser)
    assert started.status_code == 202
    probe_id = (await started.get_json())["id"]

    async def answered():
        probe = await (await client.get(f"/api/platform/diagnostics/probes/{probe_id}", headers=superuser)).get_json()
        return probe if probe["answered_at"] else None

    probe = await eventually(answered, message="the worker to answer the probe")
    assert probe["answered_by_pid"] != worker.pid  # a forked pool process, with its own loop
    assert is_stdlib(probe["platform_module"]), probe["platform_module"]
    assert probe["python"].startswith("3.13")
