// /payment/result?paymentId=...&type=order|subscription — the product spec's result page:
// poll GET /payment-status/{paymentId} every 2 s; paid/success -> success and redirect after 3 s;
// failed/canceled -> error with a way back.
// Without a paymentId (the customer came back by the back button or a bookmark, not YooKassa's return
// URL), the order to ask about is the URL's `orderId`, else the one app.js remembered in sessionStorage
// before sending this tab to the checkout: GET /orders/{orderId}/payment names its latest payment,
// which is then polled as usual.
"use strict";

const POLL_MS = 2000;
const REDIRECT_MS = 3000;
const SLOW_AFTER_MS = 20000;

// Why a payment failed, in the customer's words (YooKassa's cancellation reasons).
const REASONS = {
  insufficient_funds: "Недостаточно средств на карте.",
  card_expired: "Срок действия карты истёк.",
  expired_on_confirmation: "Время на оплату истекло.",
  "3d_secure_failed": "Не пройдена проверка 3-D Secure.",
  fraud_suspected: "Платёж отклонён банком.",
  canceled_by_merchant: "Платёж отменён магазином.",
};

const params = new URLSearchParams(window.location.search);
let paymentId = params.get("paymentId");
let type = params.get("type"); // 'order' or 'subscription'
const root = document.getElementById("payment-result");

function show(state) {
  root.dataset.state = state;
  for (const id of ["processing", "success", "error"]) {
    document.getElementById(id).classList.toggle("hidden", id !== state);
  }
}

function showError(reason) {
  if (reason) {
    document.getElementById("error-reason").textContent = reason;
  }
  show("error");
}

function describe(payment) {
  const parts = [];
  if (payment.amount) {
    parts.push(formatRub(payment.amount));
  }
  parts.push(payment.type === "subscription" ? "подписка" : "заказ");
  parts.push(payment.paymentId);
  document.getElementById("details").textContent = parts.join(" · ");
}

function backPath() {
  return type === "subscription" ? "/#subscriptions" : "/#orders";
}

document.getElementById("back").addEventListener("click", () => {
  window.location = "/#orders";
});

// The order whose payment to recover when the URL names no payment, or null.
function orderToRecover() {
  if (type === "subscription") {
    return null;
  }
  return params.get("orderId") || sessionStorage.getItem(PENDING_ORDER_KEY);
}

// GET /orders/{orderId}/payment: the caller's latest payment of the order, in the status answer's shape.
// The page's URL then names it, so the next polls and a reload ask about that payment.
async function recoverPayment(orderId) {
  const payment = await api(`/orders/${encodeURIComponent(orderId)}/payment`);
  paymentId = payment.paymentId;
  type = payment.type || "order";
  sessionStorage.removeItem(PENDING_ORDER_KEY);
  const url = new URL(window.location.href);
  url.searchParams.delete("orderId");
  url.searchParams.set("paymentId", paymentId);
  url.searchParams.set("type", type);
  history.replaceState(null, "", url);
  return payment;
}

function start() {
  const orderId = paymentId ? null : orderToRecover();
  if (!paymentId && !orderId) {
    showError("В адресе нет идентификатора платежа.");
    return;
  }
  if (!getToken()) {
    showError("Войдите на главной странице, чтобы увидеть статус платежа.");
    return;
  }
  if (paymentId) {
    // YooKassa's return URL named the payment: nothing left to recover.
    sessionStorage.removeItem(PENDING_ORDER_KEY);
  }
  show("processing");
  const started = Date.now();
  const checkStatus = setInterval(async () => {
    try {
      const payment = paymentId
        ? await api(`/payment-status/${encodeURIComponent(paymentId)}`)
        : await recoverPayment(orderId);
      describe(payment);
      if (payment.status === "paid" || payment.status === "success") {
        clearInterval(checkStatus);
        show("success");
        setTimeout(() => {
          window.location = backPath();
        }, REDIRECT_MS);
      } else if (payment.status === "failed" || payment.status === "canceled") {
        clearInterval(checkStatus);
        showError(REASONS[payment.cancellationReason]);
      } else if (Date.now() - started > SLOW_AFTER_MS) {
        document.getElementById("slow").classList.remove("hidden");
      }
    } catch (error) {
      if (error.status === 401 || error.status === 404) {
        clearInterval(checkStatus);
        if (error.status === 401) {
          showError("Сессия истекла, войдите снова.");
        } else {
          showError(paymentId ? "Платёж не найден." : "У заказа ещё нет платежа.");
          sessionStorage.removeItem(PENDING_ORDER_KEY);
        }
        return;
      }
      console.error("Ошибка проверки статуса:", error);
    }
  }, POLL_MS);
}

start();
