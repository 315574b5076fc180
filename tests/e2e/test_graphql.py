"""`/graphql` with a real GraphQL client: Python `gql` (HTTP transport for queries, its
websockets transport — graphql-transport-ws — for subscriptions).

A subscriber to `agentPublished` receives the agent someone pushes with `agentry push`; the
`agents` query finds it by meaning; `/metrics` shows the push in the Prometheus text format.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import pytest
import requests

from test_agentry_cli import agentry, agentry_bin  # noqa: F401  (fixture)

gql = pytest.importorskip("gql")
from gql import Client  # noqa: E402
from gql.transport.requests import RequestsHTTPTransport  # noqa: E402
from gql.transport.websockets import WebsocketsTransport  # noqa: E402

from gql import gql as parse  # noqa: E402


def card(name: str, description: str) -> dict:
    return {
        "protocolVersion": "0.3.0",
        "name": name,
        "description": description,
        "url": "https://agents.example.com/a2a",
        "version": "1.0.0",
        "capabilities": {"streaming": False},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "translate", "name": "translate",
                    "description": "Translates text between languages", "tags": ["language"]}],
    }


def test_subscriber_receives_the_push_and_query_finds_it(tmp_path, agentry_bin, registry_url, registry_host):  # noqa: F811
    ns = f"gql{uuid.uuid4().hex[:8]}"
    ws_url = registry_url.replace("http://", "ws://").replace("https://", "wss://") + "/graphql"
    received: list[dict] = []
    ready = threading.Event()
    done = threading.Event()
    errors: list[BaseException] = []

    async def subscribe() -> None:
        transport = WebsocketsTransport(
            url=ws_url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
        )
        async with Client(transport=transport) as session:
            sub = parse(
                "subscription($ns: String) { agentPublished(namespace: $ns) "
                "{ change repository version digest trustTier sourcePod } }"
            )
            ready.set()
            async for result in session.subscribe(sub, variable_values={"ns": ns}):
                received.append(result)
                break

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(subscribe(), timeout=60))
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)
        finally:
            ready.set()
            done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(30), "the subscription did not start"
    # The server registers the subscription once the client's `subscribe` message arrives;
    # give the session a moment to get there before pushing.
    import time

    time.sleep(1.0)
    path = tmp_path / "agent-card.json"
    path.write_text(json.dumps(card("Polyglot", "Translates documents and chat between dozens of languages")))
    home = tmp_path / "home"
    home.mkdir()
    agentry(agentry_bin, home, "push", str(path), f"{registry_host}/{ns}/polyglot:1.0.0")
    assert done.wait(30), "no agentPublished event within 30 s of the push"
    assert not errors, errors
    ev = received[0]["agentPublished"]
    assert ev["change"] == "PUBLISHED"
    assert ev["repository"] == f"{ns}/polyglot"
    assert ev["version"] == "1.0.0"
    assert ev["digest"].startswith("sha256:")

    # The same agent, found by meaning over GraphQL (HTTP transport).
    client = Client(transport=RequestsHTTPTransport(url=f"{registry_url}/graphql", timeout=30))
    q = parse(
        "query($ns: String) { agents(semantic: \"an assistant that converts text into other tongues\", "
        "namespace: $ns, limit: 5) { items { name namespace version digest trustTier } nextCursor } }"
    )
    out = client.execute(q, variable_values={"ns": ns})
    items = out["agents"]["items"]
    assert [i["name"] for i in items] == ["polyglot"], out
    assert items[0]["digest"] == ev["digest"]

    # A malformed query is refused by the server, and the client says so.
    with pytest.raises(Exception):
        client.execute(parse("{ agents { items { nope } } }"))

    # /metrics shows the push.
    text = requests.get(f"{registry_url}/metrics", timeout=10).text
    line = next(
        (l for l in text.splitlines()
         if l.startswith('agentry_http_requests_total{method="PUT",route="/v2/{name}/manifests/{reference}",status="201"}')),
        None,
    )
    assert line is not None, text
    assert float(line.rsplit(" ", 1)[1]) >= 1
