"""Small helpers the e2e tests share: digests, OCI layouts written by hand,
and plain HTTP access to the registry under test (independent of the client
being tested, so a client bug cannot hide a server bug or the reverse)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
ACCEPT_ALL = ", ".join(
    [
        OCI_MANIFEST,
        OCI_INDEX,
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    d = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    d.update(extra)
    return d


def canonical(obj) -> bytes:
    """Stable JSON bytes, so a manifest's digest is known before it is pushed."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def targz(files: dict[str, bytes]) -> bytes:
    """A real gzip'd tar layer with fixed timestamps (reproducible digest)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class Image:
    """One single-platform image: its blobs and manifest bytes."""

    config: bytes
    layers: list[bytes]
    manifest: bytes

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers, self.manifest]


def make_image(seed: str, arch: str = "amd64", layer_count: int = 2) -> Image:
    layers = [
        targz({f"{seed}/file{i}.txt": f"{seed} layer {i} {arch}\n".encode() * 50 + os.urandom(64)})
        for i in range(layer_count)
    ]
    diff_ids = [sha256(gzip.decompress(l)) for l in layers]
    config = canonical(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    )
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": [descriptor(OCI_LAYER_GZIP, l) for l in layers],
            "annotations": {"org.opencontainers.image.title": seed},
        }
    )
    return Image(config, layers, manifest)


def make_index(images: dict[str, Image]) -> bytes:
    return canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                descriptor(OCI_MANIFEST, img.manifest, platform={"architecture": arch, "os": "linux"})
                for arch, img in images.items()
            ],
        }
    )


def write_layout(path: Path, tag: str, blobs: list[bytes], top_media_type: str, top: bytes) -> None:
    """Write an OCI image layout holding `blobs` with `top` tagged as `tag`."""
    (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for blob in [*blobs, top]:
        (path / "blobs" / "sha256" / sha256(blob).removeprefix("sha256:")).write_bytes(blob)
    index = {
        "schemaVersion": 2,
        "manifests": [
            descriptor(top_media_type, top, annotations={"org.opencontainers.image.ref.name": tag})
        ],
    }
    (path / "index.json").write_text(json.dumps(index))


def read_layout_blob(path: Path, digest: str) -> bytes:
    algo, hexpart = digest.split(":", 1)
    return (path / "blobs" / algo / hexpart).read_bytes()


def layout_top(path: Path, tag: str) -> dict:
    index = json.loads((path / "index.json").read_text())
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m
    raise AssertionError(f"tag {tag} not in {path}/index.json: {index}")


class Http:
    """Direct registry access with plain requests (the neutral observer)."""

    def __init__(self, base: str):
        self.base = base
        self.s = requests.Session()

    def get_manifest(self, repo: str, ref: str, accept: str = ACCEPT_ALL) -> requests.Response:
        return self.s.get(f"{self.base}/v2/{repo}/manifests/{ref}", headers={"Accept": accept}, timeout=30)

    def head_manifest(self, repo: str, ref: str) -> requests.Response:
        return self.s.head(f"{self.base}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT_ALL}, timeout=30)

    def get_blob(self, repo: str, digest: str) -> requests.Response:
        return self.s.get(f"{self.base}/v2/{repo}/blobs/{digest}", timeout=60)

    def tags(self, repo: str) -> list[str]:
        r = self.s.get(f"{self.base}/v2/{repo}/tags/list", timeout=30)
        assert r.status_code == 200, f"GET tags/list of {repo}: {r.status_code} {r.text}"
        return sorted(r.json().get("tags") or [])

    def referrers(self, repo: str, digest: str, artifact_type: str | None = None) -> requests.Response:
        params = {"artifactType": artifact_type} if artifact_type else None
        return self.s.get(f"{self.base}/v2/{repo}/referrers/{digest}", params=params, timeout=30)
