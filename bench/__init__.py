"""``make bench``: how fast and how cheap the service is on Lambda, each figure a ratio against a baseline
measured in the same run (issue #13). Not a test: the figures depend on the machine; the ratios much less.

    make bench                  # = .venv/bin/python -m bench (a few minutes on 2 cores)
    BENCH_QUICK=1 make bench    # everything with tiny N (under a minute here): does it work?

No AWS and no network: moto's server (DynamoDB, Secrets Manager) and the YooKassa sandbox run in a child
process on free 127.0.0.1 ports (bench/services.py) and are stopped at the end. ``make build`` runs first
when ``.aws-sam/build`` is missing or older than the sources.

What it measures, each as the median and quartiles of N pairs run alternately (ours, baseline):

1. Cold start of every function of template.yaml (bench/cold.py): a fresh python3.13 process with the
   layer and the function exactly as ``make build`` ships them, copied read-only (no bytecode can be
   written, as on Lambda's ``/opt``), ``sys.path`` as Lambda's, the template's environment, one real event
   (events/<LogicalId>.json with ids that exist). Wall and CPU time from process start to the handler's
   return, against a bare boto3 handler (bench/bare_handler/app.py: import boto3, a client, one GetItem).
   One more run per function under ``-X importtime`` says where the import time goes (JSON: ``imports``).
2. Warm latency (bench/warm.py) of poll, create (new and reused), webhook and admin refund in one process
   after a warm-up, against the same DynamoDB and YooKassa requests replayed with plain boto3/requests.
3. Requests per operation: DynamoDB (botocore), YooKassa (counted at the sandbox), other AWS calls, and
   DynamoDB read/write units from the measured item sizes (GSI writes and transactions included).
4. Reconciler throughput (bench/reconcile.py): a backlog of payments succeeded at YooKassa whose webhooks
   were lost, one invocation; also with YooKassa's latency emulated by the sandbox.
5. A cost model per 1,000,000 payments (bench/costs.py: every price and assumption a named constant)
   against the floor, and the memory size that minimises it.

It prints one table and writes the same as JSON to ``bench/results/<YYYY-MM-DD>.json`` (quick runs:
``<YYYY-MM-DD>-quick.json``).

Knobs (environment variables):

=============================  =========  =====  ==================================================
variable                       default    quick  meaning
=============================  =========  =====  ==================================================
``BENCH_N``                    21         3      warm pairs per operation
``BENCH_COLD_N``               7          1      cold-start pairs per function
``BENCH_WARMUP``               3          1      unmeasured warm iterations first
``BENCH_RECONCILE_N``          200        10     reconciler backlog (the issue suggests 1000 once)
``BENCH_RECONCILE_DELAYED_N``  30         3      backlog of the run with YooKassa latency (0: skip)
``BENCH_YOOKASSA_LATENCY_MS``  150               that latency (the sandbox's ``delay`` fault)
``BENCH_CREDENTIALS``          secret            ``secret``: the shop's credentials from Secrets Manager
                                                 (moto), as deployed; ``env``: plain variables
``BENCH_FUNCTIONS``            all               comma-separated logical ids: cold-start only these
``BENCH_QUICK``                off               ``1``: the quick column
``BENCH_SKIP_BUILD``           off               ``1``: use a stale ``.aws-sam/build`` as it is
``BENCH_OUT``                  by date           the results file's name in bench/results/
=============================  =========  =====  ==================================================

``python bench/sandbox_bench.py`` (the sandbox's own throughput) is still there, separately.

Limits of the method: this is an x86-64 machine and the layer is built for arm64, so its compiled
extensions (pydantic-core, charset-normalizer) are replaced by this machine's build of the same version
(listed in the JSON); CPU is this machine's, not a Graviton core's, and at full speed, not Lambda's share
of one (the cost model scales it, and does not know whether Lambda gives INIT more CPU than the memory
size buys, so small sizes' cold starts may be overstated). moto and the sandbox answer in milliseconds on
loopback, so warm wall ratios compare our code against local round trips; the CPU ratios say more of our
code, and the "on AWS" column and the cost model put the same requests at AWS's and YooKassa's latencies
(named constants in bench/costs.py) instead. moto serializes its operations (as the local stack does, for
isolation), which bounds any concurrent reconciler locally. moto's transactions copied whole tables (cost
growing with the table): the bench's moto rolls back with an item-level undo instead (bench/services.py,
checked at start). The Lambda runtime's own bootstrap (awslambdaric) is not there; both sides of every
pair skip it alike. Other work on the machine moves every figure: the pairs are alternated and adjacent so
that it moves both sides of a ratio alike, but a loaded machine widens the quartiles (the JSON has them,
and the load average at the start).
"""
