// /payment/result?paymentId=...&type=order|subscription — the product spec's result page:
// poll GET /payment-status/{paymentId} every 2 s; paid/success -> success and redirect after 3 s;
// failed/canceled -> error with a way back.
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
const paymentId = params.get("paymentId");
const type = params.get("type"); // 'order' or 'subscription'
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

function start() {
  if (!paymentId) {
    showError("В адресе нет идентификатора платежа.");
    return;
  }
  if (!getToken()) {
    showError("Войдите на главной странице, чтобы увидеть статус платежа.");
    return;
  }
  show("processing");
  const started = Date.now();
  const checkStatus = setInterval(async () => {
    try {
      const payment = await api(`/payment-status/${encodeURIComponent(paymentId)}`);
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
        showError(error.status === 401 ? "Сессия истекла, войдите снова." : "Платёж не найден.");
        return;
      }
      console.error("Ошибка проверки статуса:", error);
    }
  }, POLL_MS);
}

start();
