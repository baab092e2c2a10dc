"""Configuration sanity for ``GET /health``: never a secret, only whether things are there and agree."""

from typing import Literal

from payments.errors import PaymentsError
from payments.ports import HealthStore
from payments.schemas import HealthView
from payments.settings import Settings

Fiscalization = Literal["on", "off", "unknown"]


def check_health(
    store: HealthStore,
    settings: Settings,
    credentials_configured: bool,
    shop_fiscalization: Fiscalization = "unknown",
) -> HealthView:
    """``shop_fiscalization``: what YooKassa's ``/me`` says of the shop's 54-FZ receipts. A shop that
    requires receipts while RECEIPTS is off would refuse every payment: degraded, before a customer
    finds out. (RECEIPTS on while the shop says off is not flagged: the shop may be about to switch.)"""
    try:
        store.get_plan("__health__")
        table_ok = True
    except PaymentsError:
        table_ok = False
    receipts_missing = shop_fiscalization == "on" and not settings.receipts_on
    return HealthView(
        status="ok" if table_ok and credentials_configured and not receipts_missing else "degraded",
        table="reachable" if table_ok else "unreachable",
        yookassa_credentials="configured" if credentials_configured else "missing",
        yookassa_api_url=settings.yookassa_api_url,
        receipts=settings.receipts,
        shop_fiscalization=shop_fiscalization,
    )
