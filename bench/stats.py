"""Medians and spreads of paired runs."""

import statistics
from collections.abc import Sequence
from typing import Any


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles (inclusive method), IQR, extremes and N."""
    data = sorted(float(v) for v in values)
    if not data:
        return {"median": None, "q1": None, "q3": None, "iqr": None, "min": None, "max": None, "n": 0}
    if len(data) == 1:
        q1 = q3 = data[0]
    else:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    return {
        "median": statistics.median(data),
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "min": data[0],
        "max": data[-1],
        "n": len(data),
    }


def paired(ours: Sequence[float], bare: Sequence[float]) -> dict[str, Any]:
    """Both sides and the ratio of each pair (ours / bare): the figure, immune to drift between pairs."""
    if len(ours) != len(bare):
        raise ValueError("paired runs differ in number")
    ratios = [a / b for a, b in zip(ours, bare, strict=True) if b > 0]
    return {"ours": summary(ours), "bare": summary(bare), "ratio": summary(ratios)}


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0
