"""Fuzzing the money functions with hypothesis: any input is either parsed exactly or refused cleanly.

Property tests of the normal cases live in tests/unit/test_money.py; this throws arbitrary text and
objects at the parsers and checks they never fail in any other way.
"""

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.money import amount_to_kopecks, kopecks_to_amount

FUZZ = settings(
    max_examples=1000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# Text that looks like money more often than uniform noise would: digits, dots, signs, exponents,
# whitespace and non-ASCII digits (Arabic-Indic, full-width) mixed with anything at all.
money_alphabet = st.sampled_from([*"0123456789.,-+eE _\n\t", "٠", "١", "０", "１", "\u00a0"])
moneyish = st.lists(money_alphabet, max_size=24).map("".join)
anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.binary(), st.lists(st.integers()), st.decimals()
)


# The strict reference: ASCII digits only, no sign, no leading zero, at most two decimals, nothing around
# it (``fullmatch``: no trailing newline either). Not ``int()``, which takes whitespace, underscores,
# signs and non-ASCII digits.
AMOUNT = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?", re.ASCII)
DIGITS = "0123456789"


def reference_kopecks(text: str) -> int | None:
    """What ``text`` means in kopecks by the reference, or ``None`` when it is no amount."""
    match = AMOUNT.fullmatch(text)
    if match is None:
        return None
    value = 0
    for digit in match.group(1) + (match.group(2) or "").ljust(2, "0"):
        value = value * 10 + DIGITS.index(digit)
    return value


def test_the_reference_itself_refuses_what_int_would_take() -> None:
    for lenient in ["1.00\n", " 1", "1 ", "\t1", "1_000", "+1", "-0", "١", "01", "1."]:
        assert reference_kopecks(lenient) is None
    assert [reference_kopecks(t) for t in ["0", "1", "1.5", "10.05", "1500.00"]] == [0, 100, 150, 1005, 150000]


@FUZZ
@given(st.one_of(st.text(max_size=64), moneyish))
def test_any_text_is_exactly_the_references_amount_or_a_value_error(text: str) -> None:
    """GIVEN any text THEN the parser accepts exactly what the strict reference accepts, as the same
    kopecks, and refuses everything else with a ValueError."""
    expected = reference_kopecks(text)
    if expected is None:
        with pytest.raises(ValueError, match="not a money amount"):
            amount_to_kopecks(text)
        return
    kopecks = amount_to_kopecks(text)
    assert type(kopecks) is int and kopecks == expected
    # Whatever was accepted means exactly what it says: rendering it back parses to the same kopecks.
    assert amount_to_kopecks(kopecks_to_amount(kopecks)) == kopecks


@FUZZ
@given(st.from_regex(r"\A(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?\Z"))
def test_every_amount_the_reference_accepts_is_parsed(text: str) -> None:
    assert amount_to_kopecks(text) == reference_kopecks(text)


@FUZZ
@given(anything)
def test_anything_but_text_is_a_type_error(value: Any) -> None:
    try:
        amount_to_kopecks(value)
    except TypeError:
        return
    raise AssertionError(f"{value!r} was accepted")


@FUZZ
@given(st.one_of(anything, st.text(max_size=8)))
def test_rendering_refuses_everything_but_non_negative_ints(value: Any) -> None:
    try:
        rendered = kopecks_to_amount(value)
    except (TypeError, ValueError):
        assert not (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
        return
    assert isinstance(value, int) and value >= 0
    assert amount_to_kopecks(rendered) == value
