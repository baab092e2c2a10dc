"""``python -m local.cli``: the ``payments`` command without installing it."""

from local.cli import main

main()
