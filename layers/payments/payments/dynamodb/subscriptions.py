"""Subscriptions: by id, the owner's (``UserSubscriptionIndex``), and those whose paid time ends soon
(the PendingIndex's ``RENEW#<n>`` shards, for the renewal function). Written through ``commit``."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from payments.domain import Subscription
from payments.dynamodb import keys
from payments.dynamodb.items import SubscriptionItem
from payments.dynamodb.mapping import subscription_of
from payments.dynamodb.table import USER_SUBSCRIPTION_INDEX, Table


@dataclass(frozen=True)
class Subscriptions:
    table: Table
    shards: int

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self.table.get(SubscriptionItem, keys.subscription_key(subscription_id))
        return subscription_of(item) if item else None

    def subscriptions_of(self, user_id: str) -> list[Subscription]:
        """The user's subscriptions (one query of the index; eventually consistent)."""
        items = self.table.query(SubscriptionItem, user_id, index=USER_SUBSCRIPTION_INDEX)
        return [subscription_of(item) for item in items]

    def subscriptions_due(self, ending_before: datetime) -> Iterator[Subscription]:
        """Active and past-due subscriptions whose paid time ends before ``ending_before``: every
        ``RENEW#<n>`` shard, merged soonest first (only they carry those shards)."""
        shards = self.table.pending_oldest_first(
            SubscriptionItem, keys.RENEWAL_SHARD, self.shards, ending_before
        )
        for item in shards:
            yield subscription_of(item)
