"""Least privilege, read from the CloudFormation the template becomes.

Each function may do exactly what the table below says: which table actions, on which item kinds
(partition-key prefixes, ``dynamodb:LeadingKeys``), and whether it reads the YooKassa secret.
tests/template/test_policy_calls.py checks the other direction: the calls the code really makes are
all allowed.
"""

import pytest

from tests.template.policies import SECRET, TABLE, Grant, allowed, grants_of, lambda_functions, role_of

GET = Grant("dynamodb:GetItem", TABLE)
READ_SECRET = Grant("secretsmanager:GetSecretValue", SECRET)


def put(*kinds: str) -> Grant:
    return Grant("dynamodb:PutItem", TABLE, tuple(sorted(f"{kind}#*" for kind in kinds)))


def update(*kinds: str) -> Grant:
    return Grant("dynamodb:UpdateItem", TABLE, tuple(sorted(f"{kind}#*" for kind in kinds)))


# A payment's own partition holds its refund requests and applied refunds.
QUERY_PAYMENT = Grant("dynamodb:Query", TABLE, ("PAYMENT#*",))
# A create that failed gives up its claim on the client's Idempotency-Key, so a retry may run.
RELEASE_IDEMPOTENCY = Grant("dynamodb:DeleteItem", TABLE, ("IDEMPOTENCY#*",))
# A create counts the caller's payable payments first (MaxPendingPaymentsPerUser).
COUNT_PENDING = Grant("dynamodb:Query", TABLE + "/index/UserPendingIndex")


# Bringing a payment forward from what YooKassa says (status polls, webhook, reconciler): the payment,
# YooKassa's id lookup, and the order or subscription it pays.
SYNC = {put("PAYMENT", "YOOKASSA"), update("PAYMENT", "ORDER", "SUBSCRIPTION")}

RECONCILER_DLQ = '{"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "Arn"]}'

EXPECTED: dict[str, set[Grant]] = {
    "CreateOrderPaymentFunction": {
        GET,
        put("PAYMENT", "YOOKASSA", "IDEMPOTENCY"),
        update("PAYMENT", "ORDER"),
        RELEASE_IDEMPOTENCY,
        COUNT_PENDING,
        READ_SECRET,
    },
    "CreateSubscriptionPaymentFunction": {
        GET,
        put("PAYMENT", "YOOKASSA", "IDEMPOTENCY", "SUBSCRIPTION"),
        update("PAYMENT", "SUBSCRIPTION"),
        RELEASE_IDEMPOTENCY,
        COUNT_PENDING,
        READ_SECRET,
    },
    "OrderPaymentStatusFunction": {GET, *SYNC, READ_SECRET},
    "SubscriptionPaymentStatusFunction": {GET, *SYNC, READ_SECRET},
    "PaymentStatusFunction": {GET, *SYNC, READ_SECRET},
    # Reads the secret only to report whether it is there and well-formed, never its value.
    "HealthFunction": {GET, READ_SECRET},
    "PutOrderFunction": {GET, put("ORDER"), update("ORDER")},
    "PutPlanFunction": {put("PLAN")},
    # Reads the order and the payment that paid it; marks the order completed (its settlement receipt
    # is registered at YooKassa first, with receipts on).
    "CompleteOrderFunction": {GET, update("ORDER"), READ_SECRET},
    # A full refund takes back what the payment bought: the order becomes refunded, the subscription
    # loses the period.
    "RefundPaymentFunction": {
        GET,
        QUERY_PAYMENT,
        put("PAYMENT"),
        update("PAYMENT", "ORDER", "SUBSCRIPTION"),
        READ_SECRET,
    },
    "YooKassaWebhookFunction": {
        GET,
        QUERY_PAYMENT,
        put("PAYMENT", "YOOKASSA", "WEBHOOK"),
        update("PAYMENT", "ORDER", "SUBSCRIPTION"),
        READ_SECRET,
    },
    "SubscriptionsFunction": {GET, Grant("dynamodb:Query", TABLE + "/index/UserSubscriptionIndex")},
    "AutoRenewFunction": {GET, update("SUBSCRIPTION")},
    "OrderPaymentFunction": {GET},
    # Charges renewals: the payment (and its YooKassa id lookup) written first, then settled with the
    # subscription; finds what is due in the PendingIndex's RENEW shards.
    "RenewalFunction": {
        GET,
        Grant("dynamodb:Query", TABLE + "/index/PendingIndex"),
        put("PAYMENT", "YOOKASSA"),
        update("PAYMENT", "SUBSCRIPTION"),
        READ_SECRET,
    },
    "ReconcilerFunction": {
        GET,
        Grant("dynamodb:Query", TABLE + "/index/PendingIndex"),
        QUERY_PAYMENT,  # settling a held refund request: it is found by YooKassa's refund id
        *SYNC,
        READ_SECRET,
        Grant("sqs:SendMessage", RECONCILER_DLQ),  # its DeadLetterQueue: runs that raised land there
    },
}

# What SAM adds to every role: CloudWatch Logs (basic execution) and X-Ray segments (Tracing: Active).
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


def test_every_function_has_a_row_in_the_table() -> None:
    assert set(lambda_functions()) == set(EXPECTED)


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_a_function_gets_exactly_its_grants(function: str) -> None:
    assert grants_of(function) == EXPECTED[function]
    assert set(role_of(function)["Properties"]["ManagedPolicyArns"]) == MANAGED


def test_nothing_is_granted_by_wildcard() -> None:
    for function in lambda_functions():
        for grant in grants_of(function):
            assert "*" not in grant.action, (function, grant)
            assert grant.resource in {TABLE, SECRET, RECONCILER_DLQ} or grant.resource.startswith(
                TABLE + "/index/"
            ), grant


def test_only_the_admin_routes_write_prices() -> None:
    """Plans are written by PutPlan alone; orders' prices by PutOrder, which creates an order or updates
    the one it read (the payment flows may only update an order: point it at its payment, mark it paid;
    no one else may create or replace one)."""
    for function in lambda_functions():
        writes_plan = allowed(function, "dynamodb:PutItem", TABLE, "PLAN#basic") or allowed(
            function, "dynamodb:UpdateItem", TABLE, "PLAN#basic"
        )
        assert writes_plan == (function == "PutPlanFunction"), function
        creates_order = allowed(function, "dynamodb:PutItem", TABLE, "ORDER#o-1")
        assert creates_order == (function == "PutOrderFunction"), function
    assert allowed("PutOrderFunction", "dynamodb:UpdateItem", TABLE, "ORDER#o-1")
    assert not allowed("PutOrderFunction", "dynamodb:UpdateItem", TABLE, "PAYMENT#p-1")


def test_only_functions_that_call_yookassa_read_its_secret() -> None:
    no_secret = {
        "PutOrderFunction",
        "PutPlanFunction",
        "SubscriptionsFunction",
        "AutoRenewFunction",
        "OrderPaymentFunction",
    }
    for function in lambda_functions():
        assert allowed(function, "secretsmanager:GetSecretValue", SECRET) == (function not in no_secret)


def test_nothing_deletes_or_scans() -> None:
    """The one delete: a create that failed gives up its claim on an Idempotency-Key, nothing else."""
    for function in lambda_functions():
        actions = {grant.action for grant in grants_of(function)}
        assert not actions & {"dynamodb:Scan", "dynamodb:BatchWriteItem"}, function
        deletes = {grant for grant in grants_of(function) if grant.action == "dynamodb:DeleteItem"}
        assert deletes <= {RELEASE_IDEMPOTENCY}, function
