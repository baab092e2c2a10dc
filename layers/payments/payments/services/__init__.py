"""Use cases. Each receives its store and YooKassa client as arguments; none builds its own."""
