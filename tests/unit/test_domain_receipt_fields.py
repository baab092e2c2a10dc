"""Receipt fields carried through the domain's decisions: the order's lines and VAT code, the payment's
receipt, and YooKassa's registration of it."""

from dataclasses import replace

from payments.domain.catalog import price_order
from payments.domain.payments import new_payment
from payments.domain.receipts import Contact, PaymentMode, Receipt, line
from payments.domain.settlement import settle
from tests.unit.builders import NOW, fetched, order, order_payment

RECEIPT = Receipt(Contact(email="a@b.c"), (line("Уборка", 1, 150_000, 1),), PaymentMode.FULL_PREPAYMENT)


def test_a_new_order_keeps_its_vat_code_and_lines() -> None:
    lines = (line("Уборка", 1, 100_000, 11), line("Окна", 1, 50_000, 11))
    created, _ = price_order(None, "o-1", "alice", 150_000, "Уборка", vat_code=11, receipt_lines=lines)
    assert (created.vat_code, created.receipt_lines) == (11, lines)


def test_a_new_payment_carries_its_receipt() -> None:
    payment = new_payment("pay-1", "alice", 150_000, NOW, "Уборка", order_id="o-1", receipt=RECEIPT)
    assert payment.receipt == RECEIPT


def test_a_settled_payment_keeps_yookassas_registration_of_its_receipt() -> None:
    payment = order_payment(receipt=RECEIPT, receipt_registration="pending")
    unpaid = order(active_payment_id=payment.payment_id)
    registered = settle(payment, unpaid, fetched(payment, receipt_registration="succeeded"), NOW)
    assert registered.payment.receipt_registration == "succeeded"
    unknown = settle(payment, unpaid, fetched(payment), NOW)  # YooKassa said nothing of it: ours stays
    assert unknown.payment.receipt_registration == "pending"
    fresh = settle(replace(payment, receipt_registration=None), unpaid, fetched(payment), NOW)
    assert fresh.payment.receipt_registration is None
