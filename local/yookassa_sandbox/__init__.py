"""YooKassa sandbox: a stateful local emulator of the YooKassa API v3, its checkout page and its webhooks.

    from local.yookassa_sandbox import start_sandbox

    with start_sandbox() as sandbox:          # a free port on 127.0.0.1, daemon threads
        Configuration.configure(sandbox.shop_id, sandbox.secret_key, api_url=sandbox.api_url)

Stdlib only; imports nothing from the product. See README.md next to this file.
"""

from .server import DEFAULT_SECRET_KEY, DEFAULT_SHOP_ID, Sandbox, start_sandbox

__all__ = ["DEFAULT_SECRET_KEY", "DEFAULT_SHOP_ID", "Sandbox", "start_sandbox"]
