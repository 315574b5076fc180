"""The ORAS Python SDK (`pip install oras`) against the registry under test:
an agent artifact with an `artifactType` pushed and pulled back byte-identical,
referrers attached with `subject` and listed through the referrers API,
chunked uploads, tag pagination and deletion. Results are cross-checked with
plain HTTP (ocitools.Http)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import oras.client
import oras.oci
import pytest

from ocitools import OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, Http, canonical, sha256

AGENT_TYPE = "application/vnd.ossa.agent.manifest.v1+json"
SIGNATURE_TYPE = "application/vnd.agentry.test.signature.v1+json"
SBOM_TYPE = "application/spdx+json"


class ArtifactClient(oras.client.OrasClient):
    """The SDK's client, plus the OCI 1.1 `artifactType` field that its push()
    does not set: everything else (blob uploads, config, subject, manifest PUT)
    is the SDK's own code path."""

    artifact_type: str | None = None

    def upload_manifest(self, manifest, container):
        if self.artifact_type:
            manifest = {**manifest, "artifactType": self.artifact_type}
        return super().upload_manifest(manifest, container)


@pytest.fixture
def client(registry_host, insecure) -> ArtifactClient:
    return ArtifactClient(hostname=registry_host, insecure=insecure)


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """ORAS only pushes files below the current directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


AGENT_TEMPLATE = (Path(__file__).parent / "data" / "agent.ossa.yaml").read_text()


def agent_files(workdir: Path, name: str) -> dict[str, bytes]:
    """An agent folder's two small files: a real ≈2 KB OSSA manifest.yaml and
    ≈20 KB of capabilities.json (skill schemas)."""
    skills = [
        {
            "name": f"skill-{i}",
            "description": "does a thing " * 4,
            "input-schema": {"type": "object", "properties": {"text": {"type": "string"}}},
            "output-schema": {"type": "object", "properties": {"result": {"type": "string"}}},
        }
        for i in range(120)
    ]
    files = {
        "manifest.yaml": AGENT_TEMPLATE.replace("NAMESPACE", "e2e").replace("NAME", name).replace("VERSION", "1.0.0").encode(),
        "capabilities.json": canonical({"protocols": [{"type": "a2a", "version": "1.0", "endpoint": "/a2a"}], "skills": skills}),
    }
    for fname, data in files.items():
        (workdir / fname).write_bytes(data)
    (workdir / "config.json").write_bytes(b"{}")
    return files


def push_agent(client: ArtifactClient, target: str, workdir: Path, name: str, **kw):
    files = agent_files(workdir, name)
    client.artifact_type = AGENT_TYPE
    resp = client.push(
        target=target,
        files=[
            "manifest.yaml:application/vnd.ossa.manifest.v1+yaml",
            "capabilities.json:application/vnd.ossa.capabilities.v1+json",
        ],
        manifest_config=f"config.json:{OCI_EMPTY}",
        manifest_annotations={"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
        quiet=True,
        **kw,
    )
    assert resp.status_code == 201, f"manifest PUT answered {resp.status_code}: {resp.text}"
    return resp, files


def subject_of(http: Http, repo: str, ref: str) -> oras.oci.Subject:
    r = http.get_manifest(repo, ref)
    assert r.status_code == 200, r.text
    return oras.oci.Subject(mediaType=OCI_MANIFEST, digest=sha256(r.content), size=len(r.content))


def push_referrer(client, workdir, target, subject, artifact_type, body: bytes, annotations=None):
    (workdir / "payload.json").write_bytes(body)
    (workdir / "config.json").write_bytes(b"{}")
    client.artifact_type = artifact_type
    resp = client.push(
        target=target,
        files=[f"payload.json:{artifact_type}"],
        manifest_config=f"config.json:{OCI_EMPTY}",
        manifest_annotations=annotations,
        subject=subject,
        quiet=True,
    )
    assert resp.status_code == 201, f"referrer manifest PUT answered {resp.status_code}: {resp.text}"
    return resp


def referrers_via_oras(client, registry_host, repo, digest, artifact_type=None):
    """The SDK has no referrers call; go through its session and auth (do_request)."""
    url = f"{client.prefix}://{registry_host}/v2/{repo}/referrers/{digest}"
    if artifact_type:
        url += f"?artifactType={artifact_type}"
    return client.do_request(url, "GET", headers={"Accept": OCI_INDEX})


def test_push_and_pull_agent_artifact_with_artifact_type(client, workdir, registry_url, registry_host, repo):
    resp, files = push_agent(client, f"{registry_host}/{repo}:1.0.0", workdir, "agent-a")

    http = Http(registry_url)
    r = http.get_manifest(repo, "1.0.0")
    assert r.status_code == 200, r.text
    assert resp.headers.get("Docker-Content-Digest") == sha256(r.content)
    manifest = r.json()
    assert manifest["artifactType"] == AGENT_TYPE
    assert manifest["config"]["mediaType"] == OCI_EMPTY
    assert manifest["annotations"]["org.opencontainers.image.created"] == "2026-01-01T00:00:00Z"
    assert {l["annotations"]["org.opencontainers.image.title"]: l["mediaType"] for l in manifest["layers"]} == {
        "manifest.yaml": "application/vnd.ossa.manifest.v1+yaml",
        "capabilities.json": "application/vnd.ossa.capabilities.v1+json",
    }

    assert client.get_manifest(f"{registry_host}/{repo}:1.0.0") == manifest

    out = workdir / "pulled"
    pulled = client.pull(target=f"{registry_host}/{repo}:1.0.0", outdir=str(out))
    assert sorted(Path(p).name for p in pulled) == sorted(files)
    for name, data in files.items():
        assert (out / name).read_bytes() == data, f"{name} differs after pull"


def test_chunked_upload_and_pull(client, workdir, registry_url, registry_host, repo):
    big = os.urandom(3 * 1024 * 1024 + 12345)
    (workdir / "model.bin").write_bytes(big)
    (workdir / "config.json").write_bytes(b"{}")
    client.artifact_type = "application/vnd.agentry.test.model.v1"
    resp = client.push(
        target=f"{registry_host}/{repo}:big",
        files=["model.bin:application/octet-stream"],
        manifest_config=f"config.json:{OCI_EMPTY}",
        do_chunked=True,
        chunk_size=512 * 1024,
        quiet=True,
    )
    assert resp.status_code == 201, resp.text
    r = Http(registry_url).get_blob(repo, sha256(big))
    assert r.status_code == 200 and r.content == big

    out = workdir / "pulled"
    client.pull(target=f"{registry_host}/{repo}:big", outdir=str(out))
    assert (out / "model.bin").read_bytes() == big


@pytest.mark.docker_registry_gap("tags/list ignores n and is unsorted")
def test_tags_listed_and_paginated_through_oras(client, workdir, registry_url, registry_host, repo):
    push_agent(client, f"{registry_host}/{repo}:t0", workdir, "agent-tags")
    http = Http(registry_url)
    manifest = http.get_manifest(repo, "t0").content
    expected = sorted(["t0", *(f"t{i}" for i in range(1, 7))])
    for tag in expected[1:]:
        r = http.s.put(f"{registry_url}/v2/{repo}/manifests/{tag}", data=manifest, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201, r.text

    container = client.get_container(f"{registry_host}/{repo}")
    assert sorted(client.get_tags(container)) == expected
    # With `n`, the spec wants lexical order, so the first page is known.
    assert client.get_tags(container, N=3) == expected[:3]

    # Follow the registry's Link headers two tags at a time, as ORAS does.
    pages: list[list[str]] = []

    def collect(response):
        pages.append(response.json().get("tags") or [])
        return True

    client._do_paginated_request(f"{client.prefix}://{container.tags_url(N=2)}", callable=collect)
    assert [t for page in pages for t in page] == expected
    assert all(len(page) <= 2 for page in pages), pages


def test_delete_through_oras(client, workdir, registry_url, registry_host, repo):
    push_agent(client, f"{registry_host}/{repo}:gone", workdir, "agent-del")
    http = Http(registry_url)
    digest = sha256(http.get_manifest(repo, "gone").content)
    assert client.delete_tag(f"{registry_host}/{repo}", "gone") is True
    assert http.get_manifest(repo, digest).status_code == 404
    assert http.get_manifest(repo, "gone").status_code == 404


@pytest.mark.docker_registry_gap("no referrers API / OCI-Subject")
def test_subject_and_referrers_api(client, workdir, registry_url, registry_host, repo):
    push_agent(client, f"{registry_host}/{repo}:1.0.0", workdir, "agent-r")
    http = Http(registry_url)
    subject = subject_of(http, repo, "1.0.0")

    sig = push_referrer(
        client, workdir, f"{registry_host}/{repo}:sig", subject, SIGNATURE_TYPE,
        b'{"signature":"e2e"}', annotations={"org.example.signer": "e2e"},
    )
    assert sig.headers.get("OCI-Subject") == subject.digest, (
        f"PUT of a manifest with a subject must answer OCI-Subject: {subject.digest}; headers: {dict(sig.headers)}"
    )
    sbom = push_referrer(client, workdir, f"{registry_host}/{repo}:sbom", subject, SBOM_TYPE, b'{"spdxVersion":"SPDX-2.3"}')
    sig_digest = sig.headers["Docker-Content-Digest"]
    sbom_digest = sbom.headers["Docker-Content-Digest"]

    r = referrers_via_oras(client, registry_host, repo, subject.digest)
    assert r.status_code == 200, f"GET referrers: {r.status_code} {r.text}"
    assert r.headers.get("Content-Type", "").split(";")[0] == OCI_INDEX
    index = r.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    by_digest = {d["digest"]: d for d in index["manifests"]}
    assert set(by_digest) == {sig_digest, sbom_digest}
    sig_desc = by_digest[sig_digest]
    assert sig_desc["artifactType"] == SIGNATURE_TYPE
    assert sig_desc["mediaType"] == OCI_MANIFEST
    assert sig_desc["size"] == len(http.get_manifest(repo, sig_digest).content)
    assert sig_desc["annotations"]["org.example.signer"] == "e2e"
    assert by_digest[sbom_digest]["artifactType"] == SBOM_TYPE

    r = referrers_via_oras(client, registry_host, repo, subject.digest, artifact_type=SBOM_TYPE)
    assert r.status_code == 200, r.text
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"
    assert [d["digest"] for d in r.json()["manifests"]] == [sbom_digest]

    # Deleting a referrer removes it from the list.
    assert client.delete_tag(f"{registry_host}/{repo}", "sbom") is True
    r = referrers_via_oras(client, registry_host, repo, subject.digest)
    assert [d["digest"] for d in r.json()["manifests"]] == [sig_digest]


@pytest.mark.docker_registry_gap("no referrers API / OCI-Subject")
def test_referrer_pushed_before_its_subject(client, workdir, registry_url, registry_host, repo):
    """The spec lets a manifest name a subject that does not exist (yet)."""
    missing = oras.oci.Subject(mediaType=OCI_MANIFEST, digest=sha256(b"not pushed yet " + os.urandom(8)), size=123)
    sig = push_referrer(client, workdir, f"{registry_host}/{repo}:early", missing, SIGNATURE_TYPE, b'{"early":true}')
    r = referrers_via_oras(client, registry_host, repo, missing.digest)
    assert r.status_code == 200, r.text
    assert [d["digest"] for d in r.json()["manifests"]] == [sig.headers["Docker-Content-Digest"]]


@pytest.mark.docker_registry_gap("no referrers API / OCI-Subject")
def test_referrers_of_unknown_digest_is_empty_index(client, registry_host, repo, registry_url):
    r = referrers_via_oras(client, registry_host, repo, sha256(os.urandom(16)))
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    body = r.json()
    assert body["mediaType"] == OCI_INDEX and body["manifests"] == []
