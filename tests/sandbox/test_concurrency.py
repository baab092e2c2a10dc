"""Many threads at once keep the state consistent."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from local.yookassa_sandbox import Sandbox
from tests.sandbox.support import Api, payment_body


def test_fifty_threads_create_and_read(api: Api, sandbox: Sandbox) -> None:
    barrier = threading.Barrier(50)

    def worker(n: int) -> list[str]:
        session = requests.Session()
        barrier.wait()
        ids = []
        for i in range(4):
            created = session.post(
                f"{sandbox.api_url}/payments",
                json=payment_body(value=f"{n + 1}.{i:02d}", metadata={"n": str(n), "i": str(i)}),
                headers={"Idempotence-Key": f"{n}-{i}"},
                auth=api.auth,
                timeout=30,
            )
            assert created.status_code == 200, created.text
            payment = created.json()
            read = session.get(f"{sandbox.api_url}/payments/{payment['id']}", auth=api.auth, timeout=30).json()
            assert read == payment
            assert read["metadata"] == {"n": str(n), "i": str(i)}
            ids.append(payment["id"])
        return ids

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(worker, range(50)))
    ids = [payment_id for batch in results for payment_id in batch]
    assert len(set(ids)) == 200
    listed = api.all_payments()
    assert sorted(p["id"] for p in listed) == sorted(ids)
    seconds = [p["created_at"] for p in listed]
    assert seconds == sorted(seconds, reverse=True)


def test_same_key_from_ten_threads_makes_one_payment(api: Api, sandbox: Sandbox) -> None:
    key = str(uuid.uuid4())
    barrier = threading.Barrier(10)

    def worker(_: int) -> str:
        barrier.wait()
        response = requests.post(
            f"{sandbox.api_url}/payments",
            json=payment_body(),
            headers={"Idempotence-Key": key},
            auth=api.auth,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    with ThreadPoolExecutor(10) as pool:
        ids = set(pool.map(worker, range(10)))
    assert len(ids) == 1
    assert [p["id"] for p in api.all_payments()] == list(ids)


def test_concurrent_refunds_never_exceed_the_payment(api: Api, sandbox: Sandbox) -> None:
    payment = api.create()
    api.succeed(payment["id"])
    barrier = threading.Barrier(20)

    def worker(_: int) -> int:
        barrier.wait()
        response = requests.post(
            f"{sandbox.api_url}/refunds",
            json={"payment_id": payment["id"], "amount": {"value": "100.00", "currency": "RUB"}},
            headers={"Idempotence-Key": str(uuid.uuid4())},
            auth=api.auth,
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(worker, range(20)))
    assert statuses.count(200) == 15
    assert statuses.count(400) == 5
    final = api.payment(payment["id"])
    assert final["refunded_amount"]["value"] == "1500.00"
    assert final["refundable"] is False
    assert len(api.get("/refunds", {"payment_id": payment["id"], "limit": 100}).json()["items"]) == 15


def test_concurrent_capture_and_cancel_one_wins(api: Api, sandbox: Sandbox) -> None:
    payment = api.create(capture=False)
    api.succeed(payment["id"])
    barrier = threading.Barrier(10)

    def worker(n: int) -> int:
        barrier.wait()
        action = "capture" if n % 2 else "cancel"
        return requests.post(
            f"{sandbox.api_url}/payments/{payment['id']}/{action}",
            json={},
            headers={"Idempotence-Key": str(uuid.uuid4())},
            auth=api.auth,
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(worker, range(10)))
    assert statuses.count(200) == 1
    assert api.payment(payment["id"])["status"] in {"succeeded", "canceled"}
