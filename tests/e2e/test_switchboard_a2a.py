"""The switchboard's A2A adapter against a2a-sdk's own card routes.

a2a-sdk 1.x (`create_agent_card_routes`) serves the A2A spec's v1.0.1 sample card, with the
ETag and Cache-Control it sets; `agentry serve` is started with that agent as an `a2a`
switchboard source (`[[serve.switchboard]]`), and `agentry resolve` / the lookup endpoint must
return the card translated into agentry's record. Needs AGENTRY_BIN (tests/e2e/run sets it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CARD = REPO / "testdata/real/a2a/examples/spec-docs/sample-agent-card-v1.0.1.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not come up", pytrace=False)


@pytest.fixture
def a2a_agent():
    uvicorn = pytest.importorskip("uvicorn")
    from a2a.server.routes import create_agent_card_routes
    from a2a.types import AgentCard
    from google.protobuf import json_format
    from starlette.applications import Starlette

    card = json_format.ParseDict(json.loads(CARD.read_text()), AgentCard(), ignore_unknown_fields=True)
    app = Starlette(routes=create_agent_card_routes(card, cache_control="public, max-age=60"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/.well-known/agent-card.json")
    yield base
    server.should_exit = True
    t.join(timeout=5)


def test_resolve_an_a2a_sdk_agent_through_the_switchboard(a2a_agent, tmp_path):
    bin_ = os.environ.get("AGENTRY_BIN")
    if not bin_:
        pytest.skip("AGENTRY_BIN not set: the agentry CLI is not under test in this run")
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[serve]\nlisten = "127.0.0.1:{port}"\ndata = "{tmp_path / "data"}"\n\n'
        f'[[serve.switchboard]]\nprefix = "a2a"\nkind = "a2a"\nurls = ["{a2a_agent}"]\n'
        "allow_private = true\ntimeout_ms = 2000\n"
    )
    env = {**os.environ, "HOME": str(tmp_path)}
    pod = subprocess.Popen([bin_, "--config", str(config), "serve"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/ready")
        r = requests.get(f"{url}/api/v1/switchboard/lookup/@a2a:GeoSpatial Route Planner Agent", timeout=10)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["source"] == "a2a"
        assert doc["remote_url"] == f"{a2a_agent}/.well-known/agent-card.json"
        rec = doc["record"]
        assert rec["provenance"]["source_format"] == "a2a"
        assert rec["description"].startswith("Provides advanced route planning")
        assert any(p.get("endpoint") == "https://georoute-agent.example.com/a2a/v1" for p in rec["protocols"]), rec["protocols"]
        out = subprocess.run([bin_, "resolve", "@a2a:GeoSpatial Route Planner Agent", "--registry", url, "--json"],
                             env=env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["record"]["identity"]["version"] == rec["identity"]["version"]
        missing = subprocess.run([bin_, "resolve", "@a2a:nobody", "--registry", url],
                                 env=env, capture_output=True, text=True, timeout=30)
        assert missing.returncode == 3, missing.stderr
    finally:
        pod.terminate()
        pod.wait(timeout=30)
