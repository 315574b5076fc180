"""Fixtures for the real-client end-to-end tests.

The registry under test is named by the environment variable
``AGENTRY_TEST_REGISTRY`` (e.g. ``http://127.0.0.1:41234``); ``tests/e2e/run``
starts ``agentry serve`` and sets it. Every test works in repositories of its
own (a random suffix), so the suite can run repeatedly against one registry.
"""

from __future__ import annotations

import os
import shutil
import uuid
from urllib.parse import urlsplit

import pytest
import requests

ENV = "AGENTRY_TEST_REGISTRY"


GAPS_ENV = "AGENTRY_TEST_DOCKER_REGISTRY_GAPS"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "docker_registry_gap(reason): checks a part of OCI Distribution 1.1 that Debian's "
        "docker-registry 2.8 lacks; with AGENTRY_TEST_DOCKER_REGISTRY_GAPS=1 (set by "
        "`tests/e2e/run --docker-registry`) such a test is a strict xfail, which proves the "
        "test can fail and that the harness works against a real registry",
    )


def pytest_collection_modifyitems(config, items):
    if os.environ.get(GAPS_ENV) != "1":
        return
    for item in items:
        mark = item.get_closest_marker("docker_registry_gap")
        if mark is not None:
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "docker-registry gap")
            item.add_marker(pytest.mark.xfail(reason=f"docker-registry 2.8: {reason}", strict=True))


@pytest.fixture(scope="session")
def registry_url() -> str:
    url = os.environ.get(ENV, "").rstrip("/")
    if not url:
        pytest.fail(
            f"{ENV} is not set: run tests/e2e/run (it starts a registry), "
            f"or set {ENV}=http://127.0.0.1:PORT",
            pytrace=False,
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        pytest.fail(f"{ENV}={url!r} is not an http(s) URL", pytrace=False)
    try:
        r = requests.get(f"{url}/v2/", timeout=10)
    except requests.RequestException as e:
        pytest.fail(f"{ENV}={url}: registry unreachable: {e}", pytrace=False)
    if r.status_code != 200:
        pytest.fail(f"{ENV}={url}: GET /v2/ answered {r.status_code}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def registry_host(registry_url: str) -> str:
    """host:port, the form skopeo and ORAS references use."""
    return urlsplit(registry_url).netloc


@pytest.fixture(scope="session")
def insecure(registry_url: str) -> bool:
    return urlsplit(registry_url).scheme == "http"


@pytest.fixture
def repo() -> str:
    """A repository name no other test (or earlier run) uses."""
    return f"e2e/{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def skopeo() -> str:
    path = shutil.which("skopeo")
    if path is None:
        pytest.fail("skopeo is not installed: run scripts/install-test-deps", pytrace=False)
    return path
