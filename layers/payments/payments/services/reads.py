"""What every use case shares: a payment that must exist, a payment's order or subscription, and the
report of a receipt YooKassa could not register."""

from payments.domain import Payment, PaymentType
from payments.domain.delivery import Subject
from payments.observability import count, logger
from payments.ports import PaymentReader, SubjectReader


def reread(store: PaymentReader, payment_id: str) -> Payment:
    """The payment as stored now (after losing a race): payments are never deleted."""
    payment = store.get_payment(payment_id)
    assert payment is not None
    return payment


def subject_of(store: SubjectReader, payment: Payment) -> Subject | None:
    """The payment's order or subscription as it is now (``None`` if it vanished: never expected)."""
    if payment.type is PaymentType.ORDER:
        return store.get_order(payment.subject_id)
    return store.get_subscription(payment.subject_id)


def report_receipt(payment_id: str, registration: str | None) -> None:
    """A receipt YooKassa could not register (54-FZ): counted and alarmed, for a human to re-send."""
    if registration == "canceled":
        logger.error("YooKassa could not register the receipt", extra={"paymentId": payment_id})
        count("ReceiptFailed")
