"""Subscriptions: read here, written through ``commit`` with their payment."""

from dataclasses import dataclass

from payments.domain import Subscription
from payments.dynamodb import keys
from payments.dynamodb.items import SubscriptionItem
from payments.dynamodb.mapping import subscription_of
from payments.dynamodb.table import Table


@dataclass(frozen=True)
class Subscriptions:
    table: Table

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self.table.get(SubscriptionItem, keys.subscription_key(subscription_id))
        return subscription_of(item) if item else None
