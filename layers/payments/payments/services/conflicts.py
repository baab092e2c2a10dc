"""The one retry-on-conflict loop of the layer.

Every write is conditional on the version it was decided from. Losing means someone else moved the
item meanwhile (a webhook, the reconciler, a poll, a double click): read again, decide again. Each
round has a winner, so a handful of rounds settles any realistic race; past that we answer 409
``concurrent_update`` and the client (or YooKassa's redelivery) retries.
"""

from collections.abc import Callable

from payments.errors import ConcurrentUpdate

RACE_ROUNDS = 8


def retry_on_conflict[T](attempt: Callable[[], T], rounds: int = RACE_ROUNDS) -> T:
    """``attempt()`` until it does not raise ``ConcurrentUpdate``; each attempt must read afresh."""
    for _ in range(rounds - 1):
        try:
            return attempt()
        except ConcurrentUpdate:
            continue
    return attempt()
