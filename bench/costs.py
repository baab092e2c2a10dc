"""(5) What 1,000,000 payments cost on AWS, modelled from the measured figures, against a floor computed
the same way.

A payment is 1 create, 10 polls (the result page polls every 2 s) and 1 webhook; 1 % of invocations are
cold starts. Per invocation:

* Lambda duration at memory M = CPU seconds x s(M) + waiting, where s(M) = 1769 / M below 1769 MB
  (Lambda gives a function CPU in proportion to its memory, one full vCPU at 1769 MB) and 1 above, and
  waiting = the operation's requests x the latencies below (the local servers answer in ~1 ms, so the
  measured waits would say nothing of AWS's or YooKassa's). CPU seconds are measured: the operation's
  thread CPU when warm, the whole process's (interpreter start, imports, first request) when cold:
  since 2025-08-01 Lambda bills the INIT phase too. Billed per started millisecond. This machine's core
  is taken as fast as a Graviton core (``CPU_SPEED_FACTOR``).
* DynamoDB request units from the counting pass (bench/recorder.py ``units_of``: item sizes measured).
* CloudWatch Logs: the bytes the handler wrote (measured), Lambda's own platform lines (as the
  template's ``LoggingConfig`` makes them), and 26 bytes of metadata per log event.
* Secrets Manager: one ``GetSecretValue`` per cold start of a function that reads the secret (measured
  as the first request of a container).

The floor: the same API Gateway and Lambda requests, the fewest DynamoDB requests a payment could do
(poll 1 read, create 1 write + 1 read, webhook 1 read + 1 write; each one unit), no compute, no logs.
Not modelled (the same for any code): X-Ray traces (``Tracing: Active``), CloudWatch metrics, storage,
data transfer.
"""

import math
from typing import Any

# Prices: us-east-1, on-demand list prices as the model that wrote this knew them (training data up to
# mid-2025), NOT fetched from AWS; check each service's pricing page before relying on them.
PRICES_AS_OF = "2025-06 (model knowledge, not fetched)"
PRICE_REGION = "us-east-1"
API_GATEWAY_HTTP_PER_MILLION = 1.00  # HTTP API requests, first 300 M a month
LAMBDA_REQUESTS_PER_MILLION = 0.20
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334  # arm64, first 7.5 B GB-s a month
DYNAMODB_READ_UNITS_PER_MILLION = 0.125  # on-demand, Standard table class (halved 2024-11-01)
DYNAMODB_WRITE_UNITS_PER_MILLION = 0.625
CLOUDWATCH_LOGS_PER_GB = 0.50  # ingestion, Lambda (vended) logs, first 10 TB a month
SECRETS_MANAGER_PER_10K_CALLS = 0.05
GB = 1024**3

# Latencies: assumptions, not measurements (the local stand-ins answer in about a millisecond).
DYNAMODB_LATENCY_S = 0.005  # one single-item request in-region (typical median)
DYNAMODB_TRANSACTION_LATENCY_S = 0.010  # TransactWriteItems (two-phase)
YOOKASSA_LATENCY_S = 0.150  # one YooKassa API call from AWS (issue #13's outside measurement)
SECRETS_MANAGER_LATENCY_S = 0.030
LAMBDA_FULL_VCPU_MB = 1769
CPU_SPEED_FACTOR = 1.0  # Graviton core time / this machine's core time for the same work

COLD_FRACTION = 0.01
PAYMENTS = 1_000_000
PROFILE = {"create new": 1, "poll": 10, "webhook": 1}  # operation -> invocations per payment
VIA_API_GATEWAY = {"create new": True, "poll": True, "webhook": False}  # the webhook is a Function URL
FLOOR_UNITS = {"create new": (1, 1), "poll": (1, 0), "webhook": (1, 1)}  # (read, write) units
MEMORY_SIZES = (256, 512, 768, 1024)
LOG_EVENT_OVERHEAD_BYTES = 26

# Lambda's own lines per invocation in the text format (sizes of real ones; the REPORT line carries the
# X-Ray trace id with Tracing: Active, and Init Duration on a cold start).
_REQUEST_ID = "8f5e9d3c-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
TEXT_PLATFORM_LINES = (
    f"START RequestId: {_REQUEST_ID} Version: $LATEST\n",
    f"END RequestId: {_REQUEST_ID}\n",
    f"REPORT RequestId: {_REQUEST_ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 1024 MB\t"
    "Max Memory Used: 98 MB\t\n",
)
XRAY_SUFFIX = (
    "XRAY TraceId: 1-67a9c3e5-2f0c1b7e4d3a5f6b7c8d9e0f\tSegmentId: 3d2f1e0a9b8c7d6e\tSampled: true\t\n"
)
JSON_PLATFORM_LINES = (
    '{"time":"2026-01-01T00:00:00.000Z","type":"platform.start","record":{"requestId":"' + _REQUEST_ID + '",'
    '"version":"$LATEST"}}\n',
    '{"time":"2026-01-01T00:00:00.020Z","type":"platform.report","record":{"requestId":"' + _REQUEST_ID + '",'
    '"metrics":{"durationMs":12.34,"billedDurationMs":13,"memorySizeMB":1024,"maxMemoryUsedMB":98},'
    '"tracing":{"spanId":"3d2f1e0a9b8c7d6e","type":"X-Amzn-Trace-Id","value":"Root=1-67a9c3e5-2f0c1b7e4d3a5f6b7'
    'c8d9e0f;Parent=3d2f1e0a9b8c7d6e;Sampled=1"},"status":"success"}}\n',
)


def platform_log(logging_config: dict[str, Any], tracing: bool) -> tuple[int, int]:
    """Bytes and events Lambda itself logs per invocation under the template's ``LoggingConfig``."""
    if logging_config.get("LogFormat") == "JSON":
        if str(logging_config.get("SystemLogLevel", "INFO")).upper() in ("WARN", "ERROR"):
            return 0, 0
        return sum(len(line) for line in JSON_PLATFORM_LINES), len(JSON_PLATFORM_LINES)
    size = sum(len(line) for line in TEXT_PLATFORM_LINES) + (len(XRAY_SUFFIX) if tracing else 0)
    return size, len(TEXT_PLATFORM_LINES)


def cpu_scale(memory_mb: int) -> float:
    return CPU_SPEED_FACTOR * max(1.0, LAMBDA_FULL_VCPU_MB / memory_mb)


def waiting_s(counted: dict[str, Any]) -> float:
    dynamodb: dict[str, int] = counted["dynamodb"]
    transactions = dynamodb.get("TransactWriteItems", 0) + dynamodb.get("TransactGetItems", 0)
    singles = sum(dynamodb.values()) - transactions
    return (
        singles * DYNAMODB_LATENCY_S
        + transactions * DYNAMODB_TRANSACTION_LATENCY_S
        + counted["yookassa_requests"] * YOOKASSA_LATENCY_S
    )


def at_aws_latency(warm: dict[str, Any], counts: dict[str, Any], memory: dict[str, int]) -> dict[str, Any]:
    """Warm latency as it would be on Lambda (modelled): each side's measured CPU scaled to the function's
    memory, plus the same requests' waits at the latencies above. Both sides make the same requests, so
    this is our code's share of a real request, which the loopback ratios understate or overstate."""
    modelled = {}
    for operation, figures in warm.items():
        counted = counts.get(operation, {}).get("warm")
        if counted is None:
            continue
        scale, wait = cpu_scale(memory[figures["function"]]), waiting_s(counted)
        ours = figures["cpu"]["ours"]["median"] * scale + wait
        bare = figures["cpu"]["bare"]["median"] * scale + wait
        modelled[operation] = {"ours_ms": ours * 1000, "bare_ms": bare * 1000, "ratio": ours / bare}
    return modelled


def _billed_s(seconds: float) -> float:
    return math.ceil(seconds * 1000) / 1000


def operation_profile(
    operation: str, warm: dict[str, Any], counts: dict[str, Any], cold: dict[str, Any]
) -> dict[str, Any]:
    """The measured inputs of one operation, memory-independent."""
    function = warm[operation]["function"]
    counted = counts[operation]["warm"]
    first = counts[operation]["first"]
    cold_fn = cold.get(function, {})
    secret_reads = sum(n for name, n in first["other_aws"].items() if name.startswith("secretsmanager:"))
    return {
        "function": function,
        "cpu_warm_s": warm[operation]["cpu"]["ours"]["median"],
        "cpu_cold_s": cold_fn["cpu"]["ours"]["median"] if "cpu" in cold_fn else None,
        "waiting_s": waiting_s(counted),
        "secret_reads_cold": secret_reads,
        "read_units": counted["read_units"],
        "write_units": counted["write_units"],
        "log_bytes_warm": warm[operation]["log_bytes"]["median"],
        "log_lines_warm": warm[operation]["log_lines"]["median"],
        "log_bytes_cold": cold_fn["log_bytes"]["median"] if "log_bytes" in cold_fn else None,
        "log_lines_cold": cold_fn["log_lines"]["median"] if "log_lines" in cold_fn else None,
    }


def _costs(
    profiles: dict[str, dict[str, Any]], memory: dict[str, int], platform: tuple[int, int]
) -> dict[str, Any]:
    components = dict.fromkeys(
        (
            "api_gateway",
            "lambda_requests",
            "lambda_compute",
            "dynamodb_reads",
            "dynamodb_writes",
            "logs",
            "secrets_manager",
        ),
        0.0,
    )
    per_operation = {}
    platform_bytes, platform_lines = platform
    for operation, per_payment in PROFILE.items():
        p = profiles[operation]
        invocations = PAYMENTS * per_payment
        mb = memory[operation]
        warm_s = _billed_s(p["cpu_warm_s"] * cpu_scale(mb) + p["waiting_s"])
        cold_cpu = p["cpu_cold_s"] if p["cpu_cold_s"] is not None else p["cpu_warm_s"]
        cold_s = _billed_s(
            cold_cpu * cpu_scale(mb) + p["waiting_s"] + p["secret_reads_cold"] * SECRETS_MANAGER_LATENCY_S
        )
        seconds = (1 - COLD_FRACTION) * warm_s + COLD_FRACTION * cold_s
        gb_s = invocations * seconds * mb / 1024
        cold_bytes = p["log_bytes_cold"] if p["log_bytes_cold"] is not None else p["log_bytes_warm"]
        cold_lines = p["log_lines_cold"] if p["log_lines_cold"] is not None else p["log_lines_warm"]
        log_bytes = (1 - COLD_FRACTION) * (
            p["log_bytes_warm"] + LOG_EVENT_OVERHEAD_BYTES * p["log_lines_warm"]
        ) + COLD_FRACTION * (cold_bytes + LOG_EVENT_OVERHEAD_BYTES * cold_lines)
        log_bytes += platform_bytes + LOG_EVENT_OVERHEAD_BYTES * platform_lines
        costs = {
            "api_gateway": invocations * API_GATEWAY_HTTP_PER_MILLION / 1e6
            if VIA_API_GATEWAY[operation]
            else 0.0,
            "lambda_requests": invocations * LAMBDA_REQUESTS_PER_MILLION / 1e6,
            "lambda_compute": gb_s * LAMBDA_ARM64_PER_GB_SECOND,
            "dynamodb_reads": invocations * p["read_units"] * DYNAMODB_READ_UNITS_PER_MILLION / 1e6,
            "dynamodb_writes": invocations * p["write_units"] * DYNAMODB_WRITE_UNITS_PER_MILLION / 1e6,
            "logs": invocations * log_bytes / GB * CLOUDWATCH_LOGS_PER_GB,
            "secrets_manager": invocations
            * COLD_FRACTION
            * p["secret_reads_cold"]
            * SECRETS_MANAGER_PER_10K_CALLS
            / 1e4,
        }
        for name, value in costs.items():
            components[name] += value
        per_operation[operation] = {
            "invocations": invocations,
            "memory_mb": mb,
            "billed_ms_warm": warm_s * 1000,
            "billed_ms_cold": cold_s * 1000,
            "gb_seconds": gb_s,
            "log_bytes_per_invocation": log_bytes,
            "cost": costs,
            "total": sum(costs.values()),
        }
    return {"components": components, "total": sum(components.values()), "per_operation": per_operation}


def floor() -> dict[str, Any]:
    components = dict.fromkeys(("api_gateway", "lambda_requests", "dynamodb_reads", "dynamodb_writes"), 0.0)
    for operation, per_payment in PROFILE.items():
        invocations = PAYMENTS * per_payment
        reads, writes = FLOOR_UNITS[operation]
        if VIA_API_GATEWAY[operation]:
            components["api_gateway"] += invocations * API_GATEWAY_HTTP_PER_MILLION / 1e6
        components["lambda_requests"] += invocations * LAMBDA_REQUESTS_PER_MILLION / 1e6
        components["dynamodb_reads"] += invocations * reads * DYNAMODB_READ_UNITS_PER_MILLION / 1e6
        components["dynamodb_writes"] += invocations * writes * DYNAMODB_WRITE_UNITS_PER_MILLION / 1e6
    return {"components": components, "total": sum(components.values())}


def model(
    warm: dict[str, Any],
    counts: dict[str, Any],
    cold: dict[str, Any],
    template_memory: dict[str, int],
    logging_config: dict[str, Any],
    tracing: bool,
) -> dict[str, Any]:
    profiles = {op: operation_profile(op, warm, counts, cold) for op in PROFILE}
    platform = platform_log(logging_config, tracing)
    as_deployed = {op: template_memory[profiles[op]["function"]] for op in PROFILE}
    current = _costs(profiles, as_deployed, platform)
    the_floor = floor()
    sweep = {}
    for mb in MEMORY_SIZES:
        costed = _costs(profiles, dict.fromkeys(PROFILE, mb), platform)
        sweep[mb] = {
            "total": costed["total"],
            "lambda_compute": costed["components"]["lambda_compute"],
            "ratio": costed["total"] / the_floor["total"],
            "per_operation": {op: v["total"] for op, v in costed["per_operation"].items()},
            # What a customer waits (modelled): cheaper memory is slower, cold starts most of all.
            "billed_ms_warm": {op: v["billed_ms_warm"] for op, v in costed["per_operation"].items()},
            "billed_ms_cold": {op: v["billed_ms_cold"] for op, v in costed["per_operation"].items()},
        }
    best = min(MEMORY_SIZES, key=lambda mb: float(sweep[mb]["total"]))
    best_per_function = {}
    for op in PROFILE:
        costs_of_op = {mb: float(sweep[mb]["per_operation"][op]) for mb in MEMORY_SIZES}
        best_per_function[profiles[op]["function"]] = min(costs_of_op, key=costs_of_op.__getitem__)
    return {
        "payments": PAYMENTS,
        "profile": PROFILE,
        "cold_fraction": COLD_FRACTION,
        "prices": {
            "as_of": PRICES_AS_OF,
            "region": PRICE_REGION,
            "api_gateway_http_per_million": API_GATEWAY_HTTP_PER_MILLION,
            "lambda_requests_per_million": LAMBDA_REQUESTS_PER_MILLION,
            "lambda_arm64_per_gb_second": LAMBDA_ARM64_PER_GB_SECOND,
            "dynamodb_read_units_per_million": DYNAMODB_READ_UNITS_PER_MILLION,
            "dynamodb_write_units_per_million": DYNAMODB_WRITE_UNITS_PER_MILLION,
            "cloudwatch_logs_per_gb": CLOUDWATCH_LOGS_PER_GB,
            "secrets_manager_per_10k_calls": SECRETS_MANAGER_PER_10K_CALLS,
        },
        "assumptions": {
            "dynamodb_latency_s": DYNAMODB_LATENCY_S,
            "dynamodb_transaction_latency_s": DYNAMODB_TRANSACTION_LATENCY_S,
            "yookassa_latency_s": YOOKASSA_LATENCY_S,
            "secrets_manager_latency_s": SECRETS_MANAGER_LATENCY_S,
            "lambda_full_vcpu_mb": LAMBDA_FULL_VCPU_MB,
            "cpu_speed_factor": CPU_SPEED_FACTOR,
            "platform_log_bytes_per_invocation": platform[0],
            "platform_log_events_per_invocation": platform[1],
            "log_event_overhead_bytes": LOG_EVENT_OVERHEAD_BYTES,
        },
        "inputs": profiles,
        "memory_mb": as_deployed,
        "components": current["components"],
        "per_operation": current["per_operation"],
        "total": current["total"],
        "floor": the_floor,
        "ratio": current["total"] / the_floor["total"],
        "memory_sweep": sweep,
        "best_memory_mb": best,
        "best_memory_mb_per_function": best_per_function,
    }
