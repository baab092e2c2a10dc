"""The sandbox's state and business rules: payments, refunds, saved cards, idempotency, expiry.

One re-entrant lock guards all state; every public method takes it. Nothing here does network I/O:
webhooks are handed to the dispatcher, which queues them for its own threads.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cards import CANCELLATION_PARTIES, CANCELLATION_REASONS, card_brand, outcome_for
from .clock import Clock, format_ms
from .errors import ApiError, invalid_request, not_found
from .money import commission, format_kopecks
from .receipts import parse_receipt, parse_receipt_request
from .validation import REFUND_DESCRIPTION_MAX as _REFUND_DESCRIPTION_MAX
from .validation import (
    ListQuery,
    check_card_limits,
    encode_cursor,
    parse_amount,
    parse_description,
    parse_list_query,
    parse_metadata,
)
from .webhooks import WebhookDispatcher

__all__ = ["CHECKOUT_PATH", "Engine", "PaymentOutcome"]

CHECKOUT_PATH = "/checkout/payments/v2/contract"
PAYMENT_STATUSES = frozenset({"pending", "waiting_for_capture", "succeeded", "canceled"})
REFUND_STATUSES = frozenset({"pending", "succeeded", "canceled"})
RECEIPT_STATUSES = frozenset({"pending", "succeeded", "canceled"})
# A receipt is registered this long (emulated) after it is sent: "pending" first, then "succeeded".
RECEIPT_REGISTRATION_MS = 2000
FISCAL_STORAGE_NUMBER = "9999078900012345"  # the emulated register's fiscal storage (16 digits)
HOLD_SECONDS = 7 * 24 * 3600
IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000
IDEMPOTENCE_KEY_MAX = 64
EPOCH_2000_MS = 946_728_000_000  # 2000-01-01T12:00:00Z: YooKassa ids start with seconds since then
GATEWAY_ID = "100700"
CONFIRMATION_TYPES = frozenset({"redirect", "embedded", "external", "qr", "mobile_application"})
STATE_VERSION = 1
# What the next charge of a saved method does (POST /sandbox/payment_methods/{id}/next_charge): the party
# that cancels each decline. insufficient_funds is the issuer's (the official test cards' table);
# permission_revoked is YooKassa's (the declined-autopayment example of YooKassa's "pay with saved" page, read
# in a copy of it: ../shared/reference/yookassa.md names no party for that reason).
SUCCEEDED = "succeeded"
PERMISSION_REVOKED = "permission_revoked"
NEXT_CHARGE_PARTIES: dict[str, str | None] = {
    SUCCEEDED: None,
    "insufficient_funds": "payment_network",
    PERMISSION_REVOKED: "yoo_money",
}

Record = dict[str, Any]


class PaymentOutcome:
    """What the checkout page should do next."""

    def __init__(self, kind: str, *, url: str = "", token: str = "", message: str = "") -> None:
        self.kind = kind  # "redirect" | "three_ds" | "error" | "final"
        self.url = url
        self.token = token
        self.message = message


def fingerprint(body: Any) -> str:
    """Bodies are compared as parsed JSON: key order and whitespace do not matter."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


class Engine:
    def __init__(
        self,
        *,
        shop_id: str,
        clock: Clock,
        dispatcher: WebhookDispatcher,
        fiscalization: bool = False,
        two_stage: bool = True,
        payment_term_seconds: int = 3600,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.shop_id = shop_id
        self.two_stage = two_stage  # a shop may not have two-stage payments (capture: false) enabled
        self.clock = clock
        self.dispatcher = dispatcher
        self.fiscalization = fiscalization
        self.payment_term_ms = int(payment_term_seconds) * 1000
        self.state_file = Path(state_file) if state_file else None
        self.base_url = "http://127.0.0.1"
        self._lock = threading.RLock()
        self._payments: dict[str, Record] = {}
        self._refunds: dict[str, Record] = {}
        self._receipts: dict[str, Record] = {}
        self._registrations: list[tuple[int, str]] = []  # (due_ms, receipt id): pending registrations
        self._saved: dict[str, Record] = {}
        self._idempotency: dict[str, Record] = {}
        self._expiry: list[tuple[int, str]] = []
        self._three_ds: dict[str, Record] = {}
        self._seq = 0
        if self.state_file is not None and self.state_file.exists():
            self._load()

    # =========================================================================== API entry points
    def idempotent(
        self, route: str, key: str | None, body: Any, operation: Callable[[Any], tuple[str, str]]
    ) -> dict[str, Any]:
        """Run a POST once per (shop, route, key); a same-body repeat returns the object's current state."""
        with self._lock:
            self._run_expiry()
            now = self.clock.now_ms()
            print_ = fingerprint(body)
            record_key = f"{self.shop_id}\n{route}\n{key}"
            record = self._idempotency.get(record_key) if key is not None else None
            if record is not None and now - record["at"] < IDEMPOTENCY_TTL_MS:
                if record["fp"] != print_:
                    raise invalid_request("Idempotence key duplicated", "Idempotence-Key")
                return self._current(record["kind"], record["id"])
            kind, object_id = operation(body)
            if key is not None:
                self._idempotency[record_key] = {"fp": print_, "at": now, "kind": kind, "id": object_id}
                if len(self._idempotency) % 1000 == 0:
                    self._purge_idempotency(now)
            self._save()
            return self._current(kind, object_id)

    def get_payment(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            self._run_expiry()
            return self.payment_json(self._payment(payment_id))

    def get_refund(self, refund_id: str) -> dict[str, Any]:
        with self._lock:
            self._run_expiry()
            refund = self._refunds.get(refund_id)
            if refund is None:
                raise not_found("Refund not found or access denied")
            return self.refund_json(refund)

    def list_payments(self, query: dict[str, str]) -> dict[str, Any]:
        parsed = parse_list_query(query, PAYMENT_STATUSES, ("created_at", "captured_at"), False)
        method = query.get("payment_method")
        with self._lock:
            self._run_expiry()

            def accepts(p: Record) -> bool:
                return (
                    (parsed.status is None or p["status"] == parsed.status)
                    and (method is None or (method == "bank_card" and "payment_method" in p))
                    and parsed.accepts_time("created_at", p["created_ms"])
                    and parsed.accepts_time("captured_at", p.get("captured_ms"))
                )

            return self._page(list(self._payments.values()), parsed, accepts, self.payment_json)

    def list_refunds(self, query: dict[str, str]) -> dict[str, Any]:
        parsed = parse_list_query(query, REFUND_STATUSES, ("created_at",), True)
        with self._lock:
            self._run_expiry()

            def accepts(r: Record) -> bool:
                return (
                    (parsed.status is None or r["status"] == parsed.status)
                    and (parsed.payment_id is None or r["payment_id"] == parsed.payment_id)
                    and parsed.accepts_time("created_at", r["created_ms"])
                )

            return self._page(list(self._refunds.values()), parsed, accepts, self.refund_json)

    def get_receipt(self, receipt_id: str) -> dict[str, Any]:
        with self._lock:
            self._run_expiry()
            receipt = self._receipts.get(receipt_id)
            if receipt is None:
                raise not_found("Receipt not found or access denied")
            return self.receipt_json(receipt)

    def list_receipts(self, query: dict[str, str]) -> dict[str, Any]:
        """``GET /v3/receipts`` by ``payment_id``, ``refund_id``, ``status``, ``created_at.*``; paged."""
        parsed = parse_list_query(query, RECEIPT_STATUSES, ("created_at",), True)
        refund_id = query.get("refund_id")
        with self._lock:
            self._run_expiry()

            def accepts(r: Record) -> bool:
                return (
                    (parsed.status is None or r["status"] == parsed.status)
                    and (parsed.payment_id is None or r["payment_id"] == parsed.payment_id)
                    and (refund_id is None or r.get("refund_id") == refund_id)
                    and parsed.accepts_time("created_at", r["created_ms"])
                )

            return self._page(list(self._receipts.values()), parsed, accepts, self.receipt_json)

    def receipts_of(self, payment_id: str | None) -> list[dict[str, Any]]:
        """The receipts of a payment (payment, refund, settlement), oldest first; every one without an id."""
        with self._lock:
            self._run_expiry()
            return [
                self.receipt_json(receipt)
                for receipt in self._receipts.values()
                if payment_id is None or receipt["payment_id"] == payment_id
            ]

    @staticmethod
    def _page(
        records: list[Record],
        parsed: ListQuery,
        accepts: Callable[[Record], bool],
        render: Callable[[Record], dict[str, Any]],
    ) -> dict[str, Any]:
        page: list[Record] = []
        more = False
        for record in reversed(records):  # newest first
            if parsed.before_seq is not None and record["seq"] >= parsed.before_seq:
                continue
            if not accepts(record):
                continue
            if len(page) == parsed.limit:
                more = True
                break
            page.append(record)
        out: dict[str, Any] = {"type": "list", "items": [render(record) for record in page]}
        if more:
            out["next_cursor"] = encode_cursor(page[-1]["seq"])
        return out

    def me(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "account_id": self.shop_id,
            "test": True,
            "fiscalization_enabled": self.fiscalization,
        }
        if self.fiscalization:  # omitted when off: clients (aioyookassa) want a provider with the object
            out["fiscalization"] = {"enabled": True, "provider": "yoo_receipt"}
        out["payment_methods"] = ["bank_card"]
        out["status"] = "enabled"
        return out

    # =========================================================================== operations
    def op_create_payment(self, body: Any) -> tuple[str, str]:
        body = _object(body)
        amount = parse_amount(body.get("amount"))
        check_card_limits(amount)
        capture = _optional_bool(body, "capture", False)
        if not capture and not self.two_stage:
            raise ApiError(
                403, "forbidden", "Two-stage payments (capture: false) are not enabled for this shop"
            )
        save_method = _optional_bool(body, "save_payment_method", False)
        description = parse_description(body)
        metadata = parse_metadata(body)
        for name in ("transfers", "statements"):
            if body.get(name) is not None and not isinstance(body[name], list):
                raise invalid_request(f"Parameter {name} must be an array", name)
        if body.get("transfers"):
            raise ApiError(403, "forbidden", "Transfers (split payments) are not enabled for this shop")
        method_id = body.get("payment_method_id")
        method_data = body.get("payment_method_data")
        token = body.get("payment_token")
        if sum(value is not None for value in (method_id, method_data, token)) > 1:
            raise invalid_request(
                "Request should contain only one of: payment_method_data, payment_method_id, payment_token"
            )
        if token is not None:
            raise invalid_request("payment_token is not supported by the sandbox", "payment_token")
        if method_data is not None:
            if not isinstance(method_data, dict) or method_data.get("type") != "bank_card":
                raise invalid_request(
                    "The sandbox accepts only payment_method_data.type = bank_card", "payment_method_data.type"
                )
            if "card" in method_data:
                raise ApiError(403, "forbidden", "Forbidden to send raw bank card data")
        merchant_customer_id = body.get("merchant_customer_id")
        if merchant_customer_id is not None and (
            not isinstance(merchant_customer_id, str) or len(merchant_customer_id) > 200
        ):
            raise invalid_request("merchant_customer_id must be a string of at most 200 characters")
        confirmation = body.get("confirmation")
        saved: Record | None = None
        return_url: str | None = None
        enforce: bool | None = None
        if method_id is not None:
            if confirmation is not None:
                raise invalid_request("Confirmation must be null when using payment_method_id", "confirmation")
            if not isinstance(method_id, str) or method_id not in self._saved:
                raise invalid_request("Payment method is not found", "payment_method_id")
            saved = self._saved[method_id]
        else:
            return_url, enforce = _parse_confirmation(confirmation)
        receipt: Record | None = None
        if self.fiscalization or body.get("receipt") is not None:  # YooKassa checks a receipt it is given
            receipt = parse_receipt(body.get("receipt"), amount, "payment amount")

        now = self.clock.now_ms()
        payment: Record = {
            "id": self._new_id("000f", self._payments),
            "seq": self._next_seq(),
            "status": "pending",
            "amount": amount,
            "capture": capture,
            "created_ms": now,
            "refunded": 0,
            "save_payment_method": save_method and saved is None,
        }
        for name, value in (
            ("description", description),
            ("metadata", metadata),
            ("return_url", return_url),
            ("enforce", enforce),
            ("merchant_customer_id", merchant_customer_id),
        ):
            if value is not None:
                payment[name] = value
        if receipt is not None:
            payment["receipt"] = receipt  # registered once the payment succeeds
        if method_data is not None:
            payment["payment_method"] = _unpaid_method(payment["id"])
        self._payments[payment["id"]] = payment
        if saved is not None:
            card = saved["card"]
            payment["payment_method"] = {
                "type": "bank_card",
                "id": saved["id"],
                "saved": True,
                "status": "active",
                "title": saved["title"],
                "card": dict(card),
            }
            outcome = self._take_next_charge(saved)
            party = NEXT_CHARGE_PARTIES[outcome]
            if party is None:
                self._authorize(payment, three_d_secure=False)
            else:  # declined at once: no authorization, the method stays saved (active unless revoked)
                method_status = "inactive" if outcome == PERMISSION_REVOKED else "active"
                self._cancel(payment, party, outcome, method_status=method_status)
        else:
            payment["expires_ms"] = now + self.payment_term_ms
            heapq.heappush(self._expiry, (payment["expires_ms"], payment["id"]))
        return "payment", payment["id"]

    def op_capture(self, payment_id: str) -> Callable[[Any], tuple[str, str]]:
        def capture(body: Any) -> tuple[str, str]:
            body = _object(body)
            payment = self._payment(payment_id)
            if payment["status"] != "waiting_for_capture":
                if payment["capture"] and payment["status"] == "pending":
                    raise invalid_request("You can not capture payment with autocapture")
                raise invalid_request("Payment can not be captured in current status.")
            amount = payment["amount"]
            if body.get("amount") is not None:
                amount = parse_amount(body["amount"])
                if amount > payment["amount"]:
                    raise invalid_request("Illegal amount for capture", "amount.value")
            with_receipts = self.fiscalization or isinstance(payment.get("receipt"), dict)
            if body.get("receipt") is not None or (with_receipts and amount != payment["amount"]):
                # a partial capture needs a receipt for the captured amount: it replaces the payment's
                payment["receipt"] = parse_receipt(body.get("receipt"), amount, "capture amount")
            self._succeed(payment, amount)
            return "payment", payment_id

        return capture

    def op_cancel(self, payment_id: str) -> Callable[[Any], tuple[str, str]]:
        def cancel(body: Any) -> tuple[str, str]:
            _object(body)
            payment = self._payment(payment_id)
            if payment["status"] != "waiting_for_capture":
                if payment["capture"] and payment["status"] == "pending":
                    raise invalid_request("You can not cancel payment with autocapture")
                raise invalid_request("Payment can not be canceled in current status")
            self._cancel(payment, "merchant", "canceled_by_merchant")
            return "payment", payment_id

        return cancel

    def op_create_refund(self, body: Any) -> tuple[str, str]:
        body = _object(body)
        payment_id = body.get("payment_id")
        if not isinstance(payment_id, str) or not payment_id:
            raise invalid_request("Parameter payment_id is missing", "payment_id")
        amount = parse_amount(body.get("amount"))
        description = parse_description(body, _REFUND_DESCRIPTION_MAX)
        metadata = parse_metadata(body)
        payment = self._payments.get(payment_id)
        if payment is None:
            raise invalid_request("Payment doesn't exist or access denied", "payment_id")
        if payment["status"] != "succeeded":
            raise invalid_request("Payment can not be refunded in current status.", "payment_id")
        left = payment["amount"] - payment["refunded"]
        if left <= 0:
            raise invalid_request("Payment is already completely refunded", "payment_id")
        if amount > left:
            raise invalid_request(
                f"Refund sum exceeded. Amount available for refund: {format_kopecks(left)} RUB", "amount.value"
            )
        receipt: Record | None = None
        if self.fiscalization or body.get("receipt") is not None:
            receipt = parse_receipt(body.get("receipt"), amount, "refund amount")
        refund: Record = {
            "id": self._new_id("0016", self._refunds),
            "seq": self._next_seq(),
            "payment_id": payment_id,
            "status": "succeeded",
            "amount": amount,
            "created_ms": self.clock.now_ms(),
        }
        if description is not None:
            refund["description"] = description
        if metadata is not None:
            refund["metadata"] = metadata
        self._refunds[refund["id"]] = refund
        payment["refunded"] += amount
        if receipt is not None:
            refund["receipt_id"] = self._register(receipt, "refund", payment_id, refund_id=refund["id"])["id"]
        self.dispatcher.publish("refund.succeeded", self.refund_json(refund))
        return "refund", refund["id"]

    def op_create_receipt(self, body: Any) -> tuple[str, str]:
        """``POST /v3/receipts``: e.g. the settlement receipt of a prepaid payment (``type: payment``,
        ``settlements: [{type: prepayment, amount}]``), for a succeeded payment or an existing refund."""
        parsed = parse_receipt_request(body)
        refund_id = parsed.pop("refund_id", None)
        payment_id = parsed.pop("payment_id", None)
        if refund_id is not None:
            refund = self._refunds.get(refund_id)
            if refund is None:
                raise invalid_request("Refund doesn't exist or access denied", "refund_id")
            if payment_id is not None and payment_id != refund["payment_id"]:
                raise invalid_request("The refund belongs to another payment", "payment_id")
            payment_id = refund["payment_id"]
        assert payment_id is not None  # parse_receipt_request demands one
        payment = self._payments.get(payment_id)
        if payment is None:
            raise invalid_request("Payment doesn't exist or access denied", "payment_id")
        if payment["status"] != "succeeded":
            raise invalid_request(
                f"Receipt can not be created for a payment in status {payment['status']}: "
                "the payment must be succeeded",
                "payment_id",
            )
        kind = parsed.pop("type")
        receipt = self._register(parsed, kind, payment_id, refund_id=refund_id)
        return "receipt", receipt["id"]

    # =========================================================================== helpers (/sandbox)
    def helper_succeed(self, payment_id: str, card_number: str | None) -> dict[str, Any]:
        number = _digits(card_number) if card_number is not None else "5555555555554444"
        if not 12 <= len(number) <= 19:
            raise invalid_request("card must be a card number of 12 to 19 digits", "card")
        with self._lock:
            self._run_expiry()
            payment = self._payment(payment_id)
            self._require_pending(payment)
            outcome = outcome_for(number)
            card = self._card(number, None, None)
            if outcome.succeeds:
                self._pay_with_card(payment, card, three_d_secure=outcome.three_d_secure)
            else:
                self._decline(payment, card, outcome.party, outcome.reason)
            self._save()
            return self.payment_json(payment)

    def helper_cancel(self, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        reason = body.get("reason", "general_decline")
        party = body.get("party", "payment_network")
        if reason not in CANCELLATION_REASONS:
            raise invalid_request(
                f"Unknown reason {reason!r}; use one of: {', '.join(sorted(CANCELLATION_REASONS))}",
                "reason",
            )
        if party not in CANCELLATION_PARTIES:
            raise invalid_request(
                f"Unknown party {party!r}; use one of: {', '.join(sorted(CANCELLATION_PARTIES))}", "party"
            )
        with self._lock:
            self._run_expiry()
            payment = self._payment(payment_id)
            if payment["status"] not in {"pending", "waiting_for_capture"}:
                raise invalid_request(f"Payment is {payment['status']}: only pending or held payments cancel")
            self._cancel(payment, str(party), str(reason))
            self._save()
            return self.payment_json(payment)

    def helper_next_charge(self, method_id: str, outcome: Any) -> dict[str, Any]:
        """What the next charge of a saved method does: once, then ``succeeded`` again; but a
        ``permission_revoked`` decline revokes the method for good (every later charge is declined so)."""
        if not isinstance(outcome, str) or outcome not in NEXT_CHARGE_PARTIES:
            raise invalid_request(f"outcome must be one of: {', '.join(NEXT_CHARGE_PARTIES)}", "outcome")
        with self._lock:
            self._run_expiry()
            method = self._saved.get(method_id)
            if method is None:
                raise not_found("Payment method not found or not saved")
            if method.get("revoked") and outcome != PERMISSION_REVOKED:
                raise invalid_request(
                    "The permission of this payment method was revoked for good: "
                    "its charges are always canceled with permission_revoked",
                    "outcome",
                )
            if outcome == SUCCEEDED:
                method.pop("next_charge", None)
            else:
                method["next_charge"] = outcome
            self._save()
            return {"paymentMethodId": method_id, "outcome": outcome}

    def helper_expire(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            self._run_expiry()
            payment = self._payment(payment_id)
            if payment["status"] == "pending":
                self._cancel(payment, "yoo_money", "expired_on_confirmation")
            elif payment["status"] == "waiting_for_capture":
                self._cancel(payment, "yoo_money", "expired_on_capture")
            else:
                raise invalid_request(f"Payment is {payment['status']}: only pending or held payments expire")
            self._save()
            return self.payment_json(payment)

    def advance_clock(self, seconds: float) -> None:
        with self._lock:
            self.clock.advance(seconds)
            self._expire_due()
            self._register_due()
            self._save()  # the clock's offset is part of the state

    def tick(self) -> None:
        """Run due expiries (called by the background ticker and on every access)."""
        with self._lock:
            self._run_expiry()

    def reset(self) -> None:
        with self._lock:
            self._payments.clear()
            self._refunds.clear()
            self._receipts.clear()
            self._registrations.clear()
            self._saved.clear()
            self._idempotency.clear()
            self._expiry.clear()
            self._three_ds.clear()
            self._seq = 0
            self.clock.reset()
            self.dispatcher.reset()
            self._save()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                "payments": len(self._payments),
                "refunds": len(self._refunds),
                "receipts": len(self._receipts),
                "savedPaymentMethods": len(self._saved),
                "idempotenceKeys": len(self._idempotency),
            }

    # =========================================================================== checkout page
    def checkout_view(self, payment_id: str) -> tuple[dict[str, Any], str] | None:
        """The payment as the API shows it, and its return_url (gone from the object once paid)."""
        with self._lock:
            self._run_expiry()
            payment = self._payments.get(payment_id)
            if payment is None:
                return None
            return self.payment_json(payment), str(payment.get("return_url", ""))

    def checkout_pay(self, payment_id: str, number: str, expiry: str, cvc: str) -> PaymentOutcome:
        with self._lock:
            self._run_expiry()
            payment = self._payments.get(payment_id)
            if payment is None or payment["status"] != "pending":
                return PaymentOutcome("final")
            digits = _digits(number)
            if not 12 <= len(digits) <= 19:
                return PaymentOutcome("error", message="Проверьте номер карты")
            month_year = self._parse_expiry(expiry)
            if month_year is None:
                return PaymentOutcome("error", message="Проверьте срок действия карты")
            if not (_is_digits(cvc) and 3 <= len(cvc) <= 4):
                return PaymentOutcome("error", message="Проверьте CVC — три цифры на обороте карты")
            outcome = outcome_for(digits)
            card = self._card(digits, *month_year)
            if outcome.three_d_secure:
                token = secrets.token_urlsafe(16)
                self._three_ds[token] = {"payment_id": payment_id, "card": card}
                return PaymentOutcome("three_ds", token=token)
            return self._finish(payment, card, three_d_secure=False)

    def checkout_three_ds(self, payment_id: str, token: str, code: str, confirm: bool) -> PaymentOutcome:
        with self._lock:
            self._run_expiry()
            payment = self._payments.get(payment_id)
            session = self._three_ds.get(token)
            if payment is None or payment["status"] != "pending" or session is None:
                self._three_ds.pop(token, None)
                return PaymentOutcome("final")
            if session["payment_id"] != payment_id:
                return PaymentOutcome("final")
            if confirm and not (_is_digits(code) and 1 <= len(code) <= 8):
                return PaymentOutcome("error", token=token, message="Введите код подтверждения — любые цифры")
            del self._three_ds[token]
            card = session["card"]
            if not confirm:
                self._decline(payment, card, "payment_network", "3d_secure_failed")
                self._save()
                return PaymentOutcome("redirect", url=payment["return_url"])
            return self._finish(payment, card, three_d_secure=True)

    def three_ds_session_valid(self, payment_id: str, token: str) -> bool:
        with self._lock:
            session = self._three_ds.get(token)
            return session is not None and session["payment_id"] == payment_id

    def _finish(self, payment: Record, card: Record, three_d_secure: bool) -> PaymentOutcome:
        number_outcome = card.pop("_outcome")
        if number_outcome.succeeds:
            self._pay_with_card(payment, card, three_d_secure=three_d_secure)
        else:
            self._decline(payment, card, number_outcome.party, number_outcome.reason)
        self._save()
        return PaymentOutcome("redirect", url=payment["return_url"])

    def _parse_expiry(self, text: str) -> tuple[str, str] | None:
        parts = text.replace(" ", "").replace("-", "/").split("/")
        if len(parts) != 2 or not all(_is_digits(part) for part in parts):
            return None
        month, year = int(parts[0]), int(parts[1])
        if len(parts[1]) == 2:
            year += 2000
        elif len(parts[1]) != 4:
            return None
        if not 1 <= month <= 12:
            return None
        today = format_ms(self.clock.now_ms())
        if (year, month) < (int(today[:4]), int(today[5:7])):
            return None
        return f"{month:02d}", str(year)

    # =========================================================================== state transitions
    def _card(self, number: str, month: str | None, year: str | None) -> Record:
        if month is None or year is None:
            now_year = int(format_ms(self.clock.now_ms())[:4])
            month, year = "12", str(now_year + 3)
        card: Record = {
            "first6": number[:6],
            "last4": number[-4:],
            "expiry_year": year,
            "expiry_month": month,
            "card_type": card_brand(number),
            "issuer_country": "RU",
        }
        card["_outcome"] = outcome_for(number)  # removed before the card is stored anywhere
        return card

    def _pay_with_card(self, payment: Record, card: Record, three_d_secure: bool) -> None:
        card = {key: value for key, value in card.items() if not key.startswith("_")}
        saved = bool(payment.get("save_payment_method"))
        title = f"Bank card *{card['last4']}"
        payment["payment_method"] = {
            "type": "bank_card",
            "id": payment["id"],
            "saved": saved,
            "status": "active" if saved else "inactive",
            "title": title,
            "card": card,
        }
        if saved:
            self._saved[payment["id"]] = {"id": payment["id"], "card": dict(card), "title": title}
        self._authorize(payment, three_d_secure=three_d_secure)

    @staticmethod
    def _take_next_charge(method: Record) -> str:
        """The outcome of a charge with a saved method, used up; a revoked method stays revoked."""
        if method.get("revoked"):
            return PERMISSION_REVOKED
        outcome = str(method.pop("next_charge", SUCCEEDED))
        if outcome == PERMISSION_REVOKED:
            method["revoked"] = True
        return outcome

    def _authorize(self, payment: Record, three_d_secure: bool) -> None:
        payment["authorization_details"] = {
            "rrn": str(secrets.randbelow(10**12)).zfill(12),
            "auth_code": str(secrets.randbelow(10**6)).zfill(6),
            "three_d_secure": {
                "applied": three_d_secure,
                "method_completed": three_d_secure,
                "challenge_completed": three_d_secure,
            },
        }
        if payment["capture"]:
            self._succeed(payment, payment["amount"])
            return
        payment["status"] = "waiting_for_capture"
        payment["expires_ms"] = self.clock.now_ms() + HOLD_SECONDS * 1000
        heapq.heappush(self._expiry, (payment["expires_ms"], payment["id"]))
        self.dispatcher.publish("payment.waiting_for_capture", self.payment_json(payment))

    def _succeed(self, payment: Record, amount: int) -> None:
        payment["status"] = "succeeded"
        payment["amount"] = amount
        payment["captured_ms"] = self.clock.now_ms()
        payment.pop("expires_ms", None)
        if isinstance(payment.get("receipt"), dict):  # the receipt goes to the register once the money is in
            payment["receipt_id"] = self._register(payment["receipt"], "payment", payment["id"])["id"]
        self.dispatcher.publish("payment.succeeded", self.payment_json(payment))

    def _decline(self, payment: Record, card: Record, party: str, reason: str) -> None:
        card = {key: value for key, value in card.items() if not key.startswith("_")}
        payment["payment_method"] = {
            "type": "bank_card",
            "id": payment["id"],
            "saved": False,
            "status": "inactive",
            "title": f"Bank card *{card['last4']}",
            "card": card,
        }
        self._cancel(payment, party, reason)

    def _cancel(self, payment: Record, party: str, reason: str, method_status: str | None = None) -> None:
        payment["status"] = "canceled"
        payment["cancellation"] = {"party": party, "reason": reason}
        payment.pop("expires_ms", None)
        if isinstance(payment.get("payment_method"), dict):
            payment["payment_method"]["status"] = "inactive"
            if payment["payment_method"].get("saved") and payment["id"] in self._saved:
                # a card saved during a hold stays saved when the hold is canceled (YooKassa's "save during
                # a two-stage payment of a minimal amount, then cancel it" scenario)
                payment["payment_method"]["status"] = "active"
            if method_status is not None:
                payment["payment_method"]["status"] = method_status
        self.dispatcher.publish("payment.canceled", self.payment_json(payment))

    def _register(self, data: Record, kind: str, payment_id: str, refund_id: str | None = None) -> Record:
        """A receipt sent to the (emulated) register: ``pending`` now, ``succeeded`` a little later."""
        now = self.clock.now_ms()
        receipt: Record = {
            "id": "rt-" + self._new_id("0019", self._receipts, prefix="rt-"),
            "seq": self._next_seq(),
            "type": kind,
            "payment_id": payment_id,
            "status": "pending",
            "created_ms": now,
            "due_ms": now + RECEIPT_REGISTRATION_MS,
            **_copy(data),
        }
        if refund_id is not None:
            receipt["refund_id"] = refund_id
        self._receipts[receipt["id"]] = receipt
        heapq.heappush(self._registrations, (receipt["due_ms"], receipt["id"]))
        return receipt

    def _register_due(self) -> bool:
        now = self.clock.now_ms()
        changed = False
        while self._registrations and self._registrations[0][0] <= now:
            due, receipt_id = heapq.heappop(self._registrations)
            receipt = self._receipts.get(receipt_id)
            if receipt is None or receipt["status"] != "pending":
                continue
            receipt["status"] = "succeeded"
            receipt["registered_ms"] = due
            receipt["fiscal_document_number"] = str(receipt["seq"])
            receipt["fiscal_attribute"] = str(1_000_000_000 + secrets.randbelow(9_000_000_000))
            receipt["fiscal_provider_id"] = secrets.token_hex(16)
            changed = True
        return changed

    def _run_expiry(self) -> None:
        """Due expiries and receipt registrations: on every access and on every tick."""
        expired = self._expire_due()
        if self._register_due() or expired:
            self._save()

    def _expire_due(self) -> bool:
        now = self.clock.now_ms()
        changed = False
        while self._expiry and self._expiry[0][0] <= now:
            due, payment_id = heapq.heappop(self._expiry)
            payment = self._payments.get(payment_id)
            if payment is None or payment.get("expires_ms") != due:
                continue
            if payment["status"] == "pending":
                self._cancel(payment, "yoo_money", "expired_on_confirmation")
                changed = True
            elif payment["status"] == "waiting_for_capture":
                self._cancel(payment, "yoo_money", "expired_on_capture")
                changed = True
        return changed

    # =========================================================================== rendering
    def payment_json(self, p: Record) -> dict[str, Any]:
        """The payment exactly as YooKassa shows it: absent fields omitted, never null."""
        status = p["status"]
        out: dict[str, Any] = {"id": p["id"], "status": status, "amount": _money(p["amount"])}
        if status == "succeeded":
            out["income_amount"] = _money(p["amount"] - commission(p["amount"]))
        if "description" in p:
            out["description"] = p["description"]
        out["recipient"] = {"account_id": self.shop_id, "gateway_id": GATEWAY_ID}
        if "payment_method" in p:
            out["payment_method"] = _copy(p["payment_method"])
        if status == "succeeded":
            out["captured_at"] = format_ms(p["captured_ms"])
        out["created_at"] = format_ms(p["created_ms"])
        if "expires_ms" in p and status in {"pending", "waiting_for_capture"}:
            out["expires_at"] = format_ms(p["expires_ms"])
        if status == "pending" and "return_url" in p:
            confirmation: dict[str, Any] = {
                "type": "redirect",
                "confirmation_url": f"{self.base_url}{CHECKOUT_PATH}?orderId={p['id']}",
                "return_url": p["return_url"],
            }
            if "enforce" in p:
                confirmation["enforce"] = p["enforce"]
            out["confirmation"] = confirmation
        out["test"] = True
        if status == "succeeded":
            out["refunded_amount"] = _money(p["refunded"])
        out["paid"] = status in {"waiting_for_capture", "succeeded"}
        out["refundable"] = status == "succeeded" and p["refunded"] < p["amount"]
        if p.get("receipt"):
            out["receipt_registration"] = self._registration(p)
        if "metadata" in p:
            out["metadata"] = dict(p["metadata"])
        if status == "canceled" and "cancellation" in p:
            out["cancellation_details"] = dict(p["cancellation"])
        if "authorization_details" in p and status != "pending":
            out["authorization_details"] = _copy(p["authorization_details"])
        if "merchant_customer_id" in p:
            out["merchant_customer_id"] = p["merchant_customer_id"]
        return out

    def _registration(self, p: Record) -> str:
        """``receipt_registration``: the registered receipt's status; ``pending`` until the payment
        succeeds (the receipt is sent then), ``canceled`` when the payment is canceled instead."""
        receipt = self._receipts.get(p.get("receipt_id", ""))
        if receipt is not None:
            return str(receipt["status"])
        if p["status"] == "succeeded":  # a state file written before receipts were objects
            return "succeeded"
        return "canceled" if p["status"] == "canceled" else "pending"

    def refund_json(self, r: Record) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": r["id"],
            "payment_id": r["payment_id"],
            "status": r["status"],
            "created_at": format_ms(r["created_ms"]),
            "amount": _money(r["amount"]),
        }
        receipt = self._receipts.get(r.get("receipt_id", ""))
        if receipt is not None:
            out["receipt_registration"] = receipt["status"]
        if "description" in r:
            out["description"] = r["description"]
        if "metadata" in r:
            out["metadata"] = dict(r["metadata"])
        return out

    @staticmethod
    def receipt_json(r: Record) -> dict[str, Any]:
        """A receipt object as YooKassa shows it (plus the ``customer`` it was sent to)."""
        out: dict[str, Any] = {"id": r["id"], "type": r["type"], "payment_id": r["payment_id"]}
        if "refund_id" in r:
            out["refund_id"] = r["refund_id"]
        out["status"] = r["status"]
        if r["status"] == "succeeded":
            out["fiscal_document_number"] = r["fiscal_document_number"]
            out["fiscal_storage_number"] = FISCAL_STORAGE_NUMBER
            out["fiscal_attribute"] = r["fiscal_attribute"]
            out["registered_at"] = format_ms(r["registered_ms"])
            out["fiscal_provider_id"] = r["fiscal_provider_id"]
        out["customer"] = dict(r["customer"])
        out["items"] = [
            {key: _copy(value) for key, value in item.items() if not key.startswith("_")} for item in r["items"]
        ]
        if "settlements" in r:
            out["settlements"] = _copy(r["settlements"])
        if "tax_system_code" in r:
            out["tax_system_code"] = r["tax_system_code"]
        if "send" in r:
            out["send"] = r["send"]
        return out

    def _current(self, kind: str, object_id: str) -> dict[str, Any]:
        if kind == "refund":
            return self.refund_json(self._refunds[object_id])
        if kind == "receipt":
            return self.receipt_json(self._receipts[object_id])
        return self.payment_json(self._payments[object_id])

    # =========================================================================== internals
    def _payment(self, payment_id: str) -> Record:
        payment = self._payments.get(payment_id)
        if payment is None:
            raise not_found("Payment not found or forbidden")
        return payment

    @staticmethod
    def _require_pending(payment: Record) -> None:
        if payment["status"] != "pending":
            raise invalid_request(f"Payment is {payment['status']}: only a pending payment can be paid")

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _new_id(self, group: str, existing: dict[str, Record], prefix: str = "") -> str:
        seconds = max(0, (self.clock.now_ms() - EPOCH_2000_MS) // 1000) & 0xFFFFFFFF
        while True:
            variant = "89ab"[secrets.randbelow(4)]
            candidate = f"{seconds:08x}-{group}-5000-{variant}000-{secrets.token_hex(6)}"
            if prefix + candidate not in existing:
                return candidate

    def _purge_idempotency(self, now: int) -> None:
        for key in [k for k, record in self._idempotency.items() if now - record["at"] >= IDEMPOTENCY_TTL_MS]:
            del self._idempotency[key]

    # =========================================================================== persistence
    def _save(self) -> None:
        if self.state_file is None:
            return
        state = {
            "version": STATE_VERSION,
            "shop_id": self.shop_id,
            "seq": self._seq,
            "clock_offset_ms": self.clock.offset_ms(),
            "payments": list(self._payments.values()),
            "refunds": list(self._refunds.values()),
            "receipts": list(self._receipts.values()),
            "saved_payment_methods": list(self._saved.values()),
            "idempotency": self._idempotency,
        }
        data = json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        directory = self.state_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.state_file.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.state_file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _load(self) -> None:
        assert self.state_file is not None
        state = json.loads(self.state_file.read_text(encoding="utf-8"))
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"{self.state_file}: unsupported state version {state.get('version')!r}")
        self._payments = {p["id"]: p for p in state.get("payments", [])}
        self._refunds = {r["id"]: r for r in state.get("refunds", [])}
        self._receipts = {r["id"]: r for r in state.get("receipts", [])}
        self._saved = {m["id"]: m for m in state.get("saved_payment_methods", [])}
        self._idempotency = dict(state.get("idempotency", {}))
        self._seq = int(state.get("seq", 0))
        self.clock.reset(int(state.get("clock_offset_ms", 0)))
        self._expiry = [(p["expires_ms"], p["id"]) for p in self._payments.values() if "expires_ms" in p]
        heapq.heapify(self._expiry)
        self._registrations = [
            (r["due_ms"], r["id"]) for r in self._receipts.values() if r["status"] == "pending"
        ]
        heapq.heapify(self._registrations)


# ------------------------------------------------------------------------------------------- helpers
def _money(kopecks: int) -> dict[str, str]:
    return {"value": format_kopecks(kopecks), "currency": "RUB"}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _unpaid_method(payment_id: str) -> Record:
    return {"type": "bank_card", "id": payment_id, "saved": False, "status": "inactive"}


def _is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²" and other scripts' digits."""
    return text.isascii() and text.isdigit()


def _digits(text: str | None) -> str:
    if not isinstance(text, str):
        return ""
    cleaned = text.replace(" ", "").replace("-", "")
    return cleaned if _is_digits(cleaned) else ""


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object")
    return body


def _optional_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_request(f"Parameter {name} must be a boolean", name)
    return value


def _parse_confirmation(confirmation: Any) -> tuple[str, bool | None]:
    if confirmation is None:
        raise invalid_request("Missing confirmation type for payment method type: bank_card", "confirmation")
    if not isinstance(confirmation, dict):
        raise invalid_request("Parameter confirmation must be an object", "confirmation")
    kind = confirmation.get("type")
    if kind is None:
        raise invalid_request("Parameter confirmation.type is missing", "confirmation.type")
    if kind not in CONFIRMATION_TYPES:
        raise invalid_request(f"Unknown confirmation type {kind!r}", "confirmation.type")
    if kind != "redirect":
        raise invalid_request(
            f"Confirmation type {kind} is not supported by the sandbox: use redirect", "confirmation.type"
        )
    return_url = confirmation.get("return_url")
    if not isinstance(return_url, str) or not return_url.strip():
        raise invalid_request("Return url is missing", "confirmation.return_url")
    if len(return_url) > 2048 or any(ord(ch) < 0x21 or ch == "\x7f" for ch in return_url):
        raise invalid_request("Return url is illegal", "confirmation.return_url")
    enforce = confirmation.get("enforce")
    if enforce is not None and not isinstance(enforce, bool):
        raise invalid_request("Parameter confirmation.enforce must be a boolean", "confirmation.enforce")
    locale = confirmation.get("locale")
    if locale is not None and locale not in {"ru_RU", "en_US"}:
        raise invalid_request("Parameter confirmation.locale must be ru_RU or en_US", "confirmation.locale")
    return return_url, enforce
