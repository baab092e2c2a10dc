"""``make chaos``: a seeded bad day against the local stack, over HTTP only, ending in a table of money
invariants (issue 15).

    make chaos                        # = .venv/bin/python -m chaos --seed 1 --payments 300
    make chaos SEED=7 PAYMENTS=100    # another seed, another size; the seed reproduces the run's choices

It starts its own ``python -m local dev`` on free ports (``chaos.stack``), seeds plans and orders through
the admin routes, and drives a seeded mix of customers, admins and the schedules (``chaos.plan`` decides,
``chaos.scenarios`` and ``chaos.run`` act) while the YooKassa sandbox injects its faults. Then it checks
the service's records against the sandbox's own (``chaos.invariants``), prints a table and writes it to
``bench/results/chaos-<YYYY-MM-DD>.json`` (``chaos.report``); the exit code is 1 when any invariant was
violated.
"""
