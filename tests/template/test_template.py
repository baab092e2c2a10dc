"""What CloudFormation will deploy: runtimes, the secret's handling, the webhook URL, the deploy guide."""

import re
from pathlib import Path

import pytest

from local.template import ROOT, functions
from payments.observability import METRICS
from tests.template.cfn import cfn, resources, sam, sam_functions

SECRET_NAMES = re.compile(r"SECRET_KEY|SHOP_ID|PASSWORD|TOKEN|PRIVATE", re.IGNORECASE)


@pytest.mark.parametrize("function", sorted(resources("AWS::Lambda::Function")))
def test_every_function_is_python313_on_arm64_with_the_layer(function: str) -> None:
    props = cfn()["Resources"][function]["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    [layer] = props["Layers"]
    assert cfn()["Resources"][layer["Ref"]]["Type"] == "AWS::Lambda::LayerVersion"


@pytest.mark.parametrize("function", sorted(resources("AWS::Lambda::Function")))
def test_every_function_logs_json_with_system_lines_from_warn_into_a_group_that_expires(function: str) -> None:
    props = cfn()["Resources"][function]["Properties"]
    assert props["LoggingConfig"] == {
        "LogFormat": "JSON",
        "SystemLogLevel": "WARN",
        "ApplicationLogLevel": {"Ref": "LogLevel"},
    }
    groups = [
        group["Properties"]
        for group in resources("AWS::Logs::LogGroup").values()
        if group["Properties"].get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    ]
    assert [g["RetentionInDays"] for g in groups] == [{"Ref": "LogRetentionDays"}], function
    assert "POWERTOOLS_LOG_LEVEL" not in props["Environment"]["Variables"]  # one level: Lambda's


def test_the_yookassa_secret_is_never_a_plain_environment_variable() -> None:
    text = (ROOT / "template.yaml").read_text()
    assert "{{resolve:secretsmanager" not in text and "{{resolve:ssm-secure" not in text
    for function in resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert not [name for name in variables if SECRET_NAMES.search(name)], variables
        assert variables["YOOKASSA_SECRET_ARN"] == {"Ref": "YooKassaSecretArn"}
    assert sam()["Parameters"]["YooKassaSecretArn"]["Type"] == "String"
    assert "Default" not in sam()["Parameters"]["YooKassaSecretArn"]


def test_the_webhook_is_a_public_function_url_with_capped_concurrency() -> None:
    url = cfn()["Resources"]["YooKassaWebhookFunctionUrl"]["Properties"]
    assert url["AuthType"] == "NONE"
    # Since October 2025 a public Function URL needs both permissions; SAM adds them.
    permissions = [r["Properties"] for r in resources("AWS::Lambda::Permission").values()]
    public = [p for p in permissions if p["FunctionName"] == {"Ref": "YooKassaWebhookFunction"}]
    assert {p["Action"] for p in public} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    webhook = sam_functions()["YooKassaWebhookFunction"]["Properties"]
    assert 0 < webhook["ReservedConcurrentExecutions"] <= 50
    output = sam()["Outputs"]["WebhookUrl"]["Value"]
    assert output == {"Fn::Sub": "${YooKassaWebhookFunctionUrl.FunctionUrl}webhooks/yookassa"}


def test_function_code_directories_hold_only_the_handler() -> None:
    """SAM's python builder copies CodeUri as is; without requirements.txt it installs nothing."""
    for function in functions().values():
        files = {p.name for p in Path(function.code_uri).iterdir() if p.name != "__pycache__"}
        assert files == {"app.py"}, function.logical_id


def test_every_parameter_is_named_in_the_deploy_guide() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Deploy to AWS" in readme
    guide = readme.split("## Deploy to AWS", 1)[1]
    missing = [name for name in sam()["Parameters"] if f"`{name}`" not in guide]
    assert not missing, f"README's deploy guide does not name {missing}"


def test_every_counted_metric_is_declared_and_every_declared_one_is_emitted() -> None:
    """``count("Name")`` literals in the layer vs observability.METRICS (what alarms and charts use)."""
    layer = ROOT / "layers" / "payments" / "payments"
    source = "\n".join(p.read_text() for p in layer.rglob("*.py"))
    counted = set(re.findall(r"""\bcount\(\s*["']([A-Za-z]+)["']""", source))
    counted |= set(re.findall(r"""add_metric\(\s*name\s*=\s*["']([A-Za-z]+)["']""", source))
    assert counted - set(METRICS) == set(), "declare new metrics in observability.METRICS"
    assert set(METRICS) - counted == set(), "metrics the template relies on that nothing emits"
