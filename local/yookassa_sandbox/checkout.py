"""The hosted checkout pages (Russian, like YooKassa's): card form, 3-D Secure step, final state."""

from __future__ import annotations

from html import escape
from typing import Any

from .cards import TEST_CARDS
from .money import format_human, parse_kopecks

__all__ = ["not_found_page", "payment_page", "three_ds_page"]

PAY_PATH = "/checkout/payments/v2/contract/pay"
THREE_DS_PATH = "/checkout/payments/v2/contract/3ds"

REASONS_RU = {
    "3d_secure_failed": "не пройдена аутентификация по 3-D Secure",
    "call_issuer": "оплата отклонена банком-эмитентом, обратитесь в банк",
    "canceled_by_merchant": "платёж отменён магазином",
    "card_expired": "истёк срок действия карты",
    "country_forbidden": "нельзя заплатить картой, выпущенной в этой стране",
    "expired_on_capture": "истёк срок списания оплаты",
    "expired_on_confirmation": "истёк срок оплаты",
    "fraud_suspected": "оплата заблокирована из-за подозрения в мошенничестве",
    "general_decline": "причина не детализирована",
    "insufficient_funds": "недостаточно денег для оплаты",
    "invalid_card_number": "неправильно указан номер карты",
    "invalid_csc": "неправильно указан код CVV2 (CVC2, CID)",
    "issuer_unavailable": "банк-эмитент недоступен",
    "payment_method_limit_exceeded": "исчерпан лимит платежей для этой карты",
    "payment_method_restricted": "операции по карте запрещены",
    "permission_revoked": "пользователь отозвал разрешение на автоплатежи",
}

_STYLE = """
*{box-sizing:border-box}body{margin:0;font:16px/1.4 -apple-system,"Segoe UI",Roboto,Arial,sans-serif;
background:#f2f3f5;color:#1a1a1a}header{background:#fff;border-bottom:1px solid #e0e0e0;padding:14px 24px;
display:flex;align-items:center;gap:12px}.logo{font-weight:700;font-size:20px;color:#0070f0}
.badge{background:#ffdd2d;border-radius:4px;padding:2px 8px;font-size:12px;font-weight:600}
main{max-width:440px;margin:32px auto;background:#fff;border-radius:12px;padding:28px;
box-shadow:0 2px 12px rgba(0,0,0,.06)}.shop{color:#666;font-size:14px}.amount{font-size:32px;
font-weight:700;margin:6px 0;white-space:nowrap}.desc{color:#333;margin-bottom:20px;word-wrap:break-word}
label{display:block;font-size:13px;color:#666;margin:12px 0 4px}input{width:100%;font-size:18px;
padding:10px 12px;border:1px solid #ccc;border-radius:8px}input:focus{outline:none;border-color:#0070f0}
.row{display:flex;gap:12px}.row>div{flex:1}button{width:100%;margin-top:20px;padding:14px;font-size:17px;
font-weight:600;border:0;border-radius:8px;background:#0070f0;color:#fff;cursor:pointer}
button.secondary{background:#eee;color:#333;margin-top:8px}.error{background:#ffeaea;color:#b00020;
border-radius:8px;padding:10px 12px;margin:12px 0}.ok{color:#0a7d32}.bad{color:#b00020}
details{margin-top:24px;font-size:13px;color:#555}td{padding:2px 8px 2px 0}code{font-size:13px}
a.button{display:block;text-align:center;margin-top:20px;padding:14px;border-radius:8px;background:#0070f0;
color:#fff;text-decoration:none;font-weight:600}
"""

_SCRIPT = """
(function(){
  var n=document.getElementById('cardNumber'), e=document.getElementById('expiry');
  if(n){n.addEventListener('input',function(){var d=n.value.replace(/\\D/g,'').slice(0,19);
    n.value=d.replace(/(.{4})/g,'$1 ').trim();});}
  if(e){e.addEventListener('input',function(){var d=e.value.replace(/\\D/g,'').slice(0,4);
    e.value=d.length>2?d.slice(0,2)+'/'+d.slice(2):d;});}
})();
"""


def _page(title: str, body: str, script: bool = False) -> str:
    return (
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        '<header><span class="logo">ЮKassa</span><span class="badge">Тестовый режим</span></header>'
        f"<main>{body}</main>" + (f"<script>{_SCRIPT}</script>" if script else "") + "</body></html>"
    )


def _summary(payment: dict[str, Any], shop_name: str) -> str:
    kopecks = parse_kopecks(payment["amount"]["value"]) or 0
    out = f'<div class="shop">{escape(shop_name)}</div>'
    out += f'<div class="amount" id="amount">{format_human(kopecks)}</div>'
    if payment.get("description"):
        out += f'<div class="desc" id="description">{escape(payment["description"])}</div>'
    return out


def _test_cards() -> str:
    success = [n for n, o in TEST_CARDS.items() if o.succeeds and not o.three_d_secure][:3]
    three_ds = [n for n, o in TEST_CARDS.items() if o.succeeds and o.three_d_secure]
    declines = [(n, o) for n, o in TEST_CARDS.items() if not o.succeeds and n.startswith("5555")]
    rows = "".join(f"<tr><td><code>{n}</code></td><td>успешная оплата</td></tr>" for n in success)
    rows += "".join(
        f"<tr><td><code>{n}</code></td><td>успешная оплата с 3-D Secure</td></tr>" for n in three_ds
    )
    rows += "".join(
        f"<tr><td><code>{n}</code></td><td>отказ: {escape(o.reason)} ({escape(o.party)})</td></tr>"
        for n, o in declines
    )
    return (
        "<details><summary>Тестовые карты ЮKassa</summary>"
        "<p>Срок действия — любая дата в будущем, CVC и код 3-D Secure — любые цифры.</p>"
        f"<table>{rows}</table></details>"
    )


def payment_page(payment: dict[str, Any], shop_name: str, return_url: str = "", error: str = "") -> str:
    """The card form while the payment is pending, its final state otherwise."""
    status = payment["status"]
    summary = _summary(payment, shop_name)
    if status != "pending":
        return _page("Оплата — ЮKassa", summary + _final_state(payment, return_url))
    order = escape(payment["id"])
    amount = escape(format_human(parse_kopecks(payment["amount"]["value"]) or 0))
    error_html = f'<div class="error" id="error">{escape(error)}</div>' if error else ""
    form = f"""{error_html}
<form method="post" action="{PAY_PATH}" id="card-form" autocomplete="on">
<input type="hidden" name="orderId" value="{order}">
<label for="cardNumber">Номер карты</label>
<input id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number"
 placeholder="0000 0000 0000 0000" maxlength="23" required>
<div class="row"><div><label for="expiry">Срок действия</label>
<input id="expiry" name="expiry" inputmode="numeric" autocomplete="cc-exp" placeholder="ММ/ГГ" maxlength="7"
 required>
</div><div><label for="cvc">CVC</label>
<input id="cvc" name="cvc" type="password" inputmode="numeric" autocomplete="cc-csc" placeholder="123"
 maxlength="4" required></div></div>
<button type="submit" id="pay">Заплатить {amount}</button>
</form>{_test_cards()}"""
    return _page("Оплата банковской картой — ЮKassa", summary + form, script=True)


def three_ds_page(payment: dict[str, Any], shop_name: str, token: str, error: str = "") -> str:
    error_html = f'<div class="error" id="error">{escape(error)}</div>' if error else ""
    body = f"""{_summary(payment, shop_name)}
<h2>Подтверждение платежа</h2>
<p>Банк, выпустивший карту, просит подтвердить оплату (3-D Secure). Введите код из SMS — в тестовом
режиме подойдут любые цифры.</p>{error_html}
<form method="post" action="{THREE_DS_PATH}" id="three-ds-form">
<input type="hidden" name="orderId" value="{escape(payment["id"])}">
<input type="hidden" name="token" value="{escape(token)}">
<label for="code">Код подтверждения</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" placeholder="123456"
 maxlength="8">
<button type="submit" name="action" value="confirm" id="confirm">Подтвердить</button>
<button type="submit" name="action" value="cancel" id="cancel" class="secondary">Отменить</button>
</form>"""
    return _page("3-D Secure — ЮKassa", body)


def _final_state(payment: dict[str, Any], return_url: str) -> str:
    status = payment["status"]
    if status == "succeeded":
        text = '<h2 class="ok" id="status">Оплата прошла успешно</h2>'
    elif status == "waiting_for_capture":
        text = '<h2 class="ok" id="status">Оплата прошла</h2>'
        text += "<p>Деньги заблокированы на карте до списания магазином.</p>"
    else:
        reason = payment.get("cancellation_details", {}).get("reason", "")
        text = (
            '<h2 class="bad" id="status">Платёж отменён</h2>'
            f'<p id="reason">Причина: {escape(REASONS_RU.get(reason, reason))}'
            f" (<code>{escape(reason)}</code>)</p>"
        )
    if return_url:
        text += f'<a class="button" href="{escape(return_url)}">Вернуться в магазин</a>'
    return text


def not_found_page() -> str:
    return _page("Платёж не найден — ЮKassa", '<h2 class="bad">Платёж не найден</h2>')
