"""Alarms and the dashboard: every function, the API, the business metrics, the dead-letter queue."""

import json
from typing import Any

import pytest

from payments.observability import METRICS, SERVICE
from tests.template.cfn import resources, sam, sam_functions, substitute

NAMESPACE = {"Fn::Sub": "CleanHouse/Payments/${Stage}"}
NOTIFY = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def alarms() -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in resources("AWS::CloudWatch::Alarm", sam()).items()}


def alarm_on(metric: str, namespace: Any) -> dict[str, Any]:
    found = [a for a in alarms().values() if a.get("MetricName") == metric and a.get("Namespace") == namespace]
    assert len(found) == 1, f"{len(found)} alarms on {metric}"
    return found[0]


def test_every_alarm_notifies_the_optional_topic() -> None:
    assert sam()["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    assert sam()["Parameters"]["AlarmTopicArn"]["Default"] == ""
    for name, alarm in alarms().items():
        assert alarm["AlarmActions"] == NOTIFY, name
        assert alarm["OKActions"] == NOTIFY, name
        assert alarm["TreatMissingData"] == "notBreaching", name


@pytest.mark.parametrize("function", sorted(sam_functions()))
def test_every_function_alarms_on_errors_and_throttles(function: str) -> None:
    watching = []
    for alarm in alarms().values():
        stats = [q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if "MetricStat" in q]
        if any(m["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}] for m in stats):
            watching.append(alarm)
    assert len(watching) == 1, function
    alarm = watching[0]
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m} == {
        "Errors",
        "Throttles",
    }
    [expression] = [q for q in alarm["Metrics"] if "Expression" in q]
    assert expression["Expression"].replace(" ", "") == "errors+throttles"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_the_http_api_alarms_on_5xx_and_p99_latency() -> None:
    dimensions = [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}, {"Name": "Stage", "Value": "$default"}]
    errors = alarm_on("5xx", "AWS/ApiGateway")
    assert errors["Dimensions"] == dimensions and errors["Statistic"] == "Sum"
    latency = alarm_on("Latency", "AWS/ApiGateway")
    assert latency["Dimensions"] == dimensions and latency["ExtendedStatistic"] == "p99"
    # The stage the alarms name is the stage the API has.
    assert resources("AWS::Serverless::HttpApi", sam())["HttpApi"]["Properties"]["StageName"] == "$default"


@pytest.mark.parametrize(
    ("metric", "threshold"),
    [
        ("WebhookRejected", 5),
        ("ProviderStateConflict", 1),
        ("ReconcilerFixed", 1),
        ("RefundOutcomeUnknown", 1),
        ("ProviderNotFound", 1),
        ("AutoRefundFailed", 1),
        ("ReceiptFailed", 1),
    ],
)
def test_business_alarms(metric: str, threshold: int) -> None:
    alarm = alarm_on(metric, NAMESPACE)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Sum",
        "GreaterThanOrEqualToThreshold",
        threshold,
    )


def test_a_message_in_the_dead_letter_queue_alarms() -> None:
    alarm = alarm_on("ApproximateNumberOfMessagesVisible", "AWS/SQS")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    schedule = sam_functions()["ReconcilerFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "Arn"]}}


def test_metrics_go_to_the_namespace_the_alarms_watch() -> None:
    env = sam()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE
    assert env["POWERTOOLS_SERVICE_NAME"] == SERVICE


def dashboard() -> dict[str, Any]:
    [board] = resources("AWS::CloudWatch::Dashboard", sam()).values()
    values = {
        "Stage": "dev",
        "AWS::Region": "eu-central-1",
        "AWS::StackName": "cleanhouse-payments-dev",
        "HttpApi": "a1b2c3",
        "ReconcilerDeadLetterQueue.QueueName": "dlq",
    }
    parsed: dict[str, Any] = json.loads(substitute(board["Properties"]["DashboardBody"], values))
    return parsed


def charted(widget: dict[str, Any]) -> list[str]:
    """The metric names a widget draws (``"."`` repeats the previous row's value)."""
    names, previous = [], None
    for row in widget["properties"].get("metrics", []):
        strings = [item for item in row if isinstance(item, str)]
        if len(strings) >= 2:
            previous = strings[1] if strings[1] != "." else previous
            names.append(previous)
    return [n for n in names if n]


def test_the_dashboard_shows_the_funnel_and_webhook_health() -> None:
    widgets = {w["properties"].get("title", ""): w for w in dashboard()["widgets"]}
    assert charted(widgets["Payment funnel (per 5 min)"])[:4] == [
        "PaymentCreated",
        "PaymentSucceeded",
        "PaymentFailed",
        "PaymentCanceled",
    ]
    assert set(charted(widgets["Webhook health (per 5 min)"])) == {
        "WebhookAccepted",
        "WebhookRejected",
        "ProviderStateConflict",
        "ReconcilerFixed",
        "AutoRefund",
    }
    by_reason = widgets["Webhook rejections by reason"]["properties"]["metrics"][0][0]["expression"]
    assert "reason" in by_reason and "WebhookRejected" in by_reason


def test_everything_charted_or_alarmed_is_a_metric_the_code_emits() -> None:
    custom = set()
    for widget in dashboard()["widgets"]:
        rows = widget["properties"].get("metrics", [])
        if rows and isinstance(rows[0][0], str) and rows[0][0].startswith("CleanHouse/"):
            custom.update(charted(widget))
    custom.update(a["MetricName"] for a in alarms().values() if a.get("Namespace") == NAMESPACE)
    assert custom and custom <= set(METRICS)
