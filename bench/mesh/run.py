#!/usr/bin/env python3
"""Mesh benchmarks with real `agentry serve` processes on loopback (issue #15).

1. Convergence: N pods joined through one seed (N = 3, 5, 10); an agent pushed to pod 0 through
   the OCI API; the time until every other pod's discovery API finds it, polled every 5 ms.
   Formula 3 bound: t_gossip + log2(N) * d_network, with t_gossip = 1 s (the pods' anti-entropy
   interval) and d_network = the measured loopback round trip (~0.1 ms; the whitepaper's 100 ms
   example is quoted too).
2. Federated query over 5 peers: 6 pods, 30 agents spread over them, `scope=federated` asked
   of pod 0 `QUERIES` times; p50/p99. Then one peer SIGKILLed: the same, bounded by the
   per-peer deadline (`--mesh-query-timeout-ms 250`).

Usage: bench/mesh/run [path/to/agentry]   (default target/release/agentry)
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target" / "release" / "agentry")
KEY = "bench mesh key, 32 bytes or so!!"
QUERIES = int(os.environ.get("MESH_BENCH_QUERIES", "300"))
ROUNDS = int(os.environ.get("MESH_BENCH_ROUNDS", "5"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pod:
    def __init__(self, root: Path, name: str, seed: int | None, extra: list[str] = ()):
        self.name, self.http, self.gossip = name, free_port(), free_port()
        args = [BIN, "serve", "--listen", f"127.0.0.1:{self.http}", "--data", str(root / name),
                "--mesh-listen", f"127.0.0.1:{self.gossip}", "--pod-id", name, "--mesh-key", KEY,
                "--trust-reverify-interval", "0", *extra]
        if seed:
            args += ["--mesh-seeds", f"127.0.0.1:{seed}"]
        self.log = open(root / f"{name}.log", "w")
        env = {**os.environ, "AGENTRY_LOG": "warn"}
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(f"{self.url}/ready")["ready"]:
                    break
            except Exception:
                pass
            assert self.proc.poll() is None, (root / f"{name}.log").read_text()
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    def stop(self, kill: bool = False):
        if self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(timeout=60)


def get(url: str, timeout: float = 5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def req(method: str, url: str, body: bytes = b"", headers: dict | None = None):
    r = urllib.request.Request(url, data=body if method != "GET" else None, method=method,
                               headers=headers or {})
    with urllib.request.urlopen(r, timeout=10) as resp:
        return resp.status, resp.headers


def push(pod: Pod, ns: str, name: str, words: str):
    """An agent artifact through the OCI API: config, one OSSA description layer, manifest."""
    desc = (f"apiVersion: ossa/v0.4.6\nkind: Agent\nmetadata:\n  name: {name}\n  version: 1.0.0\n"
            f"  description: {words}\nspec:\n  role: {words}\n").encode()
    config = b"{}"
    repo = f"{ns}/{name}"
    for blob in (desc, config):
        d = "sha256:" + hashlib.sha256(blob).hexdigest()
        _, h = req("POST", f"{pod.url}/v2/{repo}/blobs/uploads/")
        loc = h["Location"]
        loc = loc if loc.startswith("http") else pod.url + loc
        sep = "&" if "?" in loc else "?"
        req("PUT", f"{loc}{sep}digest={d}", blob, {"Content-Type": "application/octet-stream"})
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.ossa.agent.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.ossa.manifest.v1+yaml",
                    "digest": "sha256:" + hashlib.sha256(desc).hexdigest(), "size": len(desc)}],
    }
    req("PUT", f"{pod.url}/v2/{repo}/manifests/1.0.0", json.dumps(manifest).encode(),
        {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})


def found(pod: Pod, repo: str) -> bool:
    try:
        return any(f"{i['namespace']}/{i['name']}" == repo
                   for i in get(f"{pod.url}/api/v1/agents?name={repo}", timeout=2)["items"])
    except Exception:
        return False


def wait_members(pods: list[Pod]):
    deadline = time.monotonic() + 60
    while True:
        ok = all(sum(p["state"] == "alive" for p in get(f"{x.url}/api/v1/mesh/peers")["peers"])
                 == len(pods) - 1 for x in pods)
        if ok:
            return
        assert time.monotonic() < deadline, "membership did not settle"
        time.sleep(0.1)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))]


def convergence(n: int, root: Path) -> dict:
    seed = Pod(root, "pod-0", None)
    pods = [seed] + [Pod(root, f"pod-{i}", seed.gossip) for i in range(1, n)]
    try:
        t0 = time.monotonic()
        wait_members(pods)
        join = time.monotonic() - t0
        times = []
        for r in range(ROUNDS):
            repo = f"bench/conv-{n}-{r}"
            push(pods[0], "bench", f"conv-{n}-{r}", "converging agent")
            t = time.monotonic()
            pending = set(range(1, n))
            while pending:
                for i in list(pending):
                    if found(pods[i], repo):
                        pending.discard(i)
                assert time.monotonic() - t < 30, f"{repo} did not converge: {pending}"
                time.sleep(0.005)
            times.append(time.monotonic() - t)
        return {"pods": n, "join_s": join, "times": times}
    finally:
        for p in pods:
            p.stop()


def federated(root: Path) -> dict:
    extra = ["--mesh-query-timeout-ms", "250"]
    seed = Pod(root, "fed-0", None, extra)
    pods = [seed] + [Pod(root, f"fed-{i}", seed.gossip, extra) for i in range(1, 6)]
    try:
        wait_members(pods)
        for i in range(30):
            push(pods[i % 6], "fed", f"agent-{i}", f"invoice ledger reconciliation helper number {i}")
        time.sleep(2)
        q = f"{pods[0].url}/api/v1/agents?q=invoice+ledger&limit=20&scope=federated"

        def run() -> tuple[list[float], dict]:
            lat, last = [], {}
            for _ in range(QUERIES):
                t = time.perf_counter()
                last = get(q)
                lat.append((time.perf_counter() - t) * 1000)
            return lat, last

        all_up, ans = run()
        assert len(ans["federation"]["answered"]) == 5, ans["federation"]
        pods[5].stop(kill=True)
        one_down, ans2 = run()
        return {"up": all_up, "down": one_down, "items": len(ans["items"]),
                "failed_after_kill": ans2["federation"]["failed"][:1]}
    finally:
        for p in pods:
            p.stop()


def main():
    # A pod stopping may still be removing index files while the directory is cleaned up.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        root = Path(d)
        print(f"binary: {BIN}")
        print("| pods | join (all alive everywhere) | write → all pods p50 | max | Formula 3 bound (t_gossip 1 s, d 0.1 ms / 100 ms) |")
        print("|---:|---:|---:|---:|---:|")
        for n in (3, 5, 10):
            r = convergence(n, root)
            b1, b2 = 1 + math.log2(n) * 0.0001, 1 + math.log2(n) * 0.1
            print(f"| {n} | {r['join_s']*1000:.0f} ms | {statistics.median(r['times'])*1000:.1f} ms | "
                  f"{max(r['times'])*1000:.1f} ms | {b1:.2f} s / {b2:.2f} s |", flush=True)
        f = federated(root)
        print()
        print(f"federated query, 5 peers, {QUERIES} queries, {f['items']} items per answer:")
        print(f"| peers | p50 | p99 | max |")
        print("|---|---:|---:|---:|")
        for label, xs in (("5 up", f["up"]), ("4 up, 1 SIGKILLed (deadline 250 ms)", f["down"])):
            print(f"| {label} | {pct(xs, .5):.1f} ms | {pct(xs, .99):.1f} ms | {max(xs):.1f} ms |")
        print(f"after the kill, failed: {f['failed_after_kill']}")


if __name__ == "__main__":
    main()
