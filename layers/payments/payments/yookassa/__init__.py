"""YooKassa API v3 in domain values: ``client`` is the bounded transport, ``wire`` the JSON mapping.

Services see it through ``payments.ports.YooKassa``; ``payments.runtime`` builds the real client.
"""

from payments.yookassa.client import CallObserver, YooKassaClient

__all__ = ["CallObserver", "YooKassaClient"]
