"""The baseline every cold start is compared with: the least a DynamoDB-backed Lambda handler does.

It imports boto3, builds a DynamoDB client at module level (as any handler would) and, per event, does
one consistent GetItem of the payment its path names: what a status poll needs, and nothing else.
"""

import json
import os
from typing import Any

import boto3

TABLE_NAME = os.environ["TABLE_NAME"]
client = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payment_id = event["pathParameters"]["paymentId"]
    answer = client.get_item(
        TableName=TABLE_NAME,
        Key={"PK": {"S": f"PAYMENT#{payment_id}"}, "SK": {"S": "META"}},
        ConsistentRead=True,
    )
    item = answer.get("Item") or {}
    return {"statusCode": 200 if item else 404, "body": json.dumps({"status": item.get("status", {}).get("S")})}
