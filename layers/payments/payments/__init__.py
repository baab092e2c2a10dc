"""Clean House payments: the shared Lambda layer.

Modules, from the inside out: ``money`` and ``domain`` are pure; ``schemas`` holds the API models;
``errors`` the typed errors; ``settings`` the one configuration object; ``yookassa`` the bounded
provider client; ``store`` the storage port and ``dynamodb`` its PynamoDB adapter; ``services`` the
use cases; ``api`` and ``runtime`` glue them to Lambda.
"""
