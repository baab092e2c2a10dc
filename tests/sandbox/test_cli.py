"""``python -m local.yookassa_sandbox``: flags, one log line per request, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.sandbox.support import Receiver, payment_body

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_logs_and_stops_on_sigterm(receiver: Receiver, tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "state.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.yookassa_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webhook-url",
            receiver.url,
            "--webhook-url",
            receiver.url + "?second",
            "--shop-id",
            "777777",
            "--secret-key",
            "test_cli_secret",
            "--fiscalization",
            "--time-scale",
            "2",
            "--payment-term",
            "120",
            "--state-file",
            str(state),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(base, timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.05)
        auth = ("777777", "test_cli_secret")
        me = requests.get(f"{base}/v3/me", auth=auth, timeout=5).json()
        assert me["account_id"] == "777777"
        assert me["fiscalization_enabled"] is True
        receipt = {
            "customer": {"email": "a@example.com"},
            "items": [
                {
                    "description": "x",
                    "quantity": "1",
                    "amount": {"value": "1500.00", "currency": "RUB"},
                    "vat_code": 1,
                    "payment_mode": "full_payment",
                    "payment_subject": "service",
                    "measure": "piece",
                }
            ],
        }
        created = requests.post(
            f"{base}/v3/payments",
            json=payment_body(receipt=receipt),
            headers={"Idempotence-Key": "cli"},
            auth=auth,
            timeout=5,
        ).json()
        expires = created["expires_at"]
        assert created["confirmation"]["confirmation_url"].startswith(f"{base}/checkout/")
        paid = requests.post(
            f"{base}/checkout/payments/v2/contract/pay",
            data={"orderId": created["id"], "cardNumber": "5555555555554444", "expiry": "12/30", "cvc": "321"},
            allow_redirects=False,
            timeout=5,
        )
        assert paid.status_code == 303
        receiver.wait_for(2)
        assert sorted(item["path"] for item in receiver.received) == [
            "/webhooks/yookassa",
            "/webhooks/yookassa?second",
        ]
        assert expires > created["created_at"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
    assert "GET /v3/me 200" in err
    assert "POST /v3/payments 200" in err
    assert "POST /checkout/payments/v2/contract/pay 303" in err
    assert "5555555555554444" not in err + out
    assert "test_cli_secret" not in err + out
    assert "Authorization" not in err and "Basic" not in err
    assert "stopped" in err
    assert state.exists()


def test_cli_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local.yookassa_sandbox", "--help"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    for flag in ("--webhook-url", "--time-scale", "--state-file", "--fiscalization", "--payment-term"):
        assert flag in result.stdout


def test_cli_rejects_bad_flags() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local.yookassa_sandbox", "--time-scale", "0"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
