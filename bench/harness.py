"""``make bench``: every figure of bench/__init__.py's list, in one run, then the table and the JSON."""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.infra import ROOT, Endpoints, OutputCapture, Services, say, timed

RESULTS = ROOT / "bench" / "results"
WARM_TABLE = "bench-warm"
RECONCILE_TABLE = "bench-reconcile"
SECRET_NAME = "cleanhouse/bench/yookassa"  # noqa: S105 - a name, not a secret
FRONTEND_URL = "http://127.0.0.1:3000"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH0",
    "AWS_SECRET_ACCESS_KEY": "bench-secret-access-key",
    "AWS_SESSION_TOKEN": "bench-session-token",
}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class Params:
    pairs: int
    cold_pairs: int
    warmup: int
    reconcile_n: int
    reconcile_delayed_n: int
    yookassa_latency_ms: int
    credentials: str  # "secret" (Secrets Manager on moto, as deployed) or "env"
    functions: tuple[str, ...]  # cold starts measured (empty: all)
    quick: bool
    skip_build: bool
    out: str  # the results file's name in bench/results/ ("": by date)

    @classmethod
    def from_env(cls) -> "Params":
        quick = os.environ.get("BENCH_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
        credentials = os.environ.get("BENCH_CREDENTIALS", "secret").strip().lower()
        if credentials not in ("secret", "env"):
            raise SystemExit("BENCH_CREDENTIALS is secret or env")
        return cls(
            pairs=_int("BENCH_N", 3 if quick else 21),
            cold_pairs=_int("BENCH_COLD_N", 1 if quick else 7),
            warmup=_int("BENCH_WARMUP", 1 if quick else 3),
            reconcile_n=_int("BENCH_RECONCILE_N", 10 if quick else 200),
            reconcile_delayed_n=_int("BENCH_RECONCILE_DELAYED_N", 3 if quick else 30),
            yookassa_latency_ms=_int("BENCH_YOOKASSA_LATENCY_MS", 150),
            credentials=credentials,
            functions=tuple(f.strip() for f in os.environ.get("BENCH_FUNCTIONS", "").split(",") if f.strip()),
            quick=quick,
            skip_build=os.environ.get("BENCH_SKIP_BUILD", "") == "1",
            out=os.environ.get("BENCH_OUT", "").strip(),
        )


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no", "--", "layers", "functions", "template.yaml"):
        commit += " + uncommitted changes"
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "load_average": load,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "arch": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "commit": commit,
    }


def configure_process(endpoints: Endpoints, credentials: str, secret_arn: str) -> dict[str, str]:
    """This process is the warm container: the template's variables (pointing at the stand-ins), fake
    AWS credentials, the endpoints. Returns the stand-in overrides (the cold processes get them too)."""
    from bench.lambda_env import function_environment, lambda_variables

    overrides = {
        "TABLE_NAME": WARM_TABLE,
        "FRONTEND_URL": FRONTEND_URL,
        "YOOKASSA_API_URL": endpoints.yookassa_api_url,
    }
    if credentials == "secret":
        overrides["YOOKASSA_SECRET_ARN"] = secret_arn
    else:
        overrides.update(
            YOOKASSA_SECRET_ARN="", YOOKASSA_SHOP_ID=endpoints.shop_id, YOOKASSA_SECRET_KEY=endpoints.secret_key
        )
    os.environ.pop("AWS_PROFILE", None)
    for name in ("YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY", "YOOKASSA_SECRET_ARN"):
        os.environ.pop(name, None)
    os.environ.update(function_environment("PaymentStatusFunction", overrides))
    lambda_vars = lambda_variables("PaymentStatusFunction", 1024, endpoints.region)
    for name in ("PATH", "LANG", "TZ"):
        lambda_vars.pop(name)
    os.environ.update(lambda_vars)
    os.environ.update(aws_variables(endpoints))
    return overrides


def aws_variables(endpoints: Endpoints) -> dict[str, str]:
    return {
        **FAKE_CREDENTIALS,
        "AWS_REGION": endpoints.region,
        "AWS_DEFAULT_REGION": endpoints.region,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoints.aws_endpoint,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoints.aws_endpoint,
    }


def make_tables_and_secret(endpoints: Endpoints, tables: list[str]) -> str:
    import boto3

    from local.dynamodb import ensure_table

    env = aws_variables(endpoints)
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        region_name=endpoints.region,
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoints.aws_endpoint)
    for table in tables:
        ensure_table(dynamodb, table)
    secrets = session.client("secretsmanager", endpoint_url=endpoints.aws_endpoint)
    secret = json.dumps({"shopId": endpoints.shop_id, "secretKey": endpoints.secret_key})
    arn: str = secrets.create_secret(Name=SECRET_NAME, SecretString=secret)["ARN"]
    return arn


def main() -> int:
    params = Params.from_env()
    started = time.perf_counter()
    machine = machine_info()  # the load average before the bench adds its own
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    say(f"make bench: {'QUICK, ' if params.quick else ''}{asdict(params)}")
    from bench.lambda_env import ensure_build

    build = ensure_build(skip=params.skip_build)
    sys.path.insert(0, str(ROOT))
    measured = run(params, build, date)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results = {"date": date, "machine": machine, **measured}
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    from bench import report

    text = report.render(results)
    name = params.out or (f"{date}-quick.json" if params.quick else f"{date}.json")
    path = report.write(results, RESULTS, name)
    print(text)  # noqa: T201 - the report
    print(f"\nwritten to {path.relative_to(ROOT)} in {results['elapsed_s']:.0f} s")  # noqa: T201
    return 0


def run(params: Params, build: str, date: str) -> dict[str, Any]:
    from local.template import functions, load, table_definition

    function_ids = [f for f in functions() if not params.functions or f in params.functions]
    unknown = sorted(set(params.functions) - set(functions()))
    if unknown:
        say(f"BENCH_FUNCTIONS: not in template.yaml, ignored: {', '.join(unknown)}")
    cold_tables = {f: f"bench-cold-{f}" for f in function_ids}
    definition = table_definition()
    key_names = tuple(k["AttributeName"] for k in definition["KeySchema"])
    with Services() as services, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        endpoints = services.endpoints
        assert endpoints is not None
        with timed("tables and the secret"):
            secret_arn = make_tables_and_secret(endpoints, [WARM_TABLE, RECONCILE_TABLE, *cold_tables.values()])
        overrides = configure_process(endpoints, params.credentials, secret_arn)
        # Imported only now: the layer reads its settings from this environment.
        from bench import cold, costs, reconcile, warm
        from bench.lambda_env import logging_config, memory_size, stage, unstage
        from bench.recorder import BareClient, Recorder, indexes_of
        from bench.scenarios import Shop

        recorder = Recorder(key_names, endpoints.yookassa_api_url)
        recorder.install()
        shop = Shop(endpoints)
        bare = BareClient(endpoints.aws_endpoint, endpoints.region, (endpoints.shop_id, endpoints.secret_key))
        with timed("staging the build read-only"):
            staged = stage(Path(tmp), function_ids, ROOT / "bench" / "bare_handler")
        try:
            with OutputCapture() as capture:
                with timed("warm table"):
                    payments = warm.setup(shop, WARM_TABLE)
                runner = cold.ColdRunner(
                    staged=staged,
                    env_base=aws_variables(endpoints),
                    overrides=overrides,
                    region=endpoints.region,
                    spec_dir=Path(tmp),
                )
                with timed(f"(1) cold starts: {len(function_ids)} functions x {params.cold_pairs} pairs"):
                    cold_results = cold.measure(
                        runner,
                        shop,
                        function_ids,
                        params.cold_pairs,
                        bare_event=Shop.poll_event(payments["paid"]),
                        bare_table=WARM_TABLE,
                        table_of=cold_tables.__getitem__,
                    )
                written = staged.written_bytecode()
                if written:
                    raise RuntimeError(f"bytecode was written into the read-only copies: {written[:5]}")
                shop.use_table(WARM_TABLE)
                with timed(f"(2) warm latency: {params.pairs} pairs per operation"):
                    state = warm.Warm(shop, recorder, bare, capture, payments["paid"])
                    warm_results = warm.measure(state, params.pairs, params.warmup)
                with timed("(3) requests per operation"):
                    counter = warm.Counter(recorder, services, indexes_of(definition), key_names)
                    counts = warm.count_operations(shop, counter, payments["paid"], payments["pending"])
                with timed(f"(4) reconciler: {params.reconcile_n} payments"):
                    reconciler = reconcile.measure(
                        shop,
                        recorder,
                        bare,
                        services,
                        RECONCILE_TABLE,
                        params.reconcile_n,
                        params.reconcile_delayed_n,
                        params.yookassa_latency_ms,
                    )
        finally:
            unstage(staged)
    template = load()
    timeout = int(template["Resources"]["ReconcilerFunction"]["Properties"].get("Timeout", 3))
    reconciler["timeout_s"] = timeout
    # What a run may use: services/reconcile.py stops while its YooKassa budget + 5 s is left.
    from payments.settings import Settings

    reserve = Settings.from_env(os.environ).yookassa_budget_seconds + 5
    reconciler["run_budget_s"] = max(0.0, timeout - reserve)
    tracing = str(template.get("Globals", {}).get("Function", {}).get("Tracing", "")) == "Active"
    memory = {f: memory_size(f) for f in functions()}
    cost = costs.model(warm_results, counts, cold_results, memory, logging_config(), tracing)
    for operation, modelled in costs.at_aws_latency(warm_results, counts, memory).items():
        warm_results[operation]["at_aws_latency"] = modelled
    return {
        "date": date,
        "parameters": {**asdict(params), "functions": list(params.functions)},
        "build": {
            "make_build": build,
            "layer": ".aws-sam/build/PaymentsLayer/python",
            "native_code_substituted": staged.substituted,
        },
        "method": {
            "cold_start": "fresh `python -I -S -B` process per run, sys.path = function copy, layer copy, "
            "runtime (boto3, botocore and deps); read-only copies; wall from spawn to handler return; CPU = "
            "getrusage(RUSAGE_SELF) of the child at handler return",
            "baseline_cold": "bench/bare_handler/app.py: import boto3, client at import, one GetItem",
            "warm": "in-process (local/lambda_runtime.py), after warm-up; wall = perf_counter, "
            "CPU = process_time",
            "baseline_warm": "the operation's DynamoDB requests (same items, no conditions) and YooKassa "
            "requests (new Idempotence-Key) replayed with plain boto3 and requests",
            "servers": "moto (DynamoDB, Secrets Manager) and the YooKassa sandbox in a separate process; "
            f"moto's transactions: {endpoints.transactions}",
        },
        "cold_start": cold_results,
        "warm": warm_results,
        "requests": counts,
        "reconciler": reconciler,
        "cost": cost,
    }
