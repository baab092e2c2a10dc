"""An in-memory fake of the ``YooKassa`` port, for service tests that run in milliseconds.

It keeps YooKassa's rules that our services rely on: a POST repeated with the same Idempotence-Key
answers with the object it made the first time; a refund never exceeds what is left of its payment;
ids are YooKassa-shaped; metadata is echoed. Tests steer it: ``succeed``/``cancel`` a payment, or make
the next call ``refuse`` (a definite ``ProviderError``) or ``time_out`` (``ProviderTimeout``, after or
without applying). The sandbox over HTTP (tests/integration, tests/sandbox) checks the real client.
"""

import uuid
from dataclasses import dataclass, field, replace
from typing import Self

from payments.domain import (
    Payment,
    PaymentType,
    ProviderMethod,
    ProviderPayment,
    ProviderRefund,
    ProviderRefundStatus,
    ProviderStatus,
    RefundRequest,
)
from payments.domain.receipts import Receipt
from payments.errors import ProviderError, ProviderNotFound, ProviderTimeout
from payments.money import CURRENCY


@dataclass
class FakeYooKassa:
    payments: dict[str, ProviderPayment] = field(default_factory=dict)
    refunds: dict[str, ProviderRefund] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # Idempotence-Key -> the object it made
    two_stage: dict[str, bool] = field(default_factory=dict)  # payment id -> created with capture: false
    receipts: dict[str, tuple[str, Receipt]] = field(default_factory=dict)  # receipt id -> (payment, receipt)
    fiscalization: bool = False
    calls: list[tuple[str, str | None]] = field(default_factory=list)  # (operation, Idempotence-Key)
    failures: list[Exception | str] = field(default_factory=list)  # next calls' faults, in order
    budget: float = 20.0
    saving: dict[str, bool] = field(default_factory=dict)  # payment id -> asked to save its card
    saved: set[str] = field(default_factory=set)  # saved method ids (a saved card's id: its payment's)
    next_charge: dict[str, str] = field(default_factory=dict)  # method id -> the next charge's outcome

    # ---------------------------------------------------------------- the port
    def with_budget(self, budget_seconds: float) -> Self:
        self.budget = min(self.budget, budget_seconds)
        return self

    def create_payment(self, payment: Payment, return_url: str) -> ProviderPayment:
        key = payment.idempotence_key()
        applied = self._fault("create_payment", key)
        if key in self.keys:
            return self.payments[self.keys[key]]
        metadata = {"paymentId": payment.payment_id, "userId": payment.user_id}
        if payment.type is PaymentType.ORDER:
            metadata["orderId"] = payment.subject_id
        else:
            metadata["subscriptionId"] = payment.subject_id
        made = ProviderPayment(
            id=str(uuid.uuid4()),
            status=ProviderStatus.PENDING,
            amount=payment.amount,
            currency=CURRENCY,
            paid=False,
            metadata=metadata,
            confirmation_url=None
            if payment.payment_method_id
            else f"https://yoomoney.example/checkout?orderId={payment.payment_id}&to={return_url}",
        )
        self.two_stage[made.id] = not payment.capture
        self.saving[made.id] = payment.save_method
        self.payments[made.id], self.keys[key] = made, made.id
        if payment.payment_method_id is not None:
            made = self._charge_saved(made, payment.payment_method_id)
        if applied is not None:
            raise applied  # made, but the answer was lost
        return made

    def get_payment(self, yookassa_id: str) -> ProviderPayment:
        self._fault("get_payment", None, raise_after=False)
        if yookassa_id not in self.payments:
            raise ProviderNotFound(http_status=404, provider_code="not_found")
        return self.payments[yookassa_id]

    def create_refund(self, payment: Payment, request: RefundRequest) -> ProviderRefund:
        key = request.idempotence_key()
        applied = self._fault("create_refund", key)
        if key in self.keys:
            return self.refunds[self.keys[key]]
        assert payment.yookassa_id is not None
        paid = self.payments[payment.yookassa_id]
        if request.amount > paid.amount - paid.refunded_amount:
            raise ProviderError("refund exceeds the payment", http_status=400, provider_code="invalid_request")
        made = ProviderRefund(
            id=str(uuid.uuid4()),
            payment_id=paid.id,
            status=ProviderRefundStatus.SUCCEEDED,
            amount=request.amount,
            currency=CURRENCY,
            metadata={"refundRequestId": request.request_id, "paymentId": payment.payment_id},
        )
        self.refunds[made.id], self.keys[key] = made, made.id
        self.payments[paid.id] = replace(paid, refunded_amount=paid.refunded_amount + request.amount)
        if applied is not None:
            raise applied
        return made

    def capture_payment(self, payment: Payment) -> ProviderPayment:
        return self._finish_hold("capture_payment", payment, payment.capture_key(), ProviderStatus.SUCCEEDED)

    def cancel_payment(self, payment: Payment) -> ProviderPayment:
        return self._finish_hold("cancel_payment", payment, payment.cancel_key(), ProviderStatus.CANCELED)

    def _finish_hold(
        self, operation: str, payment: Payment, key: str, status: ProviderStatus
    ) -> ProviderPayment:
        self._fault(operation, key, raise_after=False)
        assert payment.yookassa_id is not None
        held = self.payments[payment.yookassa_id]
        if key in self.keys:
            return held  # the same capture or cancel again
        if held.status is not ProviderStatus.WAITING_FOR_CAPTURE:
            raise ProviderError("Payment can not be captured in current status.", http_status=400)
        reason = "canceled_by_merchant" if status is ProviderStatus.CANCELED else None
        done = replace(held, status=status, paid=status is ProviderStatus.SUCCEEDED, cancellation_reason=reason)
        self.payments[held.id], self.keys[key] = done, held.id
        return done

    def get_refund(self, refund_id: str) -> ProviderRefund:
        self._fault("get_refund", None, raise_after=False)
        if refund_id not in self.refunds:
            raise ProviderNotFound(http_status=404, provider_code="not_found")
        return self.refunds[refund_id]

    def create_receipt(self, payment: Payment, receipt: Receipt, idempotence_key: str) -> str:
        self._fault("create_receipt", idempotence_key, raise_after=False)
        if idempotence_key not in self.keys:
            receipt_id = str(uuid.uuid4())
            self.receipts[receipt_id], self.keys[idempotence_key] = (payment.payment_id, receipt), receipt_id
        return self.keys[idempotence_key]

    def fiscalization_enabled(self) -> bool:
        return self.fiscalization

    def check_credentials(self) -> bool:
        return True

    # ---------------------------------------------------------------- steering
    def succeed(self, yookassa_id: str) -> ProviderPayment:
        """The customer pays: succeeded, or held (``waiting_for_capture``) for a two-stage payment; a
        card the payment asked to save is saved (its id: the payment's)."""
        held = self.two_stage.get(yookassa_id, False)
        status = ProviderStatus.WAITING_FOR_CAPTURE if held else ProviderStatus.SUCCEEDED
        save = self.saving.get(yookassa_id, False)
        method = ProviderMethod(yookassa_id, saved=save, card_last4="4477", card_type="Visa")
        if save:
            self.saved.add(yookassa_id)
        self.payments[yookassa_id] = replace(
            self.payments[yookassa_id], status=status, paid=True, payment_method=method
        )
        return self.payments[yookassa_id]

    def _charge_saved(self, made: ProviderPayment, method_id: str) -> ProviderPayment:
        """A renewal: the saved card is charged at once (``next_charge`` decides how it ends)."""
        outcome = self.next_charge.pop(method_id, "succeeded")
        if method_id not in self.saved:
            outcome = "permission_revoked"
        if outcome == "permission_revoked":
            self.saved.discard(method_id)
        if outcome != "succeeded":
            self.cancel(made.id, outcome, "yoo_money" if outcome == "permission_revoked" else "payment_network")
            return self.payments[made.id]
        charged = self.succeed(made.id)
        method = ProviderMethod(method_id, saved=True, card_last4="4477", card_type="Visa")
        self.payments[made.id] = replace(charged, payment_method=method)
        return self.payments[made.id]

    def cancel(
        self, yookassa_id: str, reason: str = "insufficient_funds", party: str = "payment_network"
    ) -> None:
        self.payments[yookassa_id] = replace(
            self.payments[yookassa_id],
            status=ProviderStatus.CANCELED,
            cancellation_reason=reason,
            cancellation_party=party,
        )

    def refuse(self, code: str = "invalid_request") -> None:
        """The next call is refused: nothing is made."""
        self.failures.append(ProviderError("refused", http_status=400, provider_code=code))

    def time_out(self, applied: bool = False) -> None:
        """The next call's answer never comes; with ``applied`` the object is made all the same."""
        self.failures.append("applied" if applied else ProviderTimeout())

    def only_payment(self) -> ProviderPayment:
        [made] = self.payments.values()
        return made

    def _fault(self, operation: str, key: str | None, raise_after: bool = True) -> ProviderTimeout | None:
        self.calls.append((operation, key))
        if not self.failures:
            return None
        fault = self.failures.pop(0)
        if fault == "applied" and raise_after:
            return ProviderTimeout()
        if isinstance(fault, Exception):
            raise fault
        return None
