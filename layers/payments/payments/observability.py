"""Powertools Logger, Metrics and Tracer: one instance each per process."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="payments")
metrics = Metrics(namespace="CleanHouse/Payments", service="payments")
tracer = Tracer(service="payments")

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
