"""Each function's IAM grants, read from the translated template, and a small evaluator for them."""

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from tests.template.cfn import as_list, cfn, resources

TABLE = "table"
SECRET = "secret"


@dataclass(frozen=True)
class Grant:
    action: str  # "dynamodb:GetItem"
    resource: str  # "table", "table/index/PendingIndex", "secret", or the raw resource
    leading_keys: tuple[str, ...] | None = None  # dynamodb:LeadingKeys patterns (StringLike); None: any

    def allows(self, action: str, resource: str, leading_key: str | None = None) -> bool:
        if action != self.action or resource != self.resource:
            return False
        if self.leading_keys is None:
            return True
        return leading_key is not None and any(fnmatch.fnmatchcase(leading_key, p) for p in self.leading_keys)


def _resource(value: Any) -> str:
    if value == {"Fn::GetAtt": ["PaymentsTable", "Arn"]}:
        return TABLE
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        text = value["Fn::Sub"]
        if text.startswith("${PaymentsTable.Arn}/"):
            return TABLE + text.removeprefix("${PaymentsTable.Arn}")
    if value == {"Fn::Sub": ["${secretArn}", {"secretArn": {"Ref": "YooKassaSecretArn"}}]}:
        return SECRET
    return json.dumps(value, sort_keys=True)


def _leading_keys(statement: dict[str, Any]) -> tuple[str, ...] | None:
    condition = statement.get("Condition")
    if condition is None:
        return None
    assert set(condition) == {"ForAllValues:StringLike"}, condition
    keys = condition["ForAllValues:StringLike"]
    assert set(keys) == {"dynamodb:LeadingKeys"}, condition
    return tuple(sorted(as_list(keys["dynamodb:LeadingKeys"])))


def role_of(function: str) -> dict[str, Any]:
    role = cfn()["Resources"][function]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": [f"{function}Role", "Arn"]}, role
    resource: dict[str, Any] = cfn()["Resources"][f"{function}Role"]
    return resource


def grants_of(function: str) -> set[Grant]:
    found = set()
    for policy in role_of(function)["Properties"].get("Policies", []):
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            assert statement["Effect"] == "Allow", statement
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    found.add(Grant(action, _resource(resource), _leading_keys(statement)))
    return found


def lambda_functions() -> list[str]:
    return sorted(resources("AWS::Lambda::Function"))


def allowed(function: str, action: str, resource: str, leading_key: str | None = None) -> bool:
    return any(grant.allows(action, resource, leading_key) for grant in grants_of(function))
