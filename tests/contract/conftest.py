"""The stores under contract: the in-memory fake and DynamoStore on moto's server, each on a fresh table.

Every test of test_store_contract.py runs against both, so the fake used by fast service tests cannot
drift from the adapter. A test asks for ``subject``; ``subject.store`` is typed as every storage port
at once, which also makes mypy check that both implement them all.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pytest

from payments.domain import AuditEntry
from payments.dynamodb import DynamoStore
from payments.ports import (
    CatalogStore,
    CreationStore,
    HealthStore,
    IdempotencyStore,
    ReconcileStore,
    StatusStore,
    WebhookStore,
)
from tests.fakes import InMemoryStore
from tests.support import audit_entries, create_table

TABLE = "contract-tests"


class Store(
    CreationStore,
    StatusStore,
    WebhookStore,
    ReconcileStore,
    CatalogStore,
    IdempotencyStore,
    HealthStore,
    Protocol,
):
    """Every storage port (payments/ports.py) at once."""


@dataclass(frozen=True)
class Subject:
    store: Store
    audit_entries: Callable[[str], list[AuditEntry]]  # one object's audit trail, oldest first
    table: str | None = None  # DynamoDB only: the test's own table
    endpoint: str | None = None


@pytest.fixture(scope="session")
def dynamo_store(dynamodb_endpoint: str) -> DynamoStore:
    """One adapter for the whole session (building its client costs more than a test); each test gets
    the table afresh under the same name."""
    return DynamoStore(TABLE)


@pytest.fixture(params=["memory", "dynamodb"])
def subject(request: pytest.FixtureRequest) -> Subject:
    if request.param == "memory":
        fake = InMemoryStore()
        return Subject(fake, fake.audit_entries)
    return _fresh(request.getfixturevalue("dynamodb_endpoint"), request.getfixturevalue("dynamo_store"))


@pytest.fixture
def dynamodb(dynamodb_endpoint: str, dynamo_store: DynamoStore) -> Subject:
    """DynamoStore alone, for what only the adapter has (the items it writes, the calls it makes)."""
    return _fresh(dynamodb_endpoint, dynamo_store)


def _fresh(endpoint: str, store: DynamoStore) -> Subject:
    create_table(endpoint, TABLE)  # drops the previous test's table first
    return Subject(store, lambda object_id: audit_entries(endpoint, TABLE, object_id), TABLE, endpoint)
