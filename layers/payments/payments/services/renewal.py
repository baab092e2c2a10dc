"""The renewal function: every subscription whose paid time ends within ``renew_before`` is charged for
its next period to its saved card, retried while it is past due, or ended when its time is up.

A period is charged at most once, whatever is retried, re-run or crashes: the charge's payment is
written (and the subscription points at it) before YooKassa is asked, its id and so its Idempotence-Key
are derived from the subscription, the period's start and the try (``renewal_payment_id``; and the
subscription's version, so a period charged anew after a full refund is a new charge), and a run
that finds a charge in flight finishes that one instead of starting another. YooKassa's answer is applied
through the one sync path (``apply_provider_payment``), like every payment's: a decline moves the
subscription's dunning on (``settlement.close_payment``), success appends the period.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from payments.domain import (
    PROVIDER_IDEMPOTENCE_WINDOW,
    Changes,
    Payment,
    PaymentStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.domain.payments import start_renewal
from payments.domain.receipts import Receipt
from payments.domain.subscriptions import Step, current_choice, end_subscription, renewal_step
from payments.errors import NotFound, PaymentsError, PlanPriceMissing, ProviderError
from payments.money import Kopecks
from payments.observability import count, logger
from payments.ports import RenewalStore, YooKassa
from payments.services.conflicts import retry_on_conflict
from payments.services.payments import fail_unsent, return_url
from payments.services.receipts import subscription_receipt_for
from payments.services.sync import apply_provider_payment
from payments.settings import Settings


@dataclass
class RenewalSummary:
    checked: int = 0
    charged: int = 0  # charges made (or finished) this run
    renewed: int = 0  # of those, paid: the next period is on
    declined: int = 0
    ended: int = 0  # expired or canceled at the end of their paid time
    errors: int = 0
    unfinished: bool = False  # the time budget ran out; the next run continues
    failed_subscription_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "charged": self.charged,
            "renewed": self.renewed,
            "declined": self.declined,
            "ended": self.ended,
            "errors": self.errors,
            "unfinished": self.unfinished,
        }

    @property
    def all_failed(self) -> bool:
        return self.checked > 0 and self.errors == self.checked


def renew(
    store: RenewalStore,
    yookassa: YooKassa,
    settings: Settings,
    now: datetime,
    remaining_ms: Callable[[], int],
) -> RenewalSummary:
    """One run at ``now`` (the schedule's time): charge, retry or end every subscription that is due."""
    summary = RenewalSummary()
    policy = settings.renewal_policy
    reserve_ms = int((settings.yookassa_budget_seconds + 5) * 1000)
    # The index files subscriptions by the end of their paid time: everything ending within the window
    # (past due ones ended already); ``renewal_step`` decides what each needs at ``now``.
    ending_before = now + policy.renew_before + timedelta(microseconds=1)
    for subscription in store.subscriptions_due(ending_before):
        if remaining_ms() < reserve_ms:
            summary.unfinished = True
            logger.warning("renewal ran out of time", extra=summary.as_dict())
            break
        summary.checked += 1
        try:
            _renew_one(store, yookassa, settings, subscription.subscription_id, now, summary)
        except PaymentsError as exc:  # one subscription's trouble must not stop the others
            summary.errors += 1
            summary.failed_subscription_ids.append(subscription.subscription_id)
            logger.warning(
                "renewing a subscription failed",
                extra={"subscriptionId": subscription.subscription_id, "error_code": exc.code},
            )
    if summary.renewed:
        count("SubscriptionRenewed", summary.renewed)
    if summary.declined:
        count("RenewalDeclined", summary.declined)
    logger.info("renewal run", extra=summary.as_dict())
    return summary


def _renew_one(
    store: RenewalStore,
    yookassa: YooKassa,
    settings: Settings,
    subscription_id: str,
    now: datetime,
    summary: RenewalSummary,
) -> None:
    def attempt() -> Payment | None:
        subscription = store.get_subscription(subscription_id)  # the index is eventually consistent
        if subscription is None:
            return None
        in_flight = _charge_in_flight(store, subscription)
        if in_flight is not None:
            return in_flight if in_flight.renewal_attempt is not None else None  # a customer is paying
        renewal = renewal_step(subscription, now, settings.renewal_policy)
        if renewal.step is Step.WAIT:
            return None
        if renewal.step is Step.END:
            assert renewal.status is not None
            store.commit(
                Changes(updated=(Update(subscription, end_subscription(subscription, renewal.status)),))
            )
            summary.ended += 1
            logger.info(
                "subscription ended",
                extra={"subscriptionId": subscription_id, "status": str(renewal.status)},
            )
            return None
        try:
            changes = start_renewal(
                subscription,
                _plan_at_renewal(store, subscription),
                now,
                renewal.attempt,
                renewal.final,
                capture=settings.capture_mode == "auto",
                receipt_for=_receipts(store, settings, subscription),
            )
        except (NotFound, PlanPriceMissing):
            # Nothing can be charged (the plan or its price is gone): an operator may fix the catalog
            # before the paid time ends; after it, the subscription lapses instead of failing every hour.
            assert subscription.end_date is not None
            if now < subscription.end_date:
                raise
            expired = end_subscription(subscription, SubscriptionStatus.EXPIRED)
            store.commit(Changes(updated=(Update(subscription, expired),)))
            summary.ended += 1
            logger.error(
                "a subscription could not be renewed: its plan has no price",
                extra={"subscriptionId": subscription_id},
            )
            return None
        store.commit(changes)
        charge = changes.created[0]
        assert isinstance(charge, Payment)
        logger.info(
            "charging a renewal",
            extra={
                "subscriptionId": subscription_id,
                "paymentId": charge.payment_id,
                "attempt": renewal.attempt,
            },
        )
        return charge

    charge = retry_on_conflict(attempt)
    if charge is not None:
        _charge(store, yookassa, settings, charge, now, summary)


def _charge_in_flight(store: RenewalStore, subscription: Subscription) -> Payment | None:
    """The pending payment the subscription waits on, if any (a renewal, or a customer's checkout)."""
    if subscription.active_payment_id is None:
        return None
    payment = store.get_payment(subscription.active_payment_id)
    return payment if payment is not None and payment.status is PaymentStatus.PENDING else None


def _charge(
    store: RenewalStore,
    yookassa: YooKassa,
    settings: Settings,
    payment: Payment,
    now: datetime,
    summary: RenewalSummary,
) -> None:
    """Ask YooKassa for the charge (again, under its key, if an earlier run never learnt the answer) or
    for its state, and apply what it says."""
    summary.charged += 1
    if payment.yookassa_id is not None:
        fetched = yookassa.get_payment(payment.yookassa_id)
    elif now - payment.created_at > PROVIDER_IDEMPOTENCE_WINDOW:
        return  # too late to re-send under its key: the reconciler closes it (and the dunning moves on)
    else:
        try:
            fetched = yookassa.create_payment(payment, return_url(settings, payment))
        except ProviderError as exc:
            # A definite refusal (an unknown method, a limit): nothing was charged; a decline like any.
            fail_unsent(store, payment, exc.provider_code or "provider_error", now)
            summary.declined += 1
            return
    result = apply_provider_payment(store, yookassa, payment, fetched, now).payment
    if result.status is PaymentStatus.SUCCESS:
        summary.renewed += 1
    elif result.status is not PaymentStatus.PENDING:
        summary.declined += 1


def _plan_at_renewal(store: RenewalStore, subscription: Subscription) -> Plan:
    assert subscription.end_date is not None
    plan_id, _ = current_choice(subscription, subscription.end_date)
    plan = store.get_plan(plan_id)
    if plan is None:
        logger.error("a subscription's plan is gone: it cannot renew", extra={"planId": plan_id})
        raise NotFound("Plan not found")
    return plan


def _receipts(
    store: RenewalStore, settings: Settings, subscription: Subscription
) -> Callable[[Plan, SubscriptionType, Kopecks], Receipt | None]:
    """With receipts on, a renewal's receipt goes where the customer's last payment's went."""
    last = store.get_payment(subscription.last_payment_id) if subscription.last_payment_id else None
    contact = last.receipt.customer if last is not None and last.receipt is not None else None

    def receipt_for(plan: Plan, subscription_type: SubscriptionType, price: Kopecks) -> Receipt | None:
        return subscription_receipt_for(settings, plan, subscription_type, price, contact)

    return receipt_for
