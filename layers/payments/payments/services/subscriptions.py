"""The customer's own subscriptions: read one or all, turn automatic renewal off and back on.

Another user's subscription is indistinguishable from a missing one (404). Cancel and resume are
idempotent: asking again changes nothing and answers the subscription as it is.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from payments.domain import Caller, Changes, Subscription, Update, utc_now
from payments.domain.subscriptions import cancel_renewal, next_charge_at, resume_renewal
from payments.errors import NotFound
from payments.observability import count, logger
from payments.ports import SubscriptionStore
from payments.schemas import SubscriptionList, SubscriptionView
from payments.services.conflicts import retry_on_conflict
from payments.settings import Settings

_NEVER = datetime.min.replace(tzinfo=UTC)


def get_subscription(
    store: SubscriptionStore, settings: Settings, caller: Caller, subscription_id: str
) -> SubscriptionView:
    return _view(settings, _own(store, caller, subscription_id))


def list_subscriptions(store: SubscriptionStore, settings: Settings, caller: Caller) -> SubscriptionList:
    """The caller's subscriptions, the most recently started first (never-paid ones last)."""
    owned = [s for s in store.subscriptions_of(caller.user_id) if s.user_id == caller.user_id]
    owned.sort(key=lambda s: s.start_date or _NEVER, reverse=True)
    return SubscriptionList(subscriptions=[_view(settings, s) for s in owned])


def cancel_subscription(
    store: SubscriptionStore,
    settings: Settings,
    caller: Caller,
    subscription_id: str,
    now: datetime | None = None,
) -> SubscriptionView:
    """Renewal off: no further charge; the paid time is kept, then the subscription is ``canceled``."""
    changed = _change(store, caller, subscription_id, lambda s: cancel_renewal(s, now or utc_now()))
    return _view(settings, changed)


def resume_subscription(
    store: SubscriptionStore,
    settings: Settings,
    caller: Caller,
    subscription_id: str,
    now: datetime | None = None,
) -> SubscriptionView:
    """Renewal back on while the paid time runs and a card is saved (409 otherwise)."""
    changed = _change(store, caller, subscription_id, lambda s: resume_renewal(s, now or utc_now()))
    return _view(settings, changed)


def _change(
    store: SubscriptionStore,
    caller: Caller,
    subscription_id: str,
    decide: Callable[[Subscription], Subscription | None],
) -> Subscription:
    def attempt() -> Subscription:
        subscription = _own(store, caller, subscription_id)
        changed = decide(subscription)
        if changed is None:
            return subscription  # asked again: nothing to change
        store.commit(Changes(updated=(Update(subscription, changed),)))
        if changed.auto_renew:
            count("AutoRenewOn")
        else:
            count("AutoRenewOff")
        logger.info(
            "automatic renewal changed",
            extra={
                "subscriptionId": subscription_id,
                "autoRenew": changed.auto_renew,
                "status": str(changed.status),
            },
        )
        return changed

    return retry_on_conflict(attempt)


def _own(store: SubscriptionStore, caller: Caller, subscription_id: str) -> Subscription:
    subscription = store.get_subscription(subscription_id)
    if subscription is None or subscription.user_id != caller.user_id:
        raise NotFound("Subscription not found")
    return subscription


def _view(settings: Settings, subscription: Subscription) -> SubscriptionView:
    return SubscriptionView.of(subscription, next_charge_at(subscription, settings.renewal_policy))
