"""The reconciler checks payments several at a time, oldest first, and leaves abandoned payments alone
for a while between asks."""

from datetime import timedelta

import pytest

from payments.domain import PaymentStatus
from payments.schemas import CreateOrderPaymentRequest, PutOrderRequest
from payments.services.admin import put_order
from payments.services.payments import create_order_payment
from payments.services.reconcile import recheck_after, reconcile
from tests.fake_yookassa import FakeYooKassa
from tests.fakes import InMemoryStore
from tests.services.conftest import ALICE, NOW, SETTINGS


def test_a_backlog_is_settled_by_several_checks_at_once_each_payment_once(yookassa: FakeYooKassa) -> None:
    store = InMemoryStore()
    for n in range(40):
        put_order(store, f"o-{n}", PutOrderRequest(userId="alice", amount=150_000 + n, description="Уборка"))
    settings = SETTINGS.model_copy(update={"max_pending_payments_per_user": 100, "reconcile_concurrency": 8})
    for n in range(40):
        request = CreateOrderPaymentRequest(orderId=f"o-{n}", amount=150_000 + n)
        create_order_payment(store, yookassa, settings, ALICE, request, NOW + timedelta(seconds=n))
    for made in list(yookassa.payments.values()):
        yookassa.succeed(made.id)  # paid, and every notification lost

    summary = reconcile(store, yookassa, settings, NOW + timedelta(minutes=10), lambda: 600_000)

    assert (summary.checked, summary.fixed, summary.errors) == (40, 40, 0)
    assert {p.status for p in store.payments.values()} == {PaymentStatus.PAID}
    assert all(store.orders[f"o-{n}"].paid_payment_id for n in range(40))
    assert len([op for op, _ in yookassa.calls if op == "get_payment"]) == 40


def test_an_abandoned_payment_is_asked_again_only_after_a_pause_that_grows_with_its_age(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    request = CreateOrderPaymentRequest(orderId="o-1", amount=150_000)
    payment_id = create_order_payment(store, yookassa, SETTINGS, ALICE, request, NOW).payment_id

    def run(minutes: int) -> dict[str, object]:
        return reconcile(store, yookassa, SETTINGS, NOW + timedelta(minutes=minutes), lambda: 600_000).as_dict()

    asks = lambda: len([op for op, _ in yookassa.calls if op == "get_payment"])  # noqa: E731
    assert run(5)["checked"] == 1 and run(10)["checked"] == 1  # young: a webhook may be late, ask each run
    assert asks() == 2
    assert run(20)["checked"] == 1  # 20 minutes old: asked, then left alone for 5 minutes
    assert store.payments[payment_id].provider_checked_at == NOW + timedelta(minutes=20)
    assert run(24) == {
        "checked": 0,
        "fixed": 0,
        "conflicts": 0,
        "errors": 0,
        "unfinished": False,
        "deferred": 1,
    }
    assert asks() == 3
    assert run(26)["deferred"] == 1  # 26 minutes old: 6.5 minutes between asks
    assert run(27)["checked"] == 1
    yookassa.succeed(yookassa.only_payment().id)
    assert run(28)["deferred"] == 1  # paid meanwhile: its notification is the fast path, we are the net
    assert run(40)["fixed"] == 1
    assert store.payments[payment_id].status is PaymentStatus.PAID


@pytest.mark.parametrize(
    ("age", "pause"),
    [
        (timedelta(minutes=2), timedelta(0)),
        (timedelta(minutes=14, seconds=59), timedelta(0)),
        (timedelta(minutes=15), timedelta(minutes=3, seconds=45)),
        (timedelta(minutes=40), timedelta(minutes=10)),
        (timedelta(minutes=60), timedelta(minutes=15)),
        (timedelta(hours=20), timedelta(minutes=15)),
    ],
)
def test_the_pause_before_asking_again(age: timedelta, pause: timedelta) -> None:
    assert recheck_after(age) == pause
