"""54-FZ receipts: lines that add up to the kopeck, refunds split exactly, contacts YooKassa accepts."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain.receipts import (
    Contact,
    PaymentMode,
    Receipt,
    ReceiptLine,
    check_lines,
    is_email,
    line,
    normalize_phone,
    order_receipt,
    receipt_contact,
    refund_receipt,
    settlement_receipt,
    subscription_receipt,
)
from payments.errors import ValidationFailed

ALICE = Contact(email="alice@example.com")


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("+7 (900) 123-45-67", "79001234567"),
        ("79001234567", "79001234567"),
        ("8 900 123 45 67", "79001234567"),
        ("+8 900 123 45 67", "89001234567"),  # an explicit +8 is not a Russian trunk prefix
        ("+44 20 7946 0958", "442079460958"),
        ("+1.202.555.0123", "12025550123"),
    ],
)
def test_phones_become_the_digits_yookassa_wants(raw: str, digits: str) -> None:
    assert normalize_phone(raw) == digits


@pytest.mark.parametrize(
    "raw", ["", "call me", "+7 900", "1234567890123456", "7900123456x", "+7 900 123-45-67 ext 2"]
)
def test_what_is_no_phone_number_is_refused(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_a_contact_needs_an_email_or_a_phone() -> None:
    assert not Contact()
    assert Contact(email="a@b.c") and Contact(phone="79001234567")


def test_an_order_without_lines_is_one_line_of_its_description_and_amount() -> None:
    receipt = order_receipt("Уборка квартиры", 150_000, (), 1, ALICE, None)
    assert receipt.lines == (ReceiptLine("Уборка квартиры", 1, 150_000, 1),)
    assert (receipt.payment_mode, receipt.customer, receipt.total) == (
        PaymentMode.FULL_PREPAYMENT,
        ALICE,
        150_000,
    )


def test_an_orders_own_lines_are_its_receipt() -> None:
    lines = (line("Уборка", 2, 50_000, 11), line("Окна", 1, 50_000, 1))
    receipt = order_receipt("Уборка", 150_000, lines, 1, ALICE, 2)
    assert (receipt.lines, receipt.tax_system_code) == (lines, 2)


def test_lines_that_do_not_add_up_to_the_order_are_refused() -> None:
    with pytest.raises(ValueError, match="149999"):
        order_receipt("Уборка", 150_000, (line("Уборка", 1, 149_999, 1),), 1, ALICE, None)


def test_a_description_is_cut_to_128_characters() -> None:
    assert len(line("я" * 300, 1, 1, 1).description) == 128


@pytest.mark.parametrize(
    ("months", "text"), [(1, "Подписка «Базовый», 1 месяц"), (12, "Подписка «Базовый», 1 год")]
)
def test_a_subscription_period_is_one_full_payment_line(months: int, text: str) -> None:
    receipt = subscription_receipt("Базовый", months, 99_000, 1, ALICE, None)
    assert receipt.lines == (ReceiptLine(text, 1, 99_000, 1),)
    assert receipt.payment_mode is PaymentMode.FULL_PAYMENT


def test_check_lines_names_every_problem() -> None:
    bad = (line("", 0, 0, 13),)
    with pytest.raises(ValidationFailed) as refused:
        check_lines(bad, 100)
    assert {d["field"] for d in refused.value.details or []} == {
        "receiptItems.0.quantity",
        "receiptItems.0.amount",
        "receiptItems.0.vatCode",
        "receiptItems.0.description",
    }


def test_check_lines_refuses_a_total_off_by_one_kopeck() -> None:
    with pytest.raises(ValidationFailed, match="invalid"):
        check_lines((line("a", 3, 33_333, 1),), 100_000)
    check_lines((line("a", 3, 33_333, 1), line("b", 1, 1, 1)), 100_000)


def test_a_partial_refund_of_lines_is_split_in_proportion_with_the_remainder_last() -> None:
    paid = Receipt(ALICE, (line("a", 1, 1, 4), line("b", 1, 2, 4)), PaymentMode.FULL_PREPAYMENT)
    refunded = refund_receipt(paid, 2)
    assert [(entry.description, entry.quantity, entry.amount) for entry in refunded.lines] == [("b", 1, 2)]
    assert refunded.total == 2


def test_a_refund_never_gives_back_more_of_a_line_than_it_cost() -> None:
    paid = Receipt(
        ALICE, (line("a", 1, 50, 1), line("b", 1, 50, 1), line("c", 1, 1, 1)), PaymentMode.FULL_PAYMENT
    )
    refunded = refund_receipt(paid, 100)
    assert refunded.total == 100
    assert all(entry.amount <= 50 for entry in refunded.lines)
    assert [entry.amount for entry in refunded.lines if entry.description == "c"] in ([1], [])


@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 2_000_000), st.sampled_from([1, 2, 7, 11, 12])),
        min_size=1,
        max_size=8,
    ),
    st.data(),
)
def test_any_refund_of_any_lines_adds_up_to_the_kopeck(
    items: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    paid = Receipt(
        ALICE,
        tuple(line(f"line {n}", quantity, amount, vat) for n, (quantity, amount, vat) in enumerate(items)),
        PaymentMode.FULL_PREPAYMENT,
    )
    refund = data.draw(st.integers(1, paid.total))
    refunded = refund_receipt(paid, refund)
    assert refunded.total == refund
    assert all(entry.quantity == 1 and entry.amount > 0 for entry in refunded.lines)
    by_line = {entry.description: entry for entry in paid.lines}
    for entry in refunded.lines:
        original = by_line[entry.description]
        assert entry.amount <= original.total
        assert (entry.vat_code, refunded.payment_mode) == (original.vat_code, paid.payment_mode)


def test_two_partial_refunds_never_exceed_what_was_paid() -> None:
    paid = order_receipt("Уборка", 100_001, (), 1, ALICE, None)
    assert refund_receipt(paid, 33_333).total + refund_receipt(paid, 66_668).total == 100_001
    with pytest.raises(ValueError):
        refund_receipt(paid, 100_002)
    with pytest.raises(ValueError):
        refund_receipt(paid, 0)


def test_the_settlement_receipt_is_the_prepayment_as_a_sale() -> None:
    prepaid = order_receipt("Уборка", 150_000, (line("Уборка", 3, 50_000, 11),), 1, ALICE, 1)
    settled = settlement_receipt(prepaid, 150_000)
    assert (settled.lines, settled.customer, settled.tax_system_code) == (prepaid.lines, ALICE, 1)
    assert (settled.payment_mode, settled.settled_prepayment) == (PaymentMode.FULL_PAYMENT, 150_000)


def test_after_a_partial_refund_the_settlement_receipt_settles_only_what_is_left() -> None:
    """The chaos run found it: a receipt settling the whole prepayment after part of it went back."""
    prepaid = order_receipt(
        "Уборка", 150_001, (line("Окна", 2, 50_000, 11), line("Пол", 1, 50_001, 4)), 1, ALICE, 1
    )
    settled = settlement_receipt(prepaid, 100_000)
    assert (settled.payment_mode, settled.settled_prepayment, settled.total) == (
        PaymentMode.FULL_PAYMENT,
        100_000,
        100_000,
    )
    assert [(entry.description, entry.quantity, entry.amount, entry.vat_code) for entry in settled.lines] == [
        ("Окна", 1, 66_666, 11),
        ("Пол", 1, 33_334, 4),
    ]
    with pytest.raises(ValueError):
        settlement_receipt(prepaid, 0)


# ---------------------------------------------------------------- what the mutants showed was unpinned
@pytest.mark.parametrize("address", ["a@b.c", "alice.smith+cleaning@example.com", "я@почта.рф"])
def test_an_address_a_receipt_can_go_to_is_an_email(address: str) -> None:
    assert is_email(address)


@pytest.mark.parametrize(
    "address", ["", "alice", "alice@", "@example.com", "a@b", "a b@c.d", "a@b@c.d", "a@b.c "]
)
def test_what_is_no_address_is_refused(address: str) -> None:
    assert not is_email(address)


def test_an_address_may_be_254_characters_and_no_more() -> None:
    longest = "a" * 244 + "@" + "b" * 5 + ".com"
    assert (len(longest), is_email(longest), is_email("a" + longest)) == (254, True, False)


def test_a_phone_of_15_digits_is_the_longest_e164_allows() -> None:
    assert normalize_phone("+123 456 789 012 345") == "123456789012345"


def test_the_contact_the_request_gave_wins_else_the_tokens() -> None:
    given_contact = Contact(phone="79001234567")
    assert receipt_contact(given_contact, "alice@example.com", None) == given_contact
    assert receipt_contact(None, "alice@example.com", "79001234567") == Contact(
        "alice@example.com", "79001234567"
    )
    assert receipt_contact(Contact(), None, "79001234567") == Contact(phone="79001234567")
    assert not receipt_contact(None, None, None)


def test_every_line_problem_is_named_with_its_field_and_a_reason() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_lines((line("", 0, 0, 13),), 100)
    assert refused.value.details == [
        {"field": "receiptItems.0.quantity", "problem": "must be a whole number of at least 1"},
        {"field": "receiptItems.0.amount", "problem": "must be at least 1 kopeck per unit"},
        {"field": "receiptItems.0.vatCode", "problem": "must be 1-12"},
        {"field": "receiptItems.0.description", "problem": "must not be empty"},
    ]


def test_lines_that_do_not_add_up_say_by_how_much() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_lines((line("a", 3, 33_333, 1),), 100_000)
    assert refused.value.details == [
        {"field": "receiptItems", "problem": "lines add up to 99999 kopecks, not 100000"}
    ]


def test_a_refund_receipt_keeps_whole_kopecks_and_says_what_was_wrong() -> None:
    paid = Receipt(ALICE, (line("a", 3, 33_333, 1), line("b", 1, 1, 2)), PaymentMode.FULL_PREPAYMENT, 3)
    refunded = refund_receipt(paid, 50_000)
    assert all(type(entry.amount) is int for entry in refunded.lines)
    assert (refunded.customer, refunded.tax_system_code) == (ALICE, 3)
    with pytest.raises(ValueError, match="a refund of 100001 kopecks of a 100000-kopeck receipt"):
        refund_receipt(paid, 100_001)


def test_a_subscription_receipt_goes_to_its_customer_under_the_tax_system() -> None:
    receipt = subscription_receipt("Базовый", 1, 99_000, 11, ALICE, 2)
    assert (receipt.customer, receipt.tax_system_code, receipt.lines[0].vat_code) == (ALICE, 2, 11)
