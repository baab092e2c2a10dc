import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.money import amount_to_kopecks, kopecks_to_amount


@pytest.mark.parametrize(
    ("kopecks", "amount"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (150000, "1500.00"),
        (35_000_000, "350000.00"),
        (123456789012345678901, "1234567890123456789.01"),
    ],
)
def test_kopecks_render_as_yookassa_amounts(kopecks: int, amount: str) -> None:
    assert kopecks_to_amount(kopecks) == amount
    assert amount_to_kopecks(amount) == kopecks


@pytest.mark.parametrize(("amount", "kopecks"), [("1", 100), ("1.5", 150), ("0.1", 10), ("10.05", 1005)])
def test_short_forms_parse_exactly(amount: str, kopecks: int) -> None:
    assert amount_to_kopecks(amount) == kopecks


@pytest.mark.parametrize(
    "bad", ["", "1.", ".5", "1.005", "-1.00", "+1.00", "1e3", "01.00", "1,00", "1_000", "NaN", "١.٠٠", "１"]
)
def test_anything_but_a_plain_decimal_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a money amount"):
        amount_to_kopecks(bad)


@pytest.mark.parametrize(
    "bad", ["1.00\n", "1\n", " 1.00", "1.00 ", "\t1", "1\t", "\n1.00", "1.00\r\n", "\u00a01.00", " 1.00 "]
)
def test_an_amount_with_surrounding_whitespace_or_a_trailing_newline_is_refused(bad: str) -> None:
    """YooKassa never sends them; ``int()`` and a ``$``-anchored ``match`` would accept some of them."""
    with pytest.raises(ValueError, match="not a money amount"):
        amount_to_kopecks(bad)


def test_a_refused_amount_is_named_in_the_error() -> None:
    with pytest.raises(ValueError) as refused:
        amount_to_kopecks("1.00\n")
    assert str(refused.value) == "not a money amount: '1.00\\n'"


@pytest.mark.parametrize("bad", [1.5, 100.0, True, None, "100"])
def test_kopecks_must_be_an_int(bad: object) -> None:
    with pytest.raises(TypeError) as refused:
        kopecks_to_amount(bad)  # type: ignore[arg-type]
    assert str(refused.value) == "kopecks must be an int"


def test_negative_kopecks_are_refused() -> None:
    with pytest.raises(ValueError) as refused:
        kopecks_to_amount(-1)
    assert str(refused.value) == "amount must not be negative"


@pytest.mark.parametrize("bad", [1.5, 150, None, b"1.00"])
def test_amount_must_be_a_string(bad: object) -> None:
    with pytest.raises(TypeError) as refused:
        amount_to_kopecks(bad)  # type: ignore[arg-type]
    assert str(refused.value) == "amount must be a string"


@given(st.integers(min_value=0, max_value=10**20))
def test_round_trip_is_exact(kopecks: int) -> None:
    assert amount_to_kopecks(kopecks_to_amount(kopecks)) == kopecks


@given(st.integers(min_value=0, max_value=10**20))
def test_rendering_always_has_two_decimals(kopecks: int) -> None:
    rubles, _, fraction = kopecks_to_amount(kopecks).partition(".")
    assert len(fraction) == 2
    assert int(rubles) * 100 + int(fraction) == kopecks


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_rendering_preserves_order(a: int, b: int) -> None:
    key = amount_to_kopecks
    assert (key(kopecks_to_amount(a)) < key(kopecks_to_amount(b))) == (a < b)
