"""Every decision and refusal of the domain says why, in the exact words that reach the logs and the API.

``Decision.why`` and ``Settlement.why`` end in the sync result that the webhook's audit entry and the
logs keep; a refusal's message is the ``message`` of the API's error envelope. ``make mutation`` found
them unpinned: these tests pin each one, and the few guards around them.
"""

from dataclasses import replace

import pytest

from payments.domain import PaymentStatus, PaymentType, ProviderStatus, decide_transition, success_status
from payments.domain.payments import attach_provider_payment, provider_metadata, start_subscription_payment
from payments.domain.refunds import refund_request_hash, reserve_refund
from payments.domain.settlement import close_payment, fail_before_provider, settle
from payments.errors import PaymentNotRefundable, ProviderError, RefundExceedsPayment

from .builders import (
    NOW,
    fetched,
    paid_payment,
    payment_of,
    subject_of,
    subscription_payment,
    undeliverable_cases,
)

P = PaymentStatus
UNDELIVERABLE = undeliverable_cases()


# ---------------------------------------------------------------- decide_transition
@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize(
    ("current", "provider", "why"),
    [
        (P.PENDING, ProviderStatus.PENDING, "provider is pending"),
        (P.PAID, ProviderStatus.WAITING_FOR_CAPTURE, "provider is waiting_for_capture"),
        (P.PENDING, ProviderStatus.SUCCEEDED, "succeeded"),
        (P.PAID, ProviderStatus.SUCCEEDED, "already settled"),
        (P.SUCCESS, ProviderStatus.SUCCEEDED, "already settled"),
        (P.REFUNDED, ProviderStatus.SUCCEEDED, "already settled"),
        (P.FAILED, ProviderStatus.SUCCEEDED, "provider succeeded but payment is failed"),
        (P.CANCELED, ProviderStatus.SUCCEEDED, "provider succeeded but payment is canceled"),
        (P.FAILED, ProviderStatus.CANCELED, "already canceled"),
        (P.CANCELED, ProviderStatus.CANCELED, "already canceled"),
        (P.PAID, ProviderStatus.CANCELED, "provider canceled but payment is paid"),
        (P.REFUNDED, ProviderStatus.CANCELED, "provider canceled but payment is refunded"),
    ],
)
def test_every_decision_says_why_in_these_words(payment_type, current, provider, why) -> None:
    assert decide_transition(payment_type, current, provider, "card_expired").why == why


# ---------------------------------------------------------------- settle / close_payment
@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_a_settlement_says_why_as_the_state_machine_decided(payment_type) -> None:
    """GIVEN a payment and its subject WHEN YooKassa's object moves it, repeats itself, contradicts it or
    is still pending THEN the settlement's why is the decision's: the webhook's audit and logs show it."""
    payment, subject = payment_of(payment_type), subject_of(payment_type)
    settled = replace(payment, status=success_status(payment_type))
    failed = replace(payment, status=P.FAILED)
    declined = fetched(payment, ProviderStatus.CANCELED, cancellation_reason="card_expired")

    assert settle(payment, subject, fetched(payment), NOW).why == "succeeded"
    assert settle(settled, subject, fetched(settled), NOW).why == "already settled"
    assert settle(failed, subject, fetched(failed), NOW).why == "provider succeeded but payment is failed"
    assert settle(payment, subject, fetched(payment, ProviderStatus.PENDING), NOW).why == "provider is pending"
    assert settle(payment, subject, declined, NOW).why == "card_expired"


@pytest.mark.parametrize("name", sorted(UNDELIVERABLE))
def test_money_refunded_because_it_cannot_buy_its_subject_still_says_it_succeeded(name) -> None:
    payment_type, subject, _ = UNDELIVERABLE[name]
    payment = payment_of(payment_type)
    assert settle(payment, subject, fetched(payment), NOW).why == "succeeded"


@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_a_repeated_success_for_a_subject_that_records_it_says_it_succeeded(payment_type) -> None:
    payment = payment_of(payment_type)
    recorded = (
        subject_of(payment_type, paid_payment_id="pay-1", active_payment_id=None)
        if payment_type is PaymentType.ORDER
        else subject_of(payment_type, last_payment_id="pay-1", periods_paid=1)
    )
    assert settle(payment, recorded, fetched(payment), NOW).why == "succeeded"


@pytest.mark.parametrize("status", [P.FAILED, P.CANCELED])
def test_a_close_says_its_reason_or_else_the_status_it_closes_with(status) -> None:
    payment, subject = payment_of(PaymentType.ORDER), subject_of(PaymentType.ORDER)
    assert close_payment(payment, subject, status, "expired_on_confirmation", None, NOW).why == (
        "expired_on_confirmation"
    )
    assert close_payment(payment, subject, status, None, None, NOW).why == str(status)


def test_a_create_yookassa_refused_says_why() -> None:
    payment, subject = payment_of(PaymentType.ORDER), subject_of(PaymentType.ORDER)
    assert fail_before_provider(payment, subject, "provider_refused", NOW).why == "provider_refused"


# ---------------------------------------------------------------- refusals: the API's message
def test_yookassa_naming_another_payment_for_ours_is_refused_in_these_words() -> None:
    with pytest.raises(ProviderError) as refused:
        attach_provider_payment(payment_of(PaymentType.ORDER, yookassa_id="yk-1"), "yk-2", None, NOW)
    assert refused.value.message == "YooKassa answered with another payment than the one we created"


def test_a_refund_of_an_unpaid_payment_is_refused_naming_its_status() -> None:
    with pytest.raises(PaymentNotRefundable) as refused:
        reserve_refund(paid_payment(status=P.FAILED), "req-1", refund_request_hash(None), None, NOW)
    assert refused.value.message == "The payment is failed; only a paid payment can be refunded"


@pytest.mark.parametrize("amount", [0, 150_001])
def test_a_refund_of_more_than_is_left_is_refused_saying_how_much_is_left(amount) -> None:
    with pytest.raises(RefundExceedsPayment) as refused:
        reserve_refund(paid_payment(refunded_amount=50_000), "req-1", refund_request_hash(amount), amount, NOW)
    assert refused.value.message == "At most 100000 kopecks are left to refund"


# ---------------------------------------------------------------- guards and fallbacks
@pytest.mark.parametrize("missing", ["subscription_id", "plan_id", "subscription_type"])
def test_a_subscription_payment_without_its_subscription_plan_or_type_never_creates_a_subscription(
    missing,
) -> None:
    with pytest.raises(AssertionError):
        start_subscription_payment(None, subscription_payment(**{missing: None}))


def test_a_subscription_payment_read_without_a_plan_sends_an_empty_plan_id_to_yookassa() -> None:
    assert provider_metadata(subscription_payment(plan_id=None))["planId"] == ""
