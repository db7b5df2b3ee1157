"""Deployment files (deploy/): structure, cross-references and setting names, checked without a cluster.

No Docker engine or Kubernetes API server is available in CI, and kubeconform's schemas are not
available offline, so these checks are the schema check: every manifest names its kind and metadata,
probes hit the real routes on the container port, every reference (Secret key, ConfigMap, PVC,
scale target, upstream) resolves, and every ``HUASHU_*`` variable is a real ``Settings`` field, so
renaming a setting breaks this test. ``docker compose config`` and ``kubectl kustomize`` run when
their binaries are installed.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML

from app.settings import Settings
from eval.bench_scale import TARGET_UTILISATION, measure_index, replicas_needed

DEPLOY = Path(__file__).parents[1] / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "docker-compose.yml"
API_SERVICES = ("api-1", "api-2")
COMPOSE_ENV = {"POSTGRES_PASSWORD": "test-only", "HUASHU_API_KEYS": "[]"}


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text("utf-8")) if doc is not None]


def manifests() -> list[dict[str, Any]]:
    return [
        doc for path in sorted(K8S.glob("*.yaml")) for doc in load_documents(path) if doc["kind"] != "Kustomization"
    ]


def one(kind: str) -> dict[str, Any]:
    found = [doc for doc in manifests() if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} in deploy/k8s, found {len(found)}"
    return found[0]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def is_setting(variable: str, model: type[BaseModel] = Settings, prefix: str = "HUASHU_") -> bool:
    """Whether ``variable`` sets a ``Settings`` field (nested fields through ``__``)."""
    if not variable.startswith(prefix):
        return False
    head, _, rest = variable[len(prefix) :].lower().partition("__")
    field = model.model_fields.get(head)
    if field is None:
        return False
    if not rest:
        return True
    nested = field.annotation
    return isinstance(nested, type) and issubclass(nested, BaseModel) and is_setting(rest.upper(), nested, "")


def configured_variables(workload: dict[str, Any]) -> set[str]:
    """Every variable the workload's container gets: explicit env plus ConfigMaps and Secrets it loads."""
    spec = container(workload)
    names = {item["name"] for item in spec.get("env", [])}
    sources = {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] in ("ConfigMap", "Secret")}
    for source in spec.get("envFrom", []):
        ref = source.get("configMapRef") or source["secretRef"]
        data = sources[ref["name"]]
        names |= set(data.get("data", {})) | set(data.get("stringData", {}))
    return names


def test_every_manifest_has_kind_and_metadata() -> None:
    docs = manifests()
    assert {doc["kind"] for doc in docs} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Job",
        "PersistentVolumeClaim",
        "Secret",
        "ConfigMap",
    }
    for doc in docs:
        assert doc.get("apiVersion"), doc
        assert doc["metadata"].get("name"), doc


def test_kustomization_lists_every_manifest() -> None:
    (kustomization,) = load_documents(K8S / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(p.name for p in K8S.glob("*.yaml") if p.stem != "kustomization")


def test_deployment_probes_hit_readyz_and_healthz_on_the_served_port() -> None:
    deployment = one("Deployment")
    spec = container(deployment)
    (port,) = spec["ports"]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = spec[probe]["httpGet"]
        assert get["path"] == path
        assert get["port"] in (port["name"], port["containerPort"])
    settings = one("ConfigMap")["data"]
    assert int(settings["HUASHU_PORT"]) == port["containerPort"]
    assert settings["HUASHU_HOST"] == "0.0.0.0"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_service_routes_to_the_deployment_pods() -> None:
    service, deployment = one("Service"), one("Deployment")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    (port,) = container(deployment)["ports"]
    assert service["spec"]["ports"][0]["targetPort"] in (port["name"], port["containerPort"])


def test_secret_holds_api_keys_and_database_url_and_every_reference_resolves() -> None:
    secret = one("Secret")
    keys = set(secret["stringData"])
    assert keys == {"HUASHU_API_KEYS", "HUASHU_DATABASE_URL"}
    assert secret["stringData"]["HUASHU_DATABASE_URL"].startswith("postgresql+psycopg://")
    references = [
        item["valueFrom"]["secretKeyRef"]
        for item in container(one("Deployment")).get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    ]
    assert {ref["key"] for ref in references} == keys
    assert {ref["name"] for ref in references} == {secret["metadata"]["name"]}


def test_placeholder_api_key_is_rejected_so_a_forgotten_secret_cannot_start_an_open_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUASHU_API_KEYS", one("Secret")["stringData"]["HUASHU_API_KEYS"])
    with pytest.raises(ValidationError, match="sha256"):
        Settings()


def test_hpa_scales_the_deployment_on_cpu() -> None:
    hpa, deployment = one("HorizontalPodAutoscaler"), one("Deployment")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["averageUtilization"] == round(TARGET_UTILISATION * 100)


def test_job_runs_the_indexer_into_the_volume_the_replicas_read() -> None:
    job, deployment = one("Job"), one("Deployment")
    assert container(job)["command"][:4] == ["python", "-m", "indexer", "build"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
    claim = one("PersistentVolumeClaim")
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    index_dir = one("ConfigMap")["data"]["HUASHU_INDEX_DIR"]
    for workload in (job, deployment):
        (volume,) = workload["spec"]["template"]["spec"]["volumes"]
        assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        (mount,) = container(workload)["volumeMounts"]
        assert (mount["name"], mount["mountPath"]) == (volume["name"], index_dir)
    assert container(deployment)["volumeMounts"][0]["readOnly"] is True  # only the Job publishes


def test_k8s_variables_are_real_settings() -> None:
    for kind in ("Deployment", "Job"):
        variables = configured_variables(one(kind))
        assert variables, kind
        assert [v for v in variables if not is_setting(v)] == [], f"{kind}: not fields of app.settings.Settings"
    assert {"HUASHU_API_KEYS", "HUASHU_DATABASE_URL", "HUASHU_INDEX_POLL_SECONDS"} <= configured_variables(
        one("Deployment")
    )


def test_setting_name_check_rejects_unknown_names() -> None:
    assert is_setting("HUASHU_RANKING__SEMANTIC")
    assert not is_setting("HUASHU_RANKING__NO_SUCH_WEIGHT")
    assert not is_setting("HUASHU_INDEX_POLL_SECOND")
    assert not is_setting("INDEX_DIR")


def compose() -> dict[str, Any]:
    (document,) = load_documents(COMPOSE)
    return document


def test_compose_services_start_in_order_and_are_health_checked() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "indexer", *API_SERVICES, "nginx"}
    assert services["indexer"]["command"][:4] == ["python", "-m", "indexer", "build"]
    assert "--if-stale" in services["indexer"]["command"]
    for name in API_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["indexer"]["condition"] == "service_completed_successfully"
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])
    assert {name: services["nginx"]["depends_on"][name]["condition"] for name in API_SERVICES} == dict.fromkeys(
        API_SERVICES, "service_healthy"
    )
    assert all("healthcheck" in services[name] for name in ("postgres", *API_SERVICES, "nginx"))


def test_compose_replicas_share_postgres_and_the_index_volume() -> None:
    services = compose()["services"]
    for name in API_SERVICES:
        env = services[name]["environment"]
        assert env["HUASHU_DATABASE_URL"].startswith("postgresql+psycopg://huashu:")
        assert "@postgres:5432/huashu" in env["HUASHU_DATABASE_URL"]
        assert float(env["HUASHU_INDEX_POLL_SECONDS"]) > 0
        assert f"index:{env['HUASHU_INDEX_DIR']}:ro" in services[name]["volumes"]
    assert f"index:{services['indexer']['environment']['HUASHU_INDEX_DIR']}" in services["indexer"]["volumes"]


def test_compose_variables_are_real_settings() -> None:
    services = compose()["services"]
    for name in ("indexer", *API_SERVICES):
        unknown = [v for v in services[name]["environment"] if not is_setting(v)]
        assert unknown == [], f"{name}: not fields of app.settings.Settings"


def test_nginx_balances_over_every_replica_on_the_served_port() -> None:
    conf = (DEPLOY / "nginx.conf").read_text("utf-8")
    services = compose()["services"]
    upstream = re.findall(r"^\s*server\s+([\w-]+):(\d+)\s+([^;]*);", conf, re.MULTILINE)
    assert sorted(host for host, _, _ in upstream) == sorted(API_SERVICES)
    for host, port, options in upstream:
        assert int(port) == int(services[host]["environment"]["HUASHU_PORT"])
        assert "max_fails=" in options and "fail_timeout=" in options
    (listen,) = re.findall(r"^\s*listen\s+(\d+);", conf, re.MULTILINE)
    assert any(mapping.endswith(f":{listen}") for mapping in services["nginx"]["ports"])
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]


def compose_command() -> list[str] | None:
    """``docker compose`` (plugin) or ``docker-compose``, whichever is installed; None otherwise."""
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def run_compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed: compose config not run")
    clean = {k: v for k, v in os.environ.items() if k not in COMPOSE_ENV}
    return subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_docker_compose_config_accepts_the_file() -> None:
    result = run_compose_config(COMPOSE_ENV)
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_requires_the_secrets() -> None:
    result = run_compose_config({"HUASHU_API_KEYS": "[]"})
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_kubectl_kustomize_renders_every_manifest() -> None:
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed: kustomize rendering not run")
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=False, timeout=60
    )
    assert rendered.returncode == 0, rendered.stderr
    kinds = sorted(doc["kind"] for doc in YAML(typ="safe").load_all(rendered.stdout) if doc)
    assert kinds == sorted(doc["kind"] for doc in manifests())


def test_replica_count_grows_with_agents_and_keeps_a_spare() -> None:
    per_core = 100.0
    assert replicas_needed(1, 12, per_core, 2) == 2
    peak = 3000 * 12 / 60
    assert replicas_needed(3000, 12, per_core, 2) == math.ceil(peak / (per_core * 2 * TARGET_UTILISATION)) + 1
    assert replicas_needed(3000, 12, per_core, 4) < replicas_needed(3000, 12, per_core, 2)


def test_small_synthetic_index_uses_exact_search_and_reports_its_size() -> None:
    figures = measure_index(2000, np.random.default_rng(0))
    assert figures.kind == "flat-ip"
    assert figures.disk_mb == pytest.approx(2000 * 384 * 4 / 2**20, rel=0.01)
    assert 1 in figures.latency_ms
    assert all(0 < p50 <= p99 for p50, p99 in figures.latency_ms.values())


# -- the image: explicit, writable paths for its non-root user --------------------------------------------------
DOCKERFILE = Path(__file__).parents[1] / "Dockerfile"
PATH_SETTINGS = ("HUASHU_MODEL_DIR", "HUASHU_LIBRARY_DIR", "HUASHU_INDEX_DIR", "HUASHU_CACHE_DIR", "HUASHU_DATA_DIR")
WRITTEN_AT_RUN_TIME = ("HUASHU_LIBRARY_DIR", "HUASHU_INDEX_DIR", "HUASHU_CACHE_DIR", "HUASHU_DATA_DIR")


def runtime_stage() -> str:
    return DOCKERFILE.read_text("utf-8").split("AS runtime", 1)[1]


def runtime_env() -> dict[str, str]:
    """Every ``KEY=value`` of the runtime stage's ENV instructions (continuation lines included)."""
    joined = runtime_stage().replace("\\\n", " ")
    pairs = [pair for line in joined.splitlines() if line.startswith("ENV ") for pair in line[4:].split()]
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def test_the_image_sets_every_path_absolute_and_outside_the_installed_package() -> None:
    env = runtime_env()
    for name in PATH_SETTINGS:
        assert name in env, f"{name} is not set in the runtime image"
        assert env[name].startswith("/") and "site-packages" not in env[name], f"{name}={env[name]}"
    settings = Settings(**{name.removeprefix("HUASHU_").lower(): Path(env[name]) for name in PATH_SETTINGS})
    assert str(settings.effective_database_url).startswith(f"sqlite:///{env['HUASHU_DATA_DIR']}/")


def test_what_the_service_writes_belongs_to_its_non_root_user() -> None:
    stage = runtime_stage()
    user = next(line.split()[1] for line in reversed(stage.splitlines()) if line.startswith("USER "))
    assert user not in ("root", "0", "0:0")
    owned = [line.split()[-1] for line in stage.splitlines() if line.startswith("COPY") and f"--chown={user}" in line]
    env = runtime_env()
    for name in WRITTEN_AT_RUN_TIME:
        assert any(env[name] == root or env[name].startswith(root + "/") for root in owned), (
            f"{name}={env[name]} is not under a directory copied --chown={user}: the service could not write it"
        )


def test_default_paths_follow_the_working_directory_not_the_package() -> None:
    for name in ("library_dir", "index_dir", "cache_dir", "data_dir", "model_dir"):
        default = Settings.model_fields[name].default
        assert not default.is_absolute(), f"{name} default {default} is absolute"


def _docker_engine() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine here: the image is checked by the tests above")
def test_the_image_starts_as_its_user_and_writes_where_it_should() -> None:
    tag = "huashu-test:latest"
    subprocess.run(["docker", "build", "-t", tag, str(DOCKERFILE.parent)], check=True)
    name = f"huashu-test-{os.getpid()}"
    subprocess.run(["docker", "run", "-d", "--name", name, tag], check=True, capture_output=True)
    try:
        probe = (
            "import json, time, urllib.request as u\n"
            "for _ in range(120):\n"
            "    try:\n"
            "        u.urlopen('http://127.0.0.1:8000/readyz', timeout=2); break\n"
            "    except Exception: time.sleep(1)\n"
            "r = u.Request('http://127.0.0.1:8000/v1/suggest', data=json.dumps({'message': '发票怎么开'}).encode(),"
            " headers={'content-type': 'application/json'})\n"
            "print(json.load(u.urlopen(r, timeout=10))['intent']['id'])\n"
        )
        run = subprocess.run(["docker", "exec", name, "python", "-c", probe], capture_output=True, text=True)
        assert run.returncode == 0 and run.stdout.strip() == "invoice", run.stderr
        who = subprocess.run(["docker", "exec", name, "id", "-un"], capture_output=True, text=True).stdout.strip()
        assert who == "huashu"
        files = subprocess.run(["docker", "exec", name, "ls", "/var/lib/huashu/data"], capture_output=True, text=True)
        assert "huashu.sqlite" in files.stdout
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
