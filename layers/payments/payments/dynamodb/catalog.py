"""The price sources: orders (written through ``commit``) and plans (written whole by ``save_plan``)."""

from dataclasses import dataclass

from payments.domain import Order, Plan
from payments.dynamodb import keys
from payments.dynamodb.items import OrderItem, PlanItem
from payments.dynamodb.mapping import order_of, plan_item, plan_of
from payments.dynamodb.table import Put, Table


@dataclass(frozen=True)
class Catalog:
    table: Table

    def get_order(self, order_id: str) -> Order | None:
        item = self.table.get(OrderItem, keys.order_key(order_id))
        return order_of(item) if item else None

    def get_plan(self, plan_id: str) -> Plan | None:
        item = self.table.get(PlanItem, keys.plan_key(plan_id))
        return plan_of(item) if item else None

    def save_plan(self, plan: Plan) -> None:
        """Replace the plan whole: a plan has no version, and nothing else writes it."""
        self.table.write([Put(plan_item(plan))])
