"""``payments``: the support and on-call command, against the local stack or a deployed one.

``app`` declares the commands (Click, Rich); ``target`` finds the stack to talk to (``.local-state/``
of a running ``make dev``, or a CloudFormation stack with ``--stack``) and builds the layer's own
adapters for it; ``reads`` adds the read-only table queries no service needs; ``operations`` runs the
layer's services (sync, reconcile, refunds, the webhook path) and never decides anything itself;
``views`` prints. ``state`` is the stack file ``make dev`` writes (standard library only).

Nothing here is part of the Lambda layer, and the layer never imports it (``make lint``).
"""

import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "payments"


def main() -> None:
    """The console script ``payments`` (``make setup`` installs it; ``python -m local.cli`` is the same).

    The layer's ``payments`` package lives in ``layers/payments`` (as on Lambda, under ``/opt/python``):
    put it on the path first, then load the commands."""
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    from local.cli.app import main as run

    run()
