"""Issue #5's "done when": a user pushes a few agents with `agentry push` — an OSSA agent
folder in two versions, an A2A Agent Card and an MCP server.json — and finds each by name, by
version range, by skill, by words in its description and by a paraphrase of what it does,
from the CLI (`agentry search`) and from the REST API (`/api/v1/agents`).

The pod runs the real all-MiniLM-L6-v2 model (tests/e2e/run installs it into the pod's data
directory with `agentry model fetch` before starting it): paraphrases share no word with the
descriptions they must find."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import requests
from test_agentry_cli import TEMPLATE, agentry, agentry_bin  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory, agentry_bin, registry_host):  # noqa: F811
    home = tmp_path_factory.mktemp("home")
    ns = f"disc{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("agents")

    # An OSSA folder (Figure 8), versions 1.4.0 and 2.0.0.
    for version in ("1.4.0", "2.0.0"):
        folder = root / f"analyst-{version}"
        folder.mkdir()
        (folder / "manifest.yaml").write_text(
            TEMPLATE.replace("NAMESPACE", ns).replace("NAME", "portfolio-analyst").replace("VERSION", version)
        )
        (folder / "agent.py").write_text("def run(request):\n    return {}\n")
        agentry(agentry_bin, home, "push", str(folder), f"{registry_host}/{ns}/portfolio-analyst:{version}")

    # An A2A Agent Card, pushed as a single file.
    card = root / "agent-card.json"
    card.write_text(json.dumps({
        "protocolVersion": "0.3.0",
        "name": "Weather Oracle",
        "description": "Gives hourly weather forecasts and severe storm alerts for any city",
        "url": "https://weather.example.com/a2a",
        "version": "3.1.0",
        "capabilities": {"streaming": True},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "weather_forecast", "name": "weather_forecast",
                    "description": "Forecasts temperature, rain and wind for the next days", "tags": ["weather"]}],
    }))
    agentry(agentry_bin, home, "push", str(card), f"{registry_host}/{ns}/weather-oracle:3.1.0")

    # An MCP server.json.
    server = root / "server.json"
    server.write_text(json.dumps({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-10-17/server.schema.json",
        "name": "io.github.e2e-tests/pdf-tools",
        "description": "Extracts text and tables from PDF documents",
        "version": "0.3.1",
        "packages": [{"registryType": "npm", "identifier": "@e2e-tests/pdf-tools", "version": "0.3.1",
                      "transport": {"type": "stdio"}}],
    }))
    agentry(agentry_bin, home, "push", str(server), f"{registry_host}/{ns}/pdf-tools:0.3.1")
    return {"ns": ns, "home": home}


def search(agentry_bin, pushed, registry_host, *args) -> list[str]:  # noqa: F811
    out = agentry(agentry_bin, pushed["home"], "search", "--registry", registry_host,
                  "--namespace", pushed["ns"], "--json", *args).stdout
    return [f"{i['name']}@{i['version']}" for i in json.loads(out)["items"]]


def test_found_by_name_and_version_range_over_rest(pushed, registry_url):
    ns = pushed["ns"]

    def get(path):
        return requests.get(registry_url + path, timeout=30)

    r = get(f"/api/v1/agents/{ns}/portfolio-analyst")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == "2.0.0" and body["versions"] == ["2.0.0", "1.4.0"], body
    assert body["record"]["identity"]["name"] == "portfolio-analyst"
    r = get(f"/api/v1/agents/{ns}/portfolio-analyst@%5E1")
    assert r.status_code == 200 and r.json()["version"] == "1.4.0", r.text
    r = get(f"/api/v1/agents/{ns}/portfolio-analyst/1.4.0")
    assert r.status_code == 200 and r.json()["version"] == "1.4.0", r.text
    for name, version in (("weather-oracle", "3.1.0"), ("pdf-tools", "0.3.1")):
        r = get(f"/api/v1/agents/{ns}/{name}")
        assert r.status_code == 200 and r.json()["version"] == version, r.text
    # ...and written back in another format on request.
    r = get(f"/api/v1/agents/{ns}/weather-oracle?format=mcp")
    assert r.status_code == 200, r.text
    assert "Gives hourly weather forecasts" in r.json()["description"]
    r = get(f"/api/v1/agents/{ns}/portfolio-analyst@%5E9")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json"), r.text


def test_found_by_name_range_skill_and_words_from_the_cli(pushed, agentry_bin, registry_host):  # noqa: F811
    ns = pushed["ns"]
    assert search(agentry_bin, pushed, registry_host, "--name", f"{ns}/portfolio-analyst@~1.4") == ["portfolio-analyst@1.4.0"]
    assert search(agentry_bin, pushed, registry_host, "--name", f"{ns}/portfolio-analyst@latest") == ["portfolio-analyst@2.0.0"]
    by_skill = search(agentry_bin, pushed, registry_host, "--capability", "risk-assessment")
    assert set(by_skill) == {"portfolio-analyst@2.0.0", "portfolio-analyst@1.4.0"}, by_skill
    assert search(agentry_bin, pushed, registry_host, "--capability", "weather_forecast") == ["weather-oracle@3.1.0"]
    # Words, with a typo and a prefix.
    assert search(agentry_bin, pushed, registry_host, "storm", "alerts")[:1] == ["weather-oracle@3.1.0"]
    assert search(agentry_bin, pushed, registry_host, "tabels")[:1] == ["pdf-tools@0.3.1"]
    assert search(agentry_bin, pushed, registry_host, "extrac")[:1] == ["pdf-tools@0.3.1"]


@pytest.mark.parametrize("paraphrase, expected", [
    ("will it rain in Paris tomorrow", "weather-oracle"),
    ("pull the numbers out of a scanned report file", "pdf-tools"),
    ("judge how dangerous my investments are", "portfolio-analyst"),
])
def test_found_by_paraphrase_cli_and_rest(pushed, agentry_bin, registry_host, registry_url, paraphrase, expected):  # noqa: F811
    top = search(agentry_bin, pushed, registry_host, "--semantic", paraphrase)
    assert top and top[0].split("@")[0] == expected, (paraphrase, top)
    r = requests.get(f"{registry_url}/api/v1/agents", timeout=30,
                     params={"semantic": paraphrase, "namespace": pushed["ns"], "limit": "1"})
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["name"] == expected, r.text


def test_hybrid_fuses_words_and_meaning(pushed, agentry_bin, registry_host):  # noqa: F811
    # "storm" matches one description by word, the rest of the sentence by meaning only.
    top = search(agentry_bin, pushed, registry_host, "--mode", "hybrid", "storm coming before my picnic")
    assert top[:1] == ["weather-oracle@3.1.0"], top


def test_ready_reports_semantic_search_available(registry_url):
    r = requests.get(f"{registry_url}/ready", timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["semantic_search"]["status"] == "available", r.text
