"""``python -m local``: run the payment service on this machine.

python -m local dev                                   the whole stack until Ctrl-C / SIGTERM
python -m local invoke HealthFunction -e events/HealthFunction.json    one event, like sam local invoke
python -m local invoke ReconcilerFunction --api [--time 2026-11-29T17:10:00Z]   in the running stack
python -m local token --sub alice [--scope payments/admin]             a dev access token
"""

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("local")
PROCESS_STARTED = time.monotonic()  # "ready in" counts the imports too


def _configure_logging(level: int = logging.INFO) -> None:
    """Ours at ``level``, libraries' (botocore, PynamoDB, moto) only when they warn."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="%(asctime)s %(levelname)-7s %(name)-14s %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("local").setLevel(level)
    # Powertools warns on every invocation that adds no business metric; in a console that is noise.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def _banner(stack: Any, started: float) -> str:
    api, token = stack.api_url, stack.issuer.mint("alice")
    yookassa = stack.yookassa_api_url + ("  (sandbox)" if stack.sandbox is not None else "  (real YooKassa)")
    dynamodb = stack.dynamodb.endpoint + ("  (moto)" if stack.dynamodb.owned else "")
    create = (
        f'curl -X POST {api}/orders/payment/create -H "Content-Type: application/json" '
        f'-H "Authorization: Bearer $TOKEN" -d \'{{"orderId":"test-uuid","amount":100}}\''
    )
    status = f'curl -H "Authorization: Bearer $TOKEN" {api}/payment-status/<paymentId>'
    schedules = []
    if stack.scheduler is not None:
        for schedule in stack.scheduler.runner.schedules:
            event, next_run = schedule.event, stack.scheduler.next_runs.get(schedule.event.function)
            when = f"next run {next_run:%H:%M:%S} UTC" if next_run else f"not run: {schedule.skipped}"
            schedules.append(f"  {event.function:<24}{event.expression}, {when}")
        if schedules:
            schedules.insert(0, f"Schedules (run one now: curl -X POST {api}/_local/run/<LogicalId>):")
            schedules.append("")
    lines = [
        "",
        "Clean House payments, running locally",
        f"  Demo frontend           {api}/",
        f"  API (HTTP API)          {api}",
        f"  Webhook (Function URL)  {stack.webhook_url}",
        f"  YooKassa API            {yookassa}",
        f"  DynamoDB                {dynamodb}, table {stack.config.table_name}",
        f'  Dev tokens              POST {api}/_local/token {{"sub": "alice"}}',
        f"  JWKS                    {api}/_local/jwks.json",
        f"  Functions               {_concurrency(stack.config.lambda_concurrency)}",
        "",
        "A dev token for alice (valid 1 h; another one: make token SUB=bob):",
        f"  export TOKEN={token}",
        "",
        "Try it:",
        f"  {create}",
        f"  {status}",
        "",
        *schedules,
        f"ready in {time.monotonic() - started:.1f} s; Ctrl-C stops everything",
    ]
    return "\n".join(lines)


def _concurrency(workers: int) -> str:
    if workers == 0:
        return "in this process, one invocation at a time (LAMBDA_CONCURRENCY=0)"
    return f"up to {workers} worker process(es) each, started on demand (LAMBDA_CONCURRENCY)"


def dev(_: argparse.Namespace) -> int:
    from local.dynamodb import PortInUse
    from local.stack import LocalStack, StackConfig

    _configure_logging()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stack = LocalStack(StackConfig.from_env())
    try:
        stack.start_dev()
        stack.wait_ready()
        stack.record_state()  # .local-state/stack.json: where the `payments` command finds this stack
    except PortInUse as exc:
        log.error("%s", exc)
        stack.stop()
        return 1
    except Exception:
        log.exception("the local stack did not start")
        stack.stop()
        return 1
    print(_banner(stack, PROCESS_STARTED), flush=True)
    while not stop.wait(1):
        pass
    print("stopping...", flush=True)
    stack.stop()
    print("stopped", flush=True)
    return 0


def invoke(args: argparse.Namespace) -> int:
    from local.gateway import LocalLambda
    from local.schedules import format_time, parse_time, scheduled_event
    from local.stack import LocalStack, StackConfig
    from local.template import functions, schedules

    _configure_logging(logging.WARNING)
    known = functions()
    if args.function not in known:
        print(
            f"unknown function {args.function!r}; the template has: {', '.join(sorted(known))}", file=sys.stderr
        )
        return 2
    scheduled = {s.function: s for s in schedules()}
    if (args.api or args.time) and args.function not in scheduled:
        names = ", ".join(sorted(scheduled)) or "none"
        print(f"--api and --time are for scheduled functions (the template has: {names})", file=sys.stderr)
        return 2
    try:
        at = parse_time(args.time) if args.time else None
    except ValueError as exc:
        print(f"--time must be an ISO 8601 instant like 2026-11-29T17:10:00Z: {exc}", file=sys.stderr)
        return 2
    if args.api:
        if args.event:
            print(
                "--api runs the stack's own event (events/<LogicalId>.json); use --time, not -e",
                file=sys.stderr,
            )
            return 2
        return _invoke_running(args.api, args.function, at, known[args.function].timeout)
    if args.event:
        event = json.loads(Path(args.event).read_text())
        if at is not None:
            event["time"] = format_time(at)
    elif args.function in scheduled:
        event = scheduled_event(args.function, at or datetime.now(UTC), scheduled[args.function].type)
    else:
        event = {}
    stack = LocalStack(StackConfig.from_env())
    outcome: dict[str, Any] = {}
    # Like `sam local invoke`: the result on stdout, the function's logs (Powertools prints) on stderr.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            stack.start_for_invoke()
            run = LocalLambda()
            outcome["result"] = run(args.function, event, wait=known[args.function].timeout + 1)
        except Exception as exc:  # noqa: BLE001 - reported like Lambda's error result, exit code 1
            traceback.print_exc()
            outcome["error"] = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
        finally:
            stack.stop()
    print(json.dumps(outcome.get("result", outcome.get("error")), ensure_ascii=False, indent=2))
    return 1 if "error" in outcome else 0


def _invoke_running(api: str, function_id: str, at: datetime | None, timeout: int) -> int:
    """``POST {api}/_local/run/{function_id}``: the result on stdout; exit 0, 1 when the function failed,
    2 when the stack refused the request."""
    from local.schedules import format_time

    body = json.dumps({"time": format_time(at)} if at else {}).encode()
    request = urllib.request.Request(  # noqa: S310 - a URL the developer gave for their own stack
        f"{api.rstrip('/')}/_local/run/{function_id}",
        data=body,
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout + 10) as response:  # noqa: S310
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    except OSError as exc:
        print(f"no local stack answers at {api} ({exc}); start one with `make dev`", file=sys.stderr)
        return 1
    try:
        printed = json.dumps(json.loads(answer), ensure_ascii=False, indent=2)
    except ValueError:
        printed = answer.decode(errors="replace")
    print(printed)
    if status == 200:
        return 0
    return 1 if status >= 500 else 2


def token(args: argparse.Namespace) -> int:
    from local.auth import dev_issuer

    print(dev_issuer().mint(args.sub, args.scope, expires_in=args.expires_in))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser(
        "dev", help="run DynamoDB, the YooKassa sandbox, the gateway and the demo until stopped"
    )

    invoke_cmd = commands.add_parser("invoke", help="run one function with one event, like sam local invoke")
    invoke_cmd.add_argument("function", help="the function's logical id in template.yaml")
    invoke_cmd.add_argument(
        "-e",
        "--event",
        help="event JSON file (default: a scheduled function's events/<LogicalId>.json, else {})",
    )
    running = f"http://127.0.0.1:{os.environ.get('API_PORT', '3000')}"
    invoke_cmd.add_argument(
        "--api",
        nargs="?",
        const=running,
        metavar="URL",
        help=f"run a scheduled function in the stack running at URL (default {running}) through "
        "POST /_local/run/{LogicalId}, instead of starting a fresh one",
    )
    invoke_cmd.add_argument(
        "--time", help="a scheduled function's notion of now: the event's time, e.g. 2026-11-29T17:10:00Z"
    )

    token_cmd = commands.add_parser("token", help="print a dev access token (no server needed)")
    token_cmd.add_argument("--sub", required=True, help="the user id (JWT sub)")
    token_cmd.add_argument("--scope", default="", help="space-separated scopes, e.g. payments/admin")
    token_cmd.add_argument("--expires-in", type=int, default=3600, help="lifetime in seconds (default 3600)")

    args = parser.parse_args(argv)
    handlers = {"dev": dev, "invoke": invoke, "token": token}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
