"""Fuzzing the money functions with hypothesis: any input is either parsed exactly or refused cleanly.

Property tests of the normal cases live in tests/unit/test_money.py; this throws arbitrary text and
objects at the parsers and checks they never fail in any other way.
"""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.money import amount_to_kopecks, format_rubles, kopecks_to_amount

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


@FUZZ
@given(st.one_of(st.text(max_size=64), moneyish))
def test_any_text_is_an_exact_amount_or_a_value_error(text: str) -> None:
    try:
        kopecks = amount_to_kopecks(text)
    except ValueError:
        return
    assert isinstance(kopecks, int) and kopecks >= 0
    # Whatever was accepted means exactly what it says: rendering it back parses to the same kopecks.
    assert amount_to_kopecks(kopecks_to_amount(kopecks)) == kopecks
    rubles, _, fraction = text.partition(".")
    assert kopecks == int(rubles) * 100 + int(fraction.ljust(2, "0") or "0")


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
    assert format_rubles(value) == f"{rendered} RUB"
