"""The Kubernetes manifests in k8s/: valid against the Kubernetes API schemas (offline, strict), name only settings,
commands and Secrets that exist, give every container resources and probes, and keep the single-instance roles single."""

from __future__ import annotations

import click
import pytest
import yaml
from kubernetes_validate.utils import validate

from xinfang.cli import main
from xinfang.settings import SETTINGS_TABLE
from tests.conftest import REPO_ROOT

K8S = REPO_ROOT / "k8s"
# The oldest Kubernetes release still supported upstream when this was written, and the newest kubernetes-validate
# ships schemas for (its schemas are in the package: no network at test time).
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
SINGLE = ("indexer", "beat")


def documents() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def by_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def pod_specs() -> dict[str, dict]:
    """Every pod template of the manifests, by '<kind>/<name>'."""
    out = {}
    for doc in documents():
        spec = doc.get("spec", {})
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            out[f"{doc['kind']}/{doc['metadata']['name']}"] = spec["template"]["spec"]
        elif doc["kind"] == "CronJob":
            out[f"CronJob/{doc['metadata']['name']}"] = spec["jobTemplate"]["spec"]["template"]["spec"]
    return out


def xinfang_commands() -> set[str]:
    return set(main.list_commands(click.Context(main)))


def test_every_listed_manifest_exists_and_every_manifest_is_listed():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert documents()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_document_is_valid_against_the_kubernetes_schemas_strictly(version):
    """Strict: a misspelt or misplaced field (unknown to the API) is refused, as `kubectl apply` would refuse it."""
    problems = []
    for doc in documents():
        try:
            validate(doc, version, strict=True)
        except Exception as exc:  # ValidationError, or no schema for this apiVersion/kind in this release
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {str(exc).splitlines()[0]}")
    assert not problems, "\n".join(problems)


def test_the_validator_refuses_an_unknown_field():
    """The check above can fail: a field the API does not know is an error, not ignored."""
    deployment = by_kind("Deployment")["web"]
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {"limits": {"cpu": "1"}}
    with pytest.raises(Exception, match="resource"):
        validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_configuration_names_only_settings_that_exist_and_secrets_come_from_secret_objects():
    known = {row[0] for row in SETTINGS_TABLE}
    config = by_kind("ConfigMap")["xinfang-config"]["data"]
    secret = by_kind("Secret")["xinfang-secrets"]["stringData"]
    assert set(config) | set(secret) <= known, (set(config) | set(secret)) - known
    # Addresses that carry passwords are secrets, never in the ConfigMap.
    assert "replicaSet=" in secret["XINFANG_MONGODB_URI"]  # transactions need a replica set
    assert secret["XINFANG_BROKER_URL"].startswith("redis://")
    assert not {"XINFANG_MONGODB_URI", "XINFANG_BROKER_URL", "XINFANG_SECRET_KEY", "XINFANG_ENCRYPTION_KEY"} & set(config)
    # Every Secret or ConfigMap a pod refers to exists, with the key it asks for.
    secrets = {name: set(d.get("stringData", {})) | set(d.get("data", {})) for name, d in by_kind("Secret").items()}
    maps = {name: set(d.get("data", {})) for name, d in by_kind("ConfigMap").items()}
    for where, spec in pod_specs().items():
        for container in spec.get("initContainers", []) + spec["containers"]:
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, where
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in maps, where
            for env in container.get("env", []):
                ref = env.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    assert ref["secretKeyRef"]["key"] in secrets.get(ref["secretKeyRef"]["name"], set()), (where, env)
                assert "value" not in env or "PASSWORD" not in env["name"], f"{where}: a password written in the manifest"
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert {i["key"] for i in volume["secret"].get("items", [])} <= secrets[volume["secret"]["secretName"]]


def test_every_container_has_resources_and_every_long_running_one_probes():
    commands = xinfang_commands()
    for where, spec in pod_specs().items():
        for container in spec.get("initContainers", []) + spec["containers"]:
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), f"{where}/{container['name']}: requests"
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), f"{where}/{container['name']}: limits"
        if where.split("/")[0] in ("Job", "CronJob"):
            continue
        for container in spec["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{where}/{container['name']} has no {probe}"
                command = container[probe].get("exec", {}).get("command", [])
                if command[:1] == ["xinfang"]:  # a command of ours: it must exist (as `xinfang probe <role>`)
                    assert command[1] in commands, f"{where}: {command}"


def test_each_role_runs_an_existing_command_with_the_shared_data_volume():
    commands = xinfang_commands()
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
    for name in SINGLE:
        assert deployments[name]["spec"]["replicas"] == 1
        assert deployments[name]["spec"]["strategy"]["type"] == "Recreate"  # a rolling update would run two
    assert deployments["web"]["spec"]["replicas"] >= 2
    assert by_kind("StatefulSet")["mongodb"]["spec"]["replicas"] == 3
    autoscaled = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in by_kind("HorizontalPodAutoscaler").values()}
    assert set(autoscaled) == {"web", "worker"}  # never the indexer or the beat
    assert autoscaled["web"]["spec"]["minReplicas"] >= 2
    assert all(hpa["apiVersion"] == "autoscaling/v2" for hpa in autoscaled.values())


def test_disruption_budgets_keep_web_workers_and_the_store_majority():
    budgets = {tuple(b["spec"]["selector"]["matchLabels"].items()): b["spec"] for b in by_kind("PodDisruptionBudget").values()}
    assert budgets[(("app", "web"),)]["minAvailable"] >= 2
    assert budgets[(("app", "worker"),)]["minAvailable"] >= 1
    assert budgets[(("app", "mongodb"),)]["maxUnavailable"] == 1  # two of three members: a majority stays
    assert not {(("app", name),) for name in SINGLE} & set(budgets)  # a budget of a single pod blocks every drain


def test_network_policies_deny_by_default_and_open_only_what_is_needed():
    policies = by_kind("NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny

    def selected(policy: dict) -> set[str]:
        selector = policy["spec"]["podSelector"]
        if "matchLabels" in selector:
            return {selector["matchLabels"]["app"]}
        return {v for e in selector.get("matchExpressions", []) for v in e["values"]}

    def reachable(target: str, port: int) -> set[str]:
        """The apps allowed in to ``target`` on ``port`` (ingress rules of the target's policies)."""
        apps = set()
        for policy in policies.values():
            if target not in selected(policy):
                continue
            for rule in policy["spec"].get("ingress", []):
                if port in {p["port"] for p in rule.get("ports", [])}:
                    for peer in rule.get("from", []):
                        selector = peer.get("podSelector", {})
                        apps |= {selector["matchLabels"]["app"]} if "matchLabels" in selector else \
                            {v for e in selector.get("matchExpressions", []) for v in e["values"]}
        return apps

    platform = {"web", "worker", "indexer", "beat"}
    assert platform | {"mongodb"} <= reachable("mongodb", 27017)
    assert reachable("redis", 6379) == platform
    ingress_to_web = [rule for p in policies.values() if "web" in selected(p) for rule in p["spec"].get("ingress", [])]
    assert ingress_to_web and all("namespaceSelector" in peer for rule in ingress_to_web for peer in rule["from"])


def test_the_store_is_backed_up_with_its_oplog_to_a_volume():
    backup = by_kind("CronJob")["mongodb-backup"]
    assert backup["spec"]["concurrencyPolicy"] == "Forbid"
    spec = backup["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    script = " ".join(spec["containers"][0]["command"])
    assert "mongodump" in script and "--oplog" in script and "--archive" in script
    claim = spec["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim in by_kind("PersistentVolumeClaim")
    assert "mongorestore" in (K8S / "README.md").read_text() and "--oplogReplay" in (K8S / "README.md").read_text()
