"""Money is integer kopecks: parsing, formatting and commission never touch float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from local.yookassa_sandbox.money import commission, format_human, format_kopecks, parse_kopecks

kopecks = st.integers(min_value=0, max_value=10**15)


@given(kopecks)
def test_format_parse_round_trip(value: int) -> None:
    assert parse_kopecks(format_kopecks(value)) == value


@given(kopecks)
def test_commission_is_3_5_percent_half_up(value: int) -> None:
    expected = (Decimal(value) * Decimal("0.035")).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    assert commission(value) == int(expected)


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_decimals_parse_exactly(value: Decimal) -> None:
    assert parse_kopecks(str(value)) == int(value * 100)
    assert parse_kopecks(value) == int(value * 100)


def test_rejects() -> None:
    for bad in ("1.005", "-1", "1e2", "0x10", "", " 1", "1 ", "1,5", True, None, 1.5, "١٢"):
        assert parse_kopecks(bad) is None, bad


def test_human_format() -> None:
    assert format_human(150000) == "1 500,00 ₽"
    assert format_human(35_000_000) == "350 000,00 ₽"
    assert format_human(5) == "0,05 ₽"
