"""Fixtures: one sandbox for the session (reset before each test), a webhook receiver, the SDK configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from yookassa import Configuration

from local.yookassa_sandbox import Sandbox, start_sandbox
from tests.sandbox.support import Api, Receiver


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    with start_sandbox() as running:
        yield running


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.reset()
    return receiver_server


@pytest.fixture
def sandbox(sandbox_server: Sandbox, receiver: Receiver) -> Iterator[Sandbox]:
    """The session's sandbox, reset, with the SDK pointed at it and no webhook URL configured."""
    requests.post(f"{sandbox_server.base_url}/sandbox/reset", timeout=10).raise_for_status()
    sandbox_server.webhook_urls = []
    sandbox_server.dispatcher.timeout = 5.0
    Configuration.configure(sandbox_server.shop_id, sandbox_server.secret_key, api_url=sandbox_server.api_url)
    yield sandbox_server
    sandbox_server.webhook_urls = []


@pytest.fixture
def api(sandbox: Sandbox) -> Api:
    return Api(sandbox)


@pytest.fixture
def hooked(sandbox: Sandbox, receiver: Receiver) -> Receiver:
    """The receiver, subscribed to the sandbox's webhooks."""
    sandbox.webhook_urls.append(receiver.url)
    return receiver
