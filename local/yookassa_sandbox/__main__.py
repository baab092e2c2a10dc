"""``python -m local.yookassa_sandbox --port 8090 --webhook-url http://127.0.0.1:3001/webhooks/yookassa``"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from .server import DEFAULT_SECRET_KEY, DEFAULT_SHOP_ID, Sandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.yookassa_sandbox",
        description="A stateful local emulator of the YooKassa API v3, its checkout page and its webhooks.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port (default 8090; 0 = any free port)")
    parser.add_argument(
        "--webhook-url",
        action="append",
        default=[],
        dest="webhook_urls",
        metavar="URL",
        help="where to POST notifications (repeatable)",
    )
    parser.add_argument("--shop-id", default=DEFAULT_SHOP_ID, help="Basic-auth user (shop id)")
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY, help="Basic-auth password")
    parser.add_argument("--fiscalization", action="store_true", help="require a 54-FZ receipt on payments")
    parser.add_argument(
        "--no-two-stage",
        dest="two_stage",
        action="store_false",
        help="refuse two-stage payments (capture: false), like a shop without them enabled",
    )
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="emulated seconds per real second (default 1)"
    )
    parser.add_argument("--state-file", default=None, metavar="PATH", help="persist state here across restarts")
    parser.add_argument(
        "--payment-term",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="how long a pending payment waits for the user (default 3600)",
    )
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    if args.payment_term <= 0:
        parser.error("--payment-term must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    sandbox = Sandbox(
        host=args.host,
        port=args.port,
        webhook_urls=args.webhook_urls,
        shop_id=args.shop_id,
        secret_key=args.secret_key,
        fiscalization=args.fiscalization,
        two_stage=args.two_stage,
        time_scale=args.time_scale,
        state_file=args.state_file,
        payment_term_seconds=args.payment_term,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        sandbox._stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sandbox.start()
    log = logging.getLogger("yookassa_sandbox")
    log.info("YooKassa sandbox on %s — API %s, shop id %s", sandbox.base_url, sandbox.api_url, sandbox.shop_id)
    for url in args.webhook_urls:
        log.info("webhooks -> %s", url)
    try:
        sandbox.wait()
    finally:
        sandbox.stop()
        log.info("YooKassa sandbox stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
