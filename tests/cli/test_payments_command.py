"""Every ``payments`` command against the local test stack (moto DynamoDB, the sandbox over HTTP): the
payment is made through our handlers, YooKassa's side through the sandbox, and the command is checked
by what it prints and by what it leaves in the table."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from local import lambda_runtime
from local.cli.state import StackState, write_state
from tests.cli.conftest import Cli, record
from tests.conftest import Stack
from tests.integration.support import (
    WebhookBridge,
    decline,
    environment,
    order_of,
    order_payment,
    payment_of,
    refund,
    subscription_of,
    subscription_payment,
    succeed,
    wait_for,
)

LOOPBACK = {"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}


def later(minutes: int = 5) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------ finding the stack
def test_without_a_local_stack_or_stack_name_it_says_so(cli: Cli, state_dir: Path) -> None:
    result = cli("list")
    assert result.exit_code == 4
    assert "no local stack is running" in result.stderr and "make dev" in result.stderr
    assert str(state_dir / "stack.json") in result.stderr


def test_a_stack_file_of_a_stopped_stack_is_not_used(cli: Cli, state_dir: Path) -> None:
    gone = StackState(
        pid=2**22 + 12345,  # above the kernel's pid_max: no such process
        started_at="2026-11-29T18:00:00+00:00",
        api_url="http://127.0.0.1:3000",
        webhook_url="http://127.0.0.1:3001/webhooks/yookassa",
        dynamodb_endpoint="http://127.0.0.1:1",
        region="eu-central-1",
        table_name="t",
        yookassa_api_url="http://127.0.0.1:1/v3",
        sandbox_url=None,
        credentials="sandbox",
    )
    assert write_state(gone, state_dir / "stack.json")
    result = cli("show", "anything")
    assert result.exit_code == 4
    assert "gone" in result.stderr


def test_an_unknown_id_is_exit_code_3(cli: Cli, local_stack: Stack) -> None:
    for args in (
        ["show", "no-such-payment"],
        ["sync", "no-such-payment"],
        ["refund", "no-such-payment", "--yes"],
        ["subscriptions", "show", "no-such-subscription"],
        ["webhook", "replay", "no-such-object"],
    ):
        result = cli(*args)
        assert result.exit_code == 3, (args, result.stdout, result.stderr)
        assert "not found" in result.stderr


def test_the_table_not_answering_is_exit_code_4(cli: Cli, local_stack: Stack) -> None:
    result = cli("show", "p-1", "--dynamodb-endpoint", "http://127.0.0.1:9")
    assert result.exit_code == 4
    assert "the table does not answer" in result.stderr


# ---------------------------------------------------------------------------------------------- show, sync
def test_show_puts_our_record_next_to_yookassas_and_sync_applies_it(cli: Cli, local_stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(local_stack, "order-cli-1", 150000)
    succeed(local_stack, yookassa_id)  # no webhook URL: the notification is lost, as on a bad day

    shown = cli.json("show", payment_id)
    assert shown["payment"]["status"] == "pending" and shown["yookassa"]["status"] == "succeeded"
    assert {row["field"]: row["differs"] for row in shown["comparison"]}["status"] is True
    assert [d["what"] for d in shown["differences"]] == ["status"]
    assert f"payments sync {payment_id}" in shown["differences"][0]["message"]
    text = cli("show", yookassa_id)  # YooKassa's id finds it too
    assert text.exit_code == 0
    assert "1 500,00 ₽" in text.stdout and "differs" in text.stdout and "payments sync" in text.stdout

    synced = cli.json("sync", payment_id)
    assert synced["outcome"] == "applied" and synced["yookassaStatus"] == "succeeded"
    changed = {(c["entity"], c["field"]): c["after"] for c in synced["changes"]}
    assert changed[("payment", "status")] == "paid" and changed[("order", "status")] == "paid"
    assert payment_of(payment_id).status == "paid" and order_of("order-cli-1").status == "paid"

    again = cli("sync", payment_id)
    assert again.exit_code == 0 and "duplicate" in again.stdout and "nothing changed" in again.stdout
    assert cli.json("show", payment_id)["differences"] == []


def test_sync_of_a_declined_payment_and_a_conflict(cli: Cli, local_stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(local_stack, "order-cli-2", 120000)
    decline(local_stack, yookassa_id)
    synced = cli.json("sync", payment_id)
    assert synced["outcome"] == "applied" and synced["payment"]["status"] == "failed"
    assert synced["payment"]["cancellationReason"] == "insufficient_funds"


# ---------------------------------------------------------------------------------------------- list
def test_list_by_status_age_user_and_order(cli: Cli, local_stack: Stack) -> None:
    pending_alice, _ = order_payment(local_stack, "order-cli-3", 110000, sub="alice")
    pending_bob, _ = order_payment(local_stack, "order-cli-4", 120000, sub="bob")
    paid, paid_yookassa = order_payment(local_stack, "order-cli-5", 130000, sub="alice")
    succeed(local_stack, paid_yookassa)
    assert cli.json("sync", paid)["outcome"] == "applied"

    pending = cli.json("list", "--status", "pending")
    assert {p["paymentId"] for p in pending["payments"]} == {pending_alice, pending_bob}
    assert pending["source"] == "PendingIndex"
    assert cli.json("list", "--status", "pending", "--older-than", "10m")["payments"] == []
    mine = cli.json("list", "--status", "pending", "--user", "alice")
    assert [p["paymentId"] for p in mine["payments"]] == [pending_alice]
    assert mine["source"] == "UserPendingIndex"

    everything_of_alice = cli.json("list", "--user", "alice")
    assert [p["paymentId"] for p in everything_of_alice["payments"]] == [paid, pending_alice]  # newest first
    assert everything_of_alice["source"].startswith("Scan")
    assert [p["paymentId"] for p in cli.json("list", "--order", "order-cli-4")["payments"]] == [pending_bob]
    assert [p["paymentId"] for p in cli.json("list", "--status", "paid")["payments"]] == [paid]
    assert len(cli.json("list", "--user", "alice", "--limit", "1")["payments"]) == 1

    table = cli("list", "--status", "pending")
    assert table.exit_code == 0 and pending_bob in table.stdout and "2 payment(s)" in table.stdout
    assert cli("list", "--older-than", "ten minutes").exit_code == 2


# ---------------------------------------------------------------------------------------------- reconcile
def test_reconcile_dry_run_writes_nothing_then_the_pass_settles(cli: Cli, local_stack: Stack) -> None:
    paid, paid_yookassa = order_payment(local_stack, "order-cli-6", 150000)
    declined, declined_yookassa = order_payment(local_stack, "order-cli-7", 160000)
    waiting, _ = order_payment(local_stack, "order-cli-8", 170000)
    succeed(local_stack, paid_yookassa)
    decline(local_stack, declined_yookassa)

    dry = cli.json("reconcile", "--dry-run", "--time", later())
    assert dry["dryRun"] is True and dry["checked"] == 3 and dry["settled"] == 2 and dry["stillPending"] == 1
    planned = {(w["entity"], w["id"]) for w in dry["wouldWrite"]}
    assert {("payment", paid), ("order", "order-cli-6"), ("payment", declined)} <= planned
    assert payment_of(paid).status == "pending" and payment_of(declined).status == "pending"  # nothing written

    text = cli("reconcile", "--time", later())
    assert text.exit_code == 0, text.stderr
    assert "Reconciler pass" in text.stdout and "settled" in text.stdout
    assert payment_of(paid).status == "paid" and payment_of(declined).status == "failed"
    assert payment_of(waiting).status == "pending"
    assert cli.json("reconcile", "--time", later())["settled"] == 0  # nothing left to settle


def test_reconcile_reports_what_it_could_not_check_with_exit_code_1(
    cli: Cli, stack: Stack, state_dir: Path
) -> None:
    record(stack, state_dir, YOOKASSA_BUDGET_SECONDS="1", YOOKASSA_READ_TIMEOUT="1")
    payment_id, _ = order_payment(stack, "order-cli-9", 150000)
    stack.sandbox_post("/sandbox/faults", {"route": "GET /v3/payments/{id}", "fault": "500", "count": 20})
    result = cli("reconcile", "--time", later(), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["failed"] == 1 and summary["failedPaymentIds"] == [payment_id]


# ---------------------------------------------------------------------------------------------- refund
def test_refund_asks_first_and_goes_through_the_refund_service(cli: Cli, local_stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(local_stack, "order-cli-10", 150000)
    succeed(local_stack, yookassa_id)
    cli.json("sync", payment_id)

    declined = cli("refund", payment_id, "--amount", "50000", input="n\n")
    assert declined.exit_code == 1 and "not refunded" in declined.stderr
    assert "Refund 500,00 ₽ of payment" in declined.stderr
    assert payment_of(payment_id).refunded_amount == 0

    accepted = cli("refund", payment_id, "--amount", "50000", "--json", input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    answer = json.loads(accepted.stdout[accepted.stdout.index("{") :])  # after the echoed "y" (CliRunner)
    assert answer["amount"] == 50000 and answer["status"] == "succeeded" and answer["refundedAmount"] == 50000
    # The same request again is the same refund (the key comes from the amount), never a second one.
    assert cli.json("refund", payment_id, "--amount", "50000", "--yes")["refundId"] == answer["refundId"]
    assert payment_of(payment_id).refunded_amount == 50000

    too_much = cli("refund", payment_id, "--amount", "200000", "--key", "ticket-1", "--yes")
    assert too_much.exit_code == 1 and "refund_exceeds_payment" in too_much.stderr
    assert cli("refund", payment_id, "--key", "not a key!", "--yes").exit_code == 2

    rest = cli.json("refund", payment_id, "--yes")
    assert rest["amount"] == 100000 and rest["paymentStatus"] == "refunded"
    assert order_of("order-cli-10").status == "refunded"

    shown = cli.json("show", payment_id)
    assert len(shown["appliedRefunds"]) == 2 and len(shown["yookassaRefunds"]) == 2
    assert shown["differences"] == [] and shown["payment"]["refundedAmount"] == 150000


# ---------------------------------------------------------------------------------------------- subscriptions
def test_subscriptions_due_previews_exactly_what_the_renewal_charges(cli: Cli, local_stack: Stack) -> None:
    payment_id, yookassa_id = subscription_payment(local_stack, "sub-cli-1", "plan-cli", "monthly")
    # autoRenew: the subscription keeps the card (the sandbox saves it when asked); pay with one saved.
    body = {"subscriptionId": "sub-cli-2", "subscriptionType": "monthly", "planId": "plan-cli", "amount": 99000}
    status, created = local_stack.call("CreateSubscriptionPaymentFunction", body={**body, "autoRenew": True})
    assert status == 200, created
    renewing = cli.json("show", created["paymentId"])["payment"]
    for pid, yid in ((payment_id, yookassa_id), (renewing["paymentId"], renewing["yookassaId"])):
        succeed(local_stack, yid)
        assert cli.json("sync", pid)["outcome"] == "applied"
    subscription = subscription_of("sub-cli-2")
    assert subscription.auto_renew and subscription.end_date is not None
    assert cli.json("subscriptions", "due")["due"] == []  # a month away

    at = (subscription.end_date - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    due = cli.json("subscriptions", "due", "--time", at)["due"]
    by_id = {d["subscriptionId"]: d for d in due}
    assert by_id["sub-cli-2"]["action"] == "charge" and by_id["sub-cli-2"]["amount"] == 99000
    assert by_id["sub-cli-2"]["attempt"] == 1
    assert by_id["sub-cli-1"]["action"] == "end" and by_id["sub-cli-1"]["at"] > at  # no card: ends at its end
    assert (
        cli.json("subscriptions", "due", "--time", at, "--within", "1h")["due"][0]["subscriptionId"]
        == "sub-cli-2"
    )
    assert "sub-cli-2" in cli("subscriptions", "due", "--time", at).stdout

    shown = cli.json("subscriptions", "show", "sub-cli-2")
    assert shown["subscription"]["autoRenew"] is True and shown["renewal"]["action"] == "charge"
    assert shown["nextChargeAt"] is not None and shown["payments"][0]["status"] == "success"
    assert "next charge" in cli("subscriptions", "show", "sub-cli-2").stdout

    # The renewal function, run at that time, makes exactly the previewed charge.
    event = {"time": at, "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    lambda_runtime.invoke("RenewalFunction", event)
    charged = subscription_of("sub-cli-2").active_payment_id or subscription_of("sub-cli-2").last_payment_id
    assert charged is not None and charged == by_id["sub-cli-2"]["paymentId"]
    assert payment_of(charged).amount == 99000


# ---------------------------------------------------------------------------------------------- webhooks
def test_webhook_replay_runs_the_webhook_path_for_a_payment_and_a_refund(cli: Cli, local_stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(local_stack, "order-cli-11", 150000)
    succeed(local_stack, yookassa_id)
    replayed = cli.json("webhook", "replay", yookassa_id)
    assert replayed["outcome"] == "applied" and replayed["event"] == "payment.succeeded"
    assert {c["field"]: c["after"] for c in replayed["changes"]}["status"] == "paid"
    assert cli.json("webhook", "replay", payment_id)["outcome"] == "duplicate"  # our id works, and it is safe

    status, answer = refund(local_stack, payment_id, 40000)
    assert status == 200, answer
    refund_replayed = cli.json("webhook", "replay", answer["refundId"])
    assert refund_replayed["kind"] == "refund" and refund_replayed["outcome"] == "duplicate"

    trail = cli.json("show", payment_id)["audit"]
    assert [(a["event"], a["outcome"], a["sourceIp"]) for a in trail] == [
        ("payment.succeeded", "applied", "127.0.0.1"),
        ("payment.succeeded", "duplicate", "127.0.0.1"),
        ("refund.succeeded", "duplicate", "127.0.0.1"),
    ]
    pending, _ = order_payment(local_stack, "order-cli-12", 150000)
    nothing = cli("webhook", "replay", pending)
    assert nothing.exit_code == 1 and "sends no notification" in nothing.stderr


def test_webhook_trigger_makes_the_sandbox_notify_now(cli: Cli, local_stack: Stack) -> None:
    payment_id, _ = order_payment(local_stack, "order-cli-13", 150000)
    declined_id, _ = order_payment(local_stack, "order-cli-14", 160000)
    with environment(**LOOPBACK), WebhookBridge() as bridge:
        local_stack.sandbox.webhook_urls.append(bridge.url)
        try:
            paid = cli.json("webhook", "trigger", "payment.succeeded", "--payment", payment_id)
            assert paid["helper"].endswith("/succeed") and paid["delivery"]["statusCode"] == 200
            assert payment_of(payment_id).status == "paid"

            again = cli("webhook", "trigger", "payment.succeeded", "--payment", payment_id)
            assert again.exit_code == 0 and "redeliver" in again.stdout and "200" in again.stdout

            refused = cli("webhook", "trigger", "payment.canceled", "--payment", payment_id)
            assert refused.exit_code == 1 and "cannot send payment.canceled" in refused.stderr
            no_refund = cli("webhook", "trigger", "refund.succeeded", "--payment", payment_id)
            assert no_refund.exit_code == 1 and "no refund" in no_refund.stderr

            canceled = cli.json(
                "webhook",
                "trigger",
                "payment.canceled",
                "--payment",
                declined_id,
                "--reason",
                "insufficient_funds",
            )
            assert canceled["delivery"]["statusCode"] == 200
            wait_for(lambda: payment_of(declined_id).status == "failed", what="the decline applied")

            status, answer = refund(local_stack, payment_id, 50000)
            assert status == 200, answer
            refunded = cli.json("webhook", "trigger", "refund.succeeded", "--payment", payment_id)
            assert refunded["objectId"] == answer["refundId"] and refunded["delivery"]["statusCode"] == 200
        finally:
            local_stack.sandbox.webhook_urls.clear()


@pytest.mark.parametrize("command", [["--help"], ["subscriptions", "--help"], ["webhook", "--help"]])
def test_help_names_every_command(cli: Cli, command: list[str]) -> None:
    result = cli(*command)
    assert result.exit_code == 0 and "Exit codes:" in result.stdout and "Examples:" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["list"],
        ["sync"],
        ["reconcile"],
        ["refund"],
        ["subscriptions", "due"],
        ["subscriptions", "show"],
        ["webhook", "replay"],
        ["webhook", "trigger"],
    ],
)
def test_every_command_has_help_with_examples(cli: Cli, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and f"payments {' '.join(command)}" in result.stdout
    assert "--stack NAME" in result.stdout and "Exit codes:" in result.stdout
