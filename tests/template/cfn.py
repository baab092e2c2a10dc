"""The template as CloudFormation sees it (translated offline, once per test session) and small readers."""

import functools
import re
from typing import Any

from local.template import load
from scripts.sam2cfn import translate


@functools.cache
def cfn() -> dict[str, Any]:
    """template.yaml translated by aws-sam-translator: what `sam deploy` hands to CloudFormation."""
    return translate()


def sam() -> dict[str, Any]:
    return load()


def resources(of_type: str, template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    found = (template or cfn())["Resources"]
    return {name: resource for name, resource in found.items() if resource["Type"] == of_type}


def sam_functions() -> dict[str, dict[str, Any]]:
    return resources("AWS::Serverless::Function", sam())


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def substitute(value: Any, variables: dict[str, str]) -> str:
    """A ``Fn::Sub`` string with ``variables`` filled in (``${Name}`` and ``${Name.Attr}``)."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    assert isinstance(text, str), value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in variables, f"${{{name}}} has no test value"
        return variables[name]

    return re.sub(r"\$\{([A-Za-z0-9:.]+)\}", replace, text)
