"""What the service tests share: the fakes, a priced order, and the two steps every flow takes."""

from datetime import UTC, datetime

import pytest

from payments.domain import Caller
from payments.schemas import CreateOrderPaymentRequest, PutOrderRequest
from payments.services.admin import put_order
from payments.services.payments import create_order_payment
from payments.services.sync import SyncOutcome, apply_provider_payment
from payments.settings import Settings
from tests.fake_yookassa import FakeYooKassa
from tests.fakes import InMemoryStore

ALICE = Caller("alice")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(table_name="payments", frontend_url="https://app.example")


@pytest.fixture
def store() -> InMemoryStore:
    store = InMemoryStore()
    put_order(store, "o-1", PutOrderRequest(userId="alice", amount=150000, description="Уборка"))
    return store


@pytest.fixture
def yookassa() -> FakeYooKassa:
    return FakeYooKassa()


def pay_order(store: InMemoryStore, yookassa: FakeYooKassa, amount: int = 150000) -> str:
    created = create_order_payment(
        store, yookassa, SETTINGS, ALICE, CreateOrderPaymentRequest(orderId="o-1", amount=amount), NOW
    )
    return created.payment_id


def settle(store: InMemoryStore, yookassa: FakeYooKassa, payment_id: str, at: datetime = NOW) -> SyncOutcome:
    payment = store.get_payment(payment_id)
    assert payment is not None and payment.yookassa_id is not None
    return apply_provider_payment(store, yookassa, payment, yookassa.succeed(payment.yookassa_id), at).outcome
