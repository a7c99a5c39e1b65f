"""The Kubernetes manifests in k8s/: they parse, name only settings and commands that exist,
and keep the single-instance roles single."""

from __future__ import annotations

import click
import yaml

from xinfang.cli import main
from xinfang.settings import SETTINGS_TABLE
from tests.conftest import REPO_ROOT

K8S = REPO_ROOT / "k8s"


def documents() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def by_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def test_every_listed_manifest_exists_and_every_manifest_is_listed():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert documents()


def test_configuration_names_only_settings_that_exist():
    known = {row[0] for row in SETTINGS_TABLE}
    config = by_kind("ConfigMap")["xinfang-config"]["data"]
    secret = by_kind("Secret")["xinfang-secrets"]["stringData"]
    assert set(config) | set(secret) <= known, (set(config) | set(secret)) - known
    assert "XINFANG_MONGODB_URI" in config and "replicaSet=" in config["XINFANG_MONGODB_URI"]  # transactions need one
    assert config["XINFANG_BROKER_URL"].startswith("redis://")


def test_each_role_runs_an_existing_command_with_the_shared_data_volume():
    commands = set(main.list_commands(click.Context(main)))
    deployments = by_kind("Deployment")
    assert {"web", "worker", "indexer", "beat"} <= set(deployments)
    data_dir = by_kind("ConfigMap")["xinfang-config"]["data"]["XINFANG_DATA_DIR"]
    for name in ("web", "worker", "indexer", "beat"):
        spec = deployments[name]["spec"]["template"]["spec"]
        container = spec["containers"][0]
        assert container["args"][0] == "xinfang" and container["args"][1] in commands, container["args"]
        assert {"name": "data", "mountPath": data_dir} in container["volumeMounts"]
        assert spec["volumes"][0]["persistentVolumeClaim"]["claimName"] == "xinfang-data"
    assert by_kind("PersistentVolumeClaim")["xinfang-data"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_single_writer_and_the_single_scheduler_stay_single():
    deployments = by_kind("Deployment")
    for name in ("indexer", "beat"):
        assert deployments[name]["spec"]["replicas"] == 1
        assert deployments[name]["spec"]["strategy"]["type"] == "Recreate"  # a rolling update would run two
    assert deployments["web"]["spec"]["replicas"] >= 2
    assert by_kind("StatefulSet")["mongodb"]["spec"]["replicas"] == 3
