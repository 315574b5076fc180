"""skopeo (Debian's, containers/image) against the registry under test:
OCI layouts copied in and out byte-identically, multi-arch indexes,
registry-to-registry copies (cross-repository mount), inspect, list-tags and
delete. Every result is checked with plain HTTP as well, not just skopeo's word."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ocitools import (
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Http,
    canonical,
    descriptor,
    layout_top,
    make_image,
    make_index,
    read_layout_blob,
    sha256,
    write_layout,
)


def run_skopeo(skopeo: str, *args: str) -> str:
    cmd = [skopeo, "--insecure-policy", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p.stdout


def tls(insecure: bool, *flags: str) -> list[str]:
    return [f"{f}=false" for f in flags] if insecure else []


def copy(skopeo, insecure, src, dst, *extra):
    return run_skopeo(
        skopeo, "copy", "--quiet", *tls(insecure, "--src-tls-verify", "--dest-tls-verify"), *extra, src, dst
    )


def assert_manifest_stored(http: Http, repo: str, ref: str, manifest: bytes) -> None:
    r = http.get_manifest(repo, ref)
    assert r.status_code == 200, f"GET /v2/{repo}/manifests/{ref}: {r.status_code} {r.text}"
    assert r.content == manifest, f"manifest {ref} bytes changed on the way through the registry"
    assert r.headers.get("Docker-Content-Digest") == sha256(manifest), r.headers
    assert r.headers.get("Content-Type", "").split(";")[0] == json.loads(manifest)["mediaType"]


def test_oci_layout_in_and_out_is_byte_identical(tmp_path, skopeo, registry_url, registry_host, insecure, repo):
    img = make_image("single")
    src = tmp_path / "src"
    write_layout(src, "v1", img.blobs()[:-1], OCI_MANIFEST, img.manifest)

    copy(skopeo, insecure, f"oci:{src}:v1", f"docker://{registry_host}/{repo}:v1", "--preserve-digests")

    http = Http(registry_url)
    assert_manifest_stored(http, repo, "v1", img.manifest)
    assert_manifest_stored(http, repo, img.digest, img.manifest)
    for blob in [img.config, *img.layers]:
        r = http.get_blob(repo, sha256(blob))
        assert r.status_code == 200 and r.content == blob, f"blob {sha256(blob)}: {r.status_code}"
    assert http.tags(repo) == ["v1"]

    out = tmp_path / "out"
    copy(skopeo, insecure, f"docker://{registry_host}/{repo}:v1", f"oci:{out}:copied", "--preserve-digests")
    top = layout_top(out, "copied")
    assert top["digest"] == img.digest
    assert read_layout_blob(out, img.digest) == img.manifest
    for blob in [img.config, *img.layers]:
        assert read_layout_blob(out, sha256(blob)) == blob


def test_multi_arch_index_round_trip(tmp_path, skopeo, registry_url, registry_host, insecure, repo):
    images = {"amd64": make_image("multi", "amd64"), "arm64": make_image("multi", "arm64")}
    index = make_index(images)
    blobs = [b for img in images.values() for b in img.blobs()]
    src = tmp_path / "src"
    write_layout(src, "multi", blobs, OCI_INDEX, index)

    copy(skopeo, insecure, f"oci:{src}:multi", f"docker://{registry_host}/{repo}:multi", "--all", "--preserve-digests")

    http = Http(registry_url)
    assert_manifest_stored(http, repo, "multi", index)
    for img in images.values():
        assert_manifest_stored(http, repo, img.digest, img.manifest)

    out = tmp_path / "out"
    copy(skopeo, insecure, f"docker://{registry_host}/{repo}:multi", f"oci:{out}:multi", "--all", "--preserve-digests")
    assert layout_top(out, "multi")["digest"] == sha256(index)
    for blob in blobs:
        assert read_layout_blob(out, sha256(blob)) == blob


def test_registry_to_registry_copy_between_repositories(tmp_path, skopeo, registry_url, registry_host, insecure, repo):
    """containers/image mounts blobs across repositories (POST ?mount=&from=)."""
    img = make_image("mount")
    src = tmp_path / "src"
    write_layout(src, "v1", img.blobs()[:-1], OCI_MANIFEST, img.manifest)
    copy(skopeo, insecure, f"oci:{src}:v1", f"docker://{registry_host}/{repo}:v1", "--preserve-digests")

    other = f"{repo}-copy/nested"
    copy(skopeo, insecure, f"docker://{registry_host}/{repo}:v1", f"docker://{registry_host}/{other}:v2", "--preserve-digests")

    http = Http(registry_url)
    assert_manifest_stored(http, other, "v2", img.manifest)
    for blob in [img.config, *img.layers]:
        r = http.get_blob(other, sha256(blob))
        assert r.status_code == 200 and r.content == blob
    assert http.tags(other) == ["v2"]


def test_inspect_and_list_tags(tmp_path, skopeo, registry_host, insecure, repo):
    img = make_image("inspect")
    src = tmp_path / "src"
    write_layout(src, "v1", img.blobs()[:-1], OCI_MANIFEST, img.manifest)
    for tag in ("v1", "latest", "1.0.0"):
        copy(skopeo, insecure, f"oci:{src}:v1", f"docker://{registry_host}/{repo}:{tag}", "--preserve-digests")

    tls_flag = tls(insecure, "--tls-verify")
    listed = json.loads(run_skopeo(skopeo, "list-tags", *tls_flag, f"docker://{registry_host}/{repo}"))
    assert sorted(listed["Tags"]) == ["1.0.0", "latest", "v1"]

    raw = run_skopeo(skopeo, "inspect", "--raw", *tls_flag, f"docker://{registry_host}/{repo}:latest")
    assert raw.encode() == img.manifest

    info = json.loads(run_skopeo(skopeo, "inspect", *tls_flag, f"docker://{registry_host}/{repo}:1.0.0"))
    assert info["Digest"] == img.digest
    assert info["Architecture"] == "amd64"
    assert info["Layers"] == [sha256(l) for l in img.layers]


def test_delete_removes_the_manifest(tmp_path, skopeo, registry_url, registry_host, insecure, repo):
    img = make_image("delete")
    src = tmp_path / "src"
    write_layout(src, "v1", img.blobs()[:-1], OCI_MANIFEST, img.manifest)
    copy(skopeo, insecure, f"oci:{src}:v1", f"docker://{registry_host}/{repo}:v1", "--preserve-digests")

    http = Http(registry_url)
    assert http.get_manifest(repo, img.digest).status_code == 200
    run_skopeo(skopeo, "delete", *tls(insecure, "--tls-verify"), f"docker://{registry_host}/{repo}@{img.digest}")

    r = http.get_manifest(repo, img.digest)
    assert r.status_code == 404, f"deleted manifest still served: {r.status_code}"
    assert r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert http.get_manifest(repo, "v1").status_code == 404, "tag still resolves to a deleted manifest"


def test_agent_artifact_pulled_into_oci_layout(tmp_path, skopeo, registry_url, registry_host, insecure, repo):
    """An OCI 1.1 artifact (artifactType, empty config, non-image layers), as
    `agentry push` makes them, pushed with plain HTTP and pulled with skopeo."""
    files = {
        "manifest.yaml": (Path(__file__).parent / "data" / "agent.ossa.yaml").read_text()
        .replace("NAMESPACE", "e2e").replace("NAME", "skopeo-agent").replace("VERSION", "1.0.0").encode(),
        "capabilities.json": canonical({"skills": [{"name": f"skill-{i}", "description": "e2e"} for i in range(300)]}),
    }
    types = {
        "manifest.yaml": "application/vnd.ossa.manifest.v1+yaml",
        "capabilities.json": "application/vnd.ossa.capabilities.v1+json",
    }
    http = Http(registry_url)
    config = b"{}"
    for blob in [config, *files.values()]:
        r = http.s.post(
            f"{registry_url}/v2/{repo}/blobs/uploads/",
            params={"digest": sha256(blob)},
            data=blob,
            headers={"Content-Type": "application/octet-stream"},
        )
        if r.status_code == 202:  # registry does not do monolithic POST: POST then PUT
            loc = r.headers["Location"]
            loc = loc if loc.startswith("http") else registry_url + loc
            r = http.s.put(loc, params={"digest": sha256(blob)}, data=blob,
                           headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, f"blob upload: {r.status_code} {r.text}"
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.ossa.agent.manifest.v1+json",
            "config": descriptor(OCI_EMPTY, config),
            "layers": [
                descriptor(types[name], data, annotations={"org.opencontainers.image.title": name})
                for name, data in files.items()
            ],
            "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
        }
    )
    r = http.s.put(f"{registry_url}/v2/{repo}/manifests/1.0.0", data=manifest,
                   headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201, f"manifest PUT: {r.status_code} {r.text}"

    out = tmp_path / "out"
    copy(skopeo, insecure, f"docker://{registry_host}/{repo}:1.0.0", f"oci:{out}:agent", "--preserve-digests")
    assert layout_top(out, "agent")["digest"] == sha256(manifest)
    assert read_layout_blob(out, sha256(manifest)) == manifest
    for data in files.values():
        assert read_layout_blob(out, sha256(data)) == data
