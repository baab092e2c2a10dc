"""The environment for a `python -m local` subprocess started from inside the test session."""

import os

from payments.settings import Settings

# The session configures handlers in its own process; none of that may leak into a stack that brings its
# own DynamoDB, sandbox and settings (as `make dev` in a clean shell would).
SESSION_SETTINGS = frozenset(name.upper() for name in Settings.model_fields)
SESSION_PREFIXES = ("AWS_ENDPOINT_URL", "YOOKASSA_", "POWERTOOLS_", "PYTEST")


def clean_environment(**values: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in SESSION_SETTINGS and not k.startswith(SESSION_PREFIXES)
    }
    env.update(values)
    return env
