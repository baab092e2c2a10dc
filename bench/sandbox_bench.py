"""Throughput of the YooKassa sandbox: create+get pairs over keep-alive connections.

    .venv/bin/python bench/sandbox_bench.py [-n 2000] [--threads 4]

Starts the sandbox embedded (a free port on 127.0.0.1), runs N ``POST /v3/payments`` +
``GET /v3/payments/{id}`` pairs on one ``requests.Session`` per thread, and prints requests per second.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local.yookassa_sandbox import start_sandbox

BODY = {
    "amount": {"value": "1500.00", "currency": "RUB"},
    "capture": True,
    "confirmation": {"type": "redirect", "return_url": "https://shop.example/return"},
    "description": "bench",
    "metadata": {"cms_name": "yookassa_sdk_python"},
}


def run_pairs(api_url: str, auth: tuple[str, str], pairs: int) -> None:
    with requests.Session() as session:
        session.auth = auth
        for _ in range(pairs):
            created = session.post(
                f"{api_url}/payments", json=BODY, headers={"Idempotence-Key": str(uuid.uuid4())}, timeout=30
            )
            created.raise_for_status()
            session.get(f"{api_url}/payments/{created.json()['id']}", timeout=30).raise_for_status()


def measure(api_url: str, auth: tuple[str, str], pairs: int, threads: int) -> float:
    share = [pairs // threads + (1 if i < pairs % threads else 0) for i in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(run_pairs, api_url, auth, n) for n in share]:
            future.result()
    elapsed = time.perf_counter() - started
    return 2 * pairs / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--pairs", type=int, default=2000, help="create+get pairs (default 2000)")
    parser.add_argument("--threads", type=int, default=0, help="also run with this many threads (e.g. 4)")
    args = parser.parse_args()
    with start_sandbox() as sandbox:
        auth = (sandbox.shop_id, sandbox.secret_key)
        run_pairs(sandbox.api_url, auth, 50)  # warm up
        rates = [(1, measure(sandbox.api_url, auth, args.pairs, 1))]
        if args.threads > 1:
            rates.append((args.threads, measure(sandbox.api_url, auth, args.pairs, args.threads)))
    for threads, rate in rates:
        print(f"{args.pairs} create+get pairs, {threads} thread(s): {rate:,.0f} requests/s")  # noqa: T201 - the report
    return 0


if __name__ == "__main__":
    sys.exit(main())
