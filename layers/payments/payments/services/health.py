"""Configuration sanity for ``GET /health``: never a secret, only whether things are there."""

from payments.errors import PaymentsError
from payments.ports import HealthStore
from payments.schemas import HealthView
from payments.settings import Settings


def check_health(store: HealthStore, settings: Settings, credentials_configured: bool) -> HealthView:
    try:
        store.get_plan("__health__")
        table_ok = True
    except PaymentsError:
        table_ok = False
    return HealthView(
        status="ok" if table_ok and credentials_configured else "degraded",
        table="reachable" if table_ok else "unreachable",
        yookassa_credentials="configured" if credentials_configured else "missing",
        yookassa_api_url=settings.yookassa_api_url,
    )
