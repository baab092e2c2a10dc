"""The ``payments`` command (Click for the commands, Rich for tables and the progress bar).

Every command talks to one stack (``target``): the local one ``make dev`` recorded in ``.local-state/``,
or a deployed one (``--stack NAME``). Output is for people, or JSON with ``--json``; errors are one line
on stderr and an exit code (``ExitCode``).
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from local.cli.target import Aws, Boto3Aws, CliError, ExitCode, Overrides, Target, resolve

if TYPE_CHECKING:
    from payments.errors import PaymentsError

# The commands import the layer (and operations, views) when they run: `payments --help` stays quick.
PAYMENT_STATUSES = ("pending", "paid", "success", "failed", "canceled", "refunded")  # domain.PaymentStatus
TRIGGER_EVENTS = ("payment.succeeded", "payment.waiting_for_capture", "payment.canceled", "refund.succeeded")

EXIT_CODES = """\b
Exit codes:
  0  done
  1  the operation failed or was refused (YooKassa, a conflict), or you declined it
  2  a bad flag or value
  3  no such payment, subscription or YooKassa object
  4  no stack: no local stack running, no such CloudFormation stack, or its table does not answer
  5  no credentials: no or insufficient AWS credentials, no readable YooKassa secret
"""

DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(value: str) -> timedelta:
    """``10m``, ``2h``, ``1d``, ``90s``, ``1h30m``; a bare number is seconds."""
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    match = DURATION.fullmatch(value)
    if not value or match is None:
        raise click.BadParameter(f"{value!r} is not a duration like 90s, 10m, 2h, 1d or 1h30m")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


class Instant(click.ParamType):
    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.fail(
                f"{value!r} is not an ISO 8601 instant with an offset, like 2026-11-29T17:10:00Z", param, ctx
            )
        return moment


# ---------------------------------------------------------------------------------------------- plumbing
def _target_options[F: Callable[..., Any]](command: F) -> F:
    """Which stack: the same flags on every command (and ``PAYMENTS_STACK`` in the environment)."""
    options = [
        click.option(
            "--stack",
            envvar="PAYMENTS_STACK",
            metavar="NAME",
            help="A deployed CloudFormation stack (e.g. cleanhouse-payments-prod), with your AWS credentials. "
            "Default: the local stack of a running `make dev`.",
        ),
        click.option(
            "--region", metavar="REGION", help="The stack's AWS region (default: AWS_REGION / your profile)."
        ),
        click.option("--table", metavar="NAME", help="Another DynamoDB table than the stack's."),
        click.option(
            "--dynamodb-endpoint",
            metavar="URL",
            help="Local: DynamoDB at URL (instead of .local-state/stack.json).",
        ),
        click.option("--yookassa-url", metavar="URL", help="Another YooKassa API base URL (…/v3)."),
        click.option("--sandbox-url", metavar="URL", help="Local: the YooKassa sandbox's base URL."),
        click.option("-v", "--verbose", count=True, help="The layer's logs on stderr (-v info, -vv debug)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _json_option[F: Callable[..., Any]](command: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")(command)


TARGET_KEYS = ("stack", "region", "table", "dynamodb_endpoint", "yookassa_url", "sandbox_url", "verbose")


# What a command may change in this process's environment (the local DynamoDB endpoint for PynamoDB's
# client, moto's dummy credentials, no metrics); put back when it ends, so a caller in the same process
# (the tests) sees no trace of it.
TOUCHED_ENVIRONMENT = (
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "POWERTOOLS_METRICS_DISABLED",
)


@contextlib.contextmanager
def _layer_quiet(verbose: int) -> Iterator[None]:
    """The layer's Powertools logger writes JSON lines to stdout: during a command they go to stderr,
    and only from ERROR up unless -v. Its metrics are never emitted (they would print EMF on stdout).
    Everything is put back afterwards."""
    environment = {name: os.environ.get(name) for name in TOUCHED_ENVIRONMENT}
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "1"
    from payments.observability import logger

    level = logger.log_level
    streams = [(h, h.stream) for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    logger.setLevel({0: logging.ERROR, 1: logging.INFO}.get(verbose, logging.DEBUG))
    for handler, _ in streams:
        handler.setStream(sys.stderr)
    try:
        yield
    finally:
        logger.setLevel(level)
        for handler, stream in streams:
            handler.setStream(stream)
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def command(body: Callable[..., int | None]) -> Callable[..., None]:
    """A command body ``(target, console, **options)``: its target resolved, its errors one line on
    stderr with their exit code."""

    @functools.wraps(body)
    def run(**options: Any) -> None:
        import requests

        from payments.errors import PaymentsError

        ctx = click.get_current_context()
        target_options = {key: options.pop(key) for key in TARGET_KEYS}
        verbose = target_options.pop("verbose")
        aws: Aws = (ctx.find_root().obj or {}).get("aws") or Boto3Aws()
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        code: int = ExitCode.OK
        with _layer_quiet(verbose):
            try:
                target = resolve(Overrides(**target_options), aws)
                code = body(target, console, **options) or ExitCode.OK
            except CliError as exc:
                _fail(exc.message, exc.code)
            except PaymentsError as exc:
                _fail(_describe(exc), _exit_code(exc))
            except requests.ConnectionError as exc:
                _fail(f"the local YooKassa sandbox does not answer: {exc}", ExitCode.NO_STACK)
        if code:
            raise SystemExit(int(code))

    return run


def _fail(message: str, code: ExitCode) -> None:
    click.echo(f"payments: {message}", err=True)
    raise SystemExit(int(code))


def _causes(exc: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        chain.append(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return chain


def _exit_code(exc: PaymentsError) -> ExitCode:
    from payments.errors import NotFound, StoreUnavailable, ValidationFailed
    from payments.runtime import ConfigurationError

    if isinstance(exc, NotFound):
        return ExitCode.NOT_FOUND
    if isinstance(exc, ConfigurationError):
        return ExitCode.CREDENTIALS
    if isinstance(exc, ValidationFailed):
        return ExitCode.USAGE
    if isinstance(exc, StoreUnavailable):
        names = {type(cause).__name__ for cause in _causes(exc)}
        text = " ".join(str(cause) for cause in _causes(exc))
        if names & {"NoCredentialsError", "PartialCredentialsError"} or "AccessDenied" in text:
            return ExitCode.CREDENTIALS
        return ExitCode.NO_STACK
    return ExitCode.FAILED


def _describe(exc: PaymentsError) -> str:
    from payments.errors import StoreUnavailable

    message = str(exc) or exc.default_message
    if isinstance(exc, StoreUnavailable):
        causes = [c for c in _causes(exc)[1:] if str(c)]
        detail = str(causes[-1]) if causes else ""
        if "ResourceNotFound" in " ".join(type(c).__name__ + str(c) for c in causes):
            return f"the table does not exist: {detail}"
        return f"the table does not answer: {detail}" if detail else "the table does not answer"
    return f"{message} ({exc.code})"


def _progress(console: Console, disabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=disabled,
    )


# ---------------------------------------------------------------------------------------------- commands
@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    epilog=EXIT_CODES,
)
def payments() -> None:
    """Support and on-call: look up, sync, reconcile and refund payments, preview renewals, replay
    webhooks — against the local stack (while `make dev` runs) or a deployed one (--stack NAME).

    Every command calls the payment layer's own services: what it changes, it changes exactly as the
    webhook, the reconciler or the admin API would.

    \b
    Examples:
      payments list --status pending --older-than 10m
      payments show 3f0c9a4e-…                       # our payment id or YooKassa's
      payments sync 3f0c9a4e-…
      payments reconcile --dry-run --stack cleanhouse-payments-prod
      payments refund 3f0c9a4e-… --amount 50000
    """


@payments.command(epilog=EXIT_CODES)
@click.argument("payment_id", metavar="PAYMENT_ID|YOOKASSA_ID")
@_json_option
@_target_options
@command
def show(target: Target, console: Console, payment_id: str, as_json: bool) -> int:
    """Our record of a payment next to YooKassa's object: status, amounts, refunds and receipt
    registration, differences highlighted; then its refunds and the webhook audit trail in time order.

    Reads the table (GetItem, Query) and asks YooKassa (GET /v3/payments/{id}, /v3/refunds/{id}).

    \b
    Examples:
      payments show 3f0c9a4e-5d1b-4c61-9f57-2a9e07c1d2b3
      payments show 2e7c1f3a-000f-5000-9000-1b2c3d4e5f60      # YooKassa's id works too
      payments show 3f0c9a4e-… --json | jq '.differences'
      payments show 3f0c9a4e-… --stack cleanhouse-payments-prod
    """
    from local.cli import operations, views

    shown = operations.show(target, payment_id)
    if as_json:
        click.echo(views.show_json(shown))
    else:
        views.show(console, shown)
    return ExitCode.OK


@payments.command(name="list", epilog=EXIT_CODES)
@click.option(
    "--status",
    type=click.Choice(PAYMENT_STATUSES),
    help="Only payments in this status (pending: from the PendingIndex; the others need a Scan).",
)
@click.option(
    "--older-than",
    type=Duration(),
    metavar="DURATION",
    help="Created more than this long ago: 90s, 10m, 2h, 1d.",
)
@click.option("--user", metavar="SUB", help="One customer's payments (the JWT's sub).")
@click.option("--order", metavar="ORDER_ID", help="One order's payments.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="At most this many, newest first.",
)
@click.option(
    "--scan", is_flag=True, help="On a deployed stack: allow a Scan of the whole table (any list but pending)."
)
@_json_option
@_target_options
@command
def list_(
    target: Target,
    console: Console,
    status: str | None,
    older_than: timedelta | None,
    user: str | None,
    order: str | None,
    limit: int,
    scan: bool,
    as_json: bool,
) -> int:
    """Payments, newest first.

    Pending payments come from the sparse PendingIndex (with --user: UserPendingIndex). Anything else
    (another status, any status by --user or --order) has no index: it is a filtered Scan of the whole
    table — instant locally; on a deployed stack it reads every item (billed as such), so it needs --scan.

    \b
    Examples:
      payments list --status pending --older-than 10m      # stuck? (the reconciler takes them after 2 min)
      payments list --status pending --user 'auth0|5f7c1b2e'
      payments list --user alice --limit 5
      payments list --order order-1042 --json
      payments list --status failed --stack cleanhouse-payments-prod --scan
    """
    from local.cli import operations, views
    from payments.domain import utc_now

    result = operations.list_payments(
        target,
        utc_now(),
        status=status,
        older_than=older_than,
        user=user,
        order=order,
        limit=limit,
        scan_allowed=scan,
    )
    if as_json:
        click.echo(views.listed_json(result))
    else:
        views.listed(console, result)
    return ExitCode.OK


@payments.command(epilog=EXIT_CODES)
@click.argument("payment_id", metavar="PAYMENT_ID|YOOKASSA_ID")
@_json_option
@_target_options
@command
def sync(target: Target, console: Console, payment_id: str, as_json: bool) -> int:
    """Ask YooKassa now and apply its answer through the one sync path (the webhook's and the
    reconciler's: forward only, version-checked); prints what changed.

    Exit code 1 when YooKassa's object contradicts ours (conflict) or is not this payment (mismatch):
    nothing is applied then, and a human looks.

    \b
    Examples:
      payments sync 3f0c9a4e-5d1b-4c61-9f57-2a9e07c1d2b3
      payments sync 3f0c9a4e-… --json | jq -r .outcome   # applied, unchanged, duplicate, conflict, mismatch
      payments sync 3f0c9a4e-… --stack cleanhouse-payments-prod
    """
    from local.cli import operations, views
    from payments.domain import utc_now
    from payments.domain.settlement import SyncOutcome

    result = operations.sync(target, payment_id, utc_now())
    if as_json:
        click.echo(views.synced_json(result))
    else:
        views.synced(console, result)
    failed = result.result.outcome in (SyncOutcome.CONFLICT, SyncOutcome.MISMATCH)
    return ExitCode.FAILED if failed else ExitCode.OK


@payments.command(epilog=EXIT_CODES)
@click.option(
    "--dry-run", is_flag=True, help="Ask YooKassa, write nothing, send nothing: show what the pass would do."
)
@click.option("--time", "at", type=Instant(), metavar="ISO", help="The pass's notion of now (default: now).")
@_json_option
@_target_options
@command
def reconcile(target: Target, console: Console, dry_run: bool, at: datetime | None, as_json: bool) -> int:
    """Run the reconciler's pass now: every payment pending longer than RECONCILE_AFTER_SECONDS (2 min)
    and every refund request still holding money is re-fetched from YooKassa and settled through the
    one sync path; a progress bar, then a summary (settled, still pending, failed).

    --dry-run writes nothing and sends YooKassa nothing that changes anything (no re-sent create, capture,
    cancel or refund): it shows what the pass would write and which calls it would make.
    Exit code 1 when a payment could not be reconciled.

    \b
    Examples:
      payments reconcile
      payments reconcile --dry-run
      payments reconcile --time 2026-11-29T17:10:00Z --json
      payments reconcile --dry-run --stack cleanhouse-payments-prod
    """
    from local.cli import operations, views
    from payments.domain import utc_now

    with _progress(console, disabled=as_json or not sys.stderr.isatty()) as progress:
        task = progress.add_task("reconciling", total=0)

        def total(count: int) -> None:
            progress.update(task, total=(progress.tasks[0].total or 0) + count)

        result = operations.run_reconcile(
            target, at or utc_now(), dry_run=dry_run, total=total, advance=lambda: progress.advance(task)
        )
    if as_json:
        click.echo(views.reconciled_json(result))
    else:
        views.reconciled(console, result)
    return ExitCode.FAILED if result.failed else ExitCode.OK


@payments.command(epilog=EXIT_CODES)
@click.argument("payment_id", metavar="PAYMENT_ID|YOOKASSA_ID")
@click.option(
    "--amount",
    type=click.IntRange(min=1),
    metavar="KOPECKS",
    help="Kopecks to refund (default: all that is left).",
)
@click.option(
    "--key",
    metavar="KEY",
    help="The request's idempotency key (1-64 of A-Za-z0-9_.:-). Without it, the key comes from the amount, "
    "so a second refund of the same amount needs one.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@_json_option
@_target_options
@command
def refund(
    target: Target,
    console: Console,
    payment_id: str,
    amount: int | None,
    key: str | None,
    yes: bool,
    as_json: bool,
) -> int:
    """Refund a paid payment, in full or in part, through the refund service: the amount is held on the
    payment before YooKassa is asked (never more than was paid), the request is idempotent, a 54-FZ
    receipt goes with it when receipts are on, and a full refund takes back what the payment bought.

    Asks for confirmation unless --yes.

    \b
    Examples:
      payments refund 3f0c9a4e-…                           # all that is left
      payments refund 3f0c9a4e-… --amount 50000            # 500,00 ₽
      payments refund 3f0c9a4e-… --amount 50000 --key ticket-4711 --yes
      payments refund 3f0c9a4e-… --stack cleanhouse-payments-prod
    """
    from local.cli import operations, views

    payment = operations.payment_of(target, payment_id)
    if not yes:
        asked = (
            views.rub(amount)
            if amount is not None
            else f"all that is left ({views.rub(payment.refund_available)})"
        )
        subject = f"order {payment.order_id}" if payment.order_id else f"subscription {payment.subscription_id}"
        prompt = (
            f"Refund {asked} of payment {payment.payment_id} ({views.rub(payment.amount)}, {payment.status}, "
            f"{subject}, user {payment.user_id}) on {target.name}?"
        )
        if not click.confirm(prompt, default=False, err=True):
            click.echo("payments: not refunded", err=True)
            return ExitCode.FAILED
    accepted = operations.refund(target, payment.payment_id, amount, key, f"payments-cli:{getpass.getuser()}")
    if as_json:
        click.echo(views.dumps(accepted))
    else:
        views.refunded(console, accepted)
    return ExitCode.OK


@payments.group(epilog=EXIT_CODES)
def subscriptions() -> None:
    """Subscriptions: what the renewal would charge, one subscription in full.

    \b
    Examples:
      payments subscriptions due --within 24h
      payments subscriptions show sub-7f3a
    """


@subscriptions.command(name="due", epilog=EXIT_CODES)
@click.option(
    "--within",
    type=Duration(),
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="How far ahead to look.",
)
@click.option("--time", "at", type=Instant(), metavar="ISO", help="Look from this instant instead of now.")
@_json_option
@_target_options
@command
def subscriptions_due(
    target: Target, console: Console, within: timedelta, at: datetime | None, as_json: bool
) -> int:
    """What the renewal function would do within a while: each subscription it would charge (when, which
    try, the plan's price now, the card) or end; nothing is written or charged.

    Reads the PendingIndex's renewal shards, the subscriptions and their plans.

    \b
    Examples:
      payments subscriptions due                      # the next 24 hours
      payments subscriptions due --within 7d --json
      payments subscriptions due --time 2026-12-28T20:00:00Z --stack cleanhouse-payments-prod
    """
    from local.cli import operations, views
    from payments.domain import utc_now

    now = at or utc_now()
    previews = operations.subscriptions_due(target, now, within)
    if as_json:
        click.echo(views.due_json(previews))
    else:
        views.due(console, previews, _format_duration(within))
    return ExitCode.OK


@subscriptions.command(name="show", epilog=EXIT_CODES)
@click.argument("subscription_id")
@_json_option
@_target_options
@command
def subscriptions_show(target: Target, console: Console, subscription_id: str, as_json: bool) -> int:
    """One subscription: status, paid period, plan and scheduled change, renewal and card, its latest
    payments, and what the renewal would do next.

    \b
    Examples:
      payments subscriptions show sub-7f3a
      payments subscriptions show sub-7f3a --json | jq .renewal
    """
    from local.cli import operations, views
    from payments.domain import utc_now

    shown = operations.subscription_show(target, subscription_id, utc_now())
    if as_json:
        click.echo(views.subscription_json(shown))
    else:
        views.subscription(console, shown)
    return ExitCode.OK


@payments.group(epilog=EXIT_CODES)
def webhook() -> None:
    """YooKassa's notifications: replay one through the webhook path; locally, make the sandbox send one.

    \b
    Examples:
      payments webhook replay 2e7c1f3a-000f-5000-9000-1b2c3d4e5f60
      payments webhook trigger payment.succeeded --payment 3f0c9a4e-…
    """


@webhook.command(name="replay", epilog=EXIT_CODES)
@click.argument("object_id", metavar="OBJECT_ID")
@_json_option
@_target_options
@command
def webhook_replay(target: Target, console: Console, object_id: str, as_json: bool) -> int:
    """Run the webhook path again for a payment or a refund, as if YooKassa had just notified it: the
    object is re-fetched from YooKassa and applied forward only (a duplicate changes nothing), and an
    audit entry is written (sourceIp 127.0.0.1). Safe to repeat. Only the source-address check is left
    out: the caller is an operator, not the internet.

    OBJECT_ID: our payment id, YooKassa's payment id, or a YooKassa refund id.

    \b
    Examples:
      payments webhook replay 3f0c9a4e-5d1b-4c61-9f57-2a9e07c1d2b3
      payments webhook replay 2e7c1f4b-0016-5000-a000-1b2c3d4e5f61     # a refund
      payments webhook replay 2e7c1f3a-… --stack cleanhouse-payments-prod --json
    """
    from local.cli import operations, views
    from payments.domain import utc_now

    result = operations.replay(target, object_id, utc_now())
    if as_json:
        click.echo(views.replayed_json(result))
    else:
        views.replayed(console, result)
    failed = result.result.outcome.startswith(("mismatch", "conflict"))
    return ExitCode.FAILED if failed else ExitCode.OK


@webhook.command(name="trigger", epilog=EXIT_CODES)
@click.argument("event", type=click.Choice(TRIGGER_EVENTS))
@click.option("--payment", "payment_id", required=True, metavar="PAYMENT_ID|YOOKASSA_ID", help="The payment.")
@click.option(
    "--reason",
    default="general_decline",
    show_default=True,
    help="payment.canceled: YooKassa's cancellation reason.",
)
@_json_option
@_target_options
@command
def webhook_trigger(
    target: Target, console: Console, event: str, payment_id: str, reason: str, as_json: bool
) -> int:
    """Local only: make the YooKassa sandbox send EVENT for a payment now, with its /sandbox helpers — a
    pending payment is paid (payment.succeeded, or payment.waiting_for_capture for a two-stage one) or
    declined (payment.canceled); a payment already there, or its latest refund (refund.succeeded), has
    its latest notification re-sent. Waits for the delivery and prints the webhook's answer.

    Exit code 1 when the sandbox cannot send it (a paid payment cannot be canceled) or the delivery failed.

    \b
    Examples:
      payments webhook trigger payment.succeeded --payment 3f0c9a4e-…
      payments webhook trigger payment.canceled --payment 3f0c9a4e-… --reason insufficient_funds
      payments webhook trigger refund.succeeded --payment 3f0c9a4e-…
    """
    from local.cli import operations, views

    result = operations.trigger(target, event, payment_id, reason=reason)
    if as_json:
        click.echo(views.triggered_json(result))
    else:
        views.triggered(console, result)
    delivered = result.delivery is not None and result.delivery.get("statusCode") == 200
    return ExitCode.OK if delivered else ExitCode.FAILED


# One line each in `payments --help` (the docstrings say the rest).
SHORT_HELP = {
    show: "Our record next to YooKassa's, its refunds, the webhook audit trail.",
    list_: "Payments by status, age, user or order.",
    sync: "Ask YooKassa now, apply its answer, print what changed.",
    reconcile: "Run the reconciler's pass now (--dry-run: write nothing).",
    refund: "Refund a payment, in full or in part (asks first).",
    subscriptions: "Renewals due; one subscription in full.",
    subscriptions_due: "What the renewal would charge or end, and when.",
    subscriptions_show: "One subscription and its next renewal.",
    webhook: "Replay a notification; locally, make the sandbox send one.",
    webhook_replay: "Run the webhook path again for a payment or a refund.",
    webhook_trigger: "Local: make the YooKassa sandbox send EVENT now.",
}
for _command, _help in SHORT_HELP.items():
    _command.short_help = _help


def _format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def main() -> None:
    """The console script: ``payments``."""
    payments(prog_name="payments")
