"""``python -m chaos [--seed N] [--payments N]``: see ``chaos/__init__.py`` and README "Chaos: `make chaos`".

Exit codes: 0 no invariant violated; 1 some were (the table lists them); 2 the run itself failed (the stack
did not start, a helper refused): nothing was proven either way.
"""

import argparse
import sys
from pathlib import Path

from chaos.client import HarnessError
from chaos.run import Options, run_chaos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed", type=int, default=Options.seed, help="the run's choices (default %(default)s)"
    )
    parser.add_argument(
        "--payments", type=int, default=Options.payments, help="customer checkouts (default %(default)s)"
    )
    parser.add_argument(
        "--workers", type=int, default=Options.workers, help="checkouts at once (default %(default)s)"
    )
    parser.add_argument("--no-receipts", action="store_true", help="RECEIPTS off (default: on, 54-FZ checked)")
    parser.add_argument("--output", type=Path, help="the JSON's path (default bench/results/chaos-<date>.json)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines, no table")
    args = parser.parse_args(argv)
    if args.payments < 1 or args.workers < 1:
        parser.error("--payments and --workers must be at least 1")
    options = Options(
        seed=args.seed,
        payments=args.payments,
        workers=args.workers,
        receipts=not args.no_receipts,
        output=args.output,
        quiet=args.quiet,
    )
    try:
        outcome = run_chaos(options)
    except HarnessError as exc:
        sys.stderr.write(f"chaos: the run could not finish: {exc}\n")
        return 2
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
