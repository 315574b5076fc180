"""The issue's "done when" path: `agentry push` an agent folder, then pull it
back with skopeo, with the ORAS SDK and with `agentry pull`, byte-identical.

The binary comes from AGENTRY_BIN (tests/e2e/run sets it to the binary it
serves); without it these tests are reported as skipped, never as passed.
Against docker-registry (`AGENTRY_BIN=... tests/e2e/run --docker-registry`)
they check the CLI against a reference registry."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import oras.client
import pytest

from ocitools import Http, canonical, layout_top, read_layout_blob, sha256

AGENT_TYPE = "application/vnd.ossa.agent.manifest.v1+json"
TEMPLATE = (Path(__file__).parent / "data" / "agent.ossa.yaml").read_text()


@pytest.fixture(scope="session")
def agentry_bin() -> str:
    path = os.environ.get("AGENTRY_BIN")
    if not path:
        pytest.skip("AGENTRY_BIN not set: the agentry CLI is not under test in this run")
    if not os.access(path, os.X_OK):
        pytest.fail(f"AGENTRY_BIN={path} is not executable", pytrace=False)
    return path


def agentry(bin_: str, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1"}
    env.pop("AGENTRY_REGISTRY", None)
    p = subprocess.run([bin_, *args], capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, f"agentry {' '.join(args)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def make_agent_folder(root: Path, name: str) -> dict[str, bytes]:
    files = {
        "manifest.yaml": TEMPLATE.replace("NAMESPACE", "e2e").replace("NAME", name).replace("VERSION", "2.0.0").encode(),
        "capabilities.json": canonical(
            {"skills": [{"name": "financial-analysis", "description": "Analyzes financial statements and generates reports"}]}
        ),
        "agent.py": b"def run(request):\n    return {'report': 'ok'}\n" * 20,
        "requirements.txt": b"requests==2.32.0\n",
        "context/prompt.md": b"# System prompt\nYou are a careful financial analyst.\n" * 30,
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def tar_members(blob: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        return {m.name.removeprefix("./"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_push_folder_then_pull_with_skopeo_oras_and_agentry(
    tmp_path, agentry_bin, skopeo, registry_url, registry_host, insecure, repo
):
    folder = tmp_path / "agent"
    files = make_agent_folder(folder, "cli-agent")
    ref = f"{registry_host}/{repo}:2.0.0"

    pushed = json.loads(agentry(agentry_bin, tmp_path, "--json", "push", str(folder), ref).stdout)

    http = Http(registry_url)
    r = http.get_manifest(repo, "2.0.0")
    assert r.status_code == 200, r.text
    manifest_bytes = r.content
    assert pushed["digest"] == sha256(manifest_bytes), pushed
    manifest = r.json()
    assert manifest["artifactType"] == AGENT_TYPE
    assert "org.opencontainers.image.created" in manifest.get("annotations", {})
    layers = {l["annotations"]["org.opencontainers.image.title"]: l for l in manifest["layers"]}
    assert {"manifest.yaml", "capabilities.json", "code-bundle.tar.gz", "context.tar.gz"} <= set(layers), layers
    assert layers["manifest.yaml"]["mediaType"] == "application/vnd.ossa.manifest.v1+yaml"
    assert layers["capabilities.json"]["mediaType"] == "application/vnd.ossa.capabilities.v1+json"
    blob = {t: http.get_blob(repo, l["digest"]).content for t, l in layers.items()}
    assert blob["manifest.yaml"] == files["manifest.yaml"]
    assert blob["capabilities.json"] == files["capabilities.json"]
    code = tar_members(blob["code-bundle.tar.gz"])
    assert code.get("agent.py") == files["agent.py"] and code.get("requirements.txt") == files["requirements.txt"], sorted(code)
    context = tar_members(blob["context.tar.gz"])
    assert files["context/prompt.md"] in context.values(), sorted(context)

    # skopeo: registry → OCI layout, byte-identical manifest and blobs.
    out = tmp_path / "skopeo-out"
    tls = ["--src-tls-verify=false"] if insecure else []
    p = subprocess.run(
        [skopeo, "--insecure-policy", "copy", "--quiet", *tls, "--preserve-digests",
         f"docker://{ref}", f"oci:{out}:pulled"],
        capture_output=True, text=True, timeout=600,
    )
    assert p.returncode == 0, p.stderr
    assert layout_top(out, "pulled")["digest"] == sha256(manifest_bytes)
    for t, l in layers.items():
        assert read_layout_blob(out, l["digest"]) == blob[t], t

    # ORAS SDK pull: files under their titles.
    oras_out = tmp_path / "oras-out"
    oras.client.OrasClient(hostname=registry_host, insecure=insecure).pull(target=ref, outdir=str(oras_out))
    assert (oras_out / "manifest.yaml").read_bytes() == files["manifest.yaml"]
    assert (oras_out / "capabilities.json").read_bytes() == files["capabilities.json"]

    # agentry pull: files under their titles, and --extract recreates the folder.
    pulled = tmp_path / "agentry-out"
    agentry(agentry_bin, tmp_path, "pull", ref, "-o", str(pulled))
    for t in layers:
        assert (pulled / t).read_bytes() == blob[t], t
    extracted = tmp_path / "agentry-extract"
    agentry(agentry_bin, tmp_path, "pull", "--extract", ref, "-o", str(extracted))
    for rel, data in files.items():
        assert (extracted / rel).read_bytes() == data, rel


def test_push_again_sends_no_blob_twice(tmp_path, agentry_bin, registry_url, registry_host, repo):
    folder = tmp_path / "agent"
    make_agent_folder(folder, "cli-again")
    first = json.loads(agentry(agentry_bin, tmp_path, "--json", "push", str(folder), f"{registry_host}/{repo}:a").stdout)
    second = json.loads(agentry(agentry_bin, tmp_path, "--json", "push", str(folder), f"{registry_host}/{repo}:b").stdout)
    first_outcomes = {b["title"]: b["outcome"] for b in first["blobs"] if b.get("title")}
    second_outcomes = {b["title"]: b["outcome"] for b in second["blobs"] if b.get("title")}
    assert set(first_outcomes.values()) <= {"uploaded", "uploaded_chunked"}, first["blobs"]
    # The folder is packed deterministically and HEAD comes first: nothing is sent again.
    assert set(second_outcomes) == set(first_outcomes)
    assert set(second_outcomes.values()) == {"existed"}, second["blobs"]
    http = Http(registry_url)
    assert sorted(http.tags(repo)) == ["a", "b"]
