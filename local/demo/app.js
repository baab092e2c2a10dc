// The demo home page: sign in as a demo user, list their orders and plans, start a payment.
"use strict";

const ORDER_STATUS = { new: "Ожидает оплаты", paid: "Оплачен", completed: "Выполнен" };
const SUBSCRIPTION_STATUS = {
  pending: "Ожидает оплаты",
  active: "Активна",
  expired: "Истекла",
  canceled: "Отменена",
};
const PERIOD = { monthly: "мес", yearly: "год" };
const USER_NAMES = { alice: "Алиса", bob: "Боб" };
const RECEIPT_EMAIL_KEY = "receiptEmail";

// 54-FZ receipts: GET /health says whether the service sends them (RECEIPTS=on). Then every payment needs
// a contact for its receipt: the token's email claim, or the email the customer types here, sent as
// `customer.email` in the create body. Asked once per page load.
let receiptsOnce = null;

function receiptsOn() {
  if (!receiptsOnce) {
    receiptsOnce = fetch("/health")
      .then((response) => response.json())
      .then((health) => health.receipts === "on")
      .catch(() => false);
  }
  return receiptsOnce;
}

function tokenEmail() {
  const claims = tokenClaims(getToken() || "");
  return claims && typeof claims.email === "string" && claims.email ? claims.email : null;
}

// Whether the email field is shown: receipts on and no email in the token.
async function needsReceiptEmail() {
  return (await receiptsOn()) && !tokenEmail();
}

// The create body's `customer`, or null when none is needed; undefined when one is needed but missing.
async function receiptCustomer() {
  if (!(await needsReceiptEmail())) {
    return null;
  }
  const input = document.getElementById("receipt-email");
  const email = input.value.trim();
  const valid = email !== "" && input.checkValidity();
  input.classList.toggle("invalid", !valid);
  if (!valid) {
    input.focus();
    return undefined;
  }
  localStorage.setItem(RECEIPT_EMAIL_KEY, email);
  return { email };
}

function showAlert(message) {
  const alert = document.getElementById("alert");
  alert.textContent = message;
  alert.classList.toggle("hidden", !message);
}

async function signIn(user) {
  showAlert("");
  const response = await fetch("/_local/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sub: user }),
  });
  if (!response.ok) {
    showAlert("Не удалось получить токен: " + response.status);
    return;
  }
  const { access_token: token } = await response.json();
  setToken(token);
  await render();
}

function signOut() {
  clearToken();
  render();
}

// The product's flow: create the payment, then send the browser to YooKassa's page.
async function startPayment(button, path, body) {
  showAlert("");
  const customer = await receiptCustomer();
  if (customer === undefined) {
    showAlert("Укажите email для чека: по закону (54-ФЗ) чек об оплате отправляется покупателю.");
    return;
  }
  button.disabled = true;
  try {
    const { paymentUrl } = await api(path, { method: "POST", body: customer ? { ...body, customer } : body });
    window.location = paymentUrl;
  } catch (error) {
    button.disabled = false;
    if (error.status === 401) {
      clearToken();
      await render();
      showAlert("Сессия истекла, войдите снова.");
      return;
    }
    showAlert("Платёж не создан: " + error.message);
  }
}

function orderRow(order) {
  const paid = order.status === "paid" || order.status === "completed";
  const side = el(
    "div",
    { class: "row-side" },
    el("span", { class: "amount" }, formatRub(order.amount)),
    el("span", { class: `pill ${order.status}` }, ORDER_STATUS[order.status] || order.status),
  );
  if (!paid) {
    const button = el("button", { class: "btn", type: "button", dataset: { payOrder: order.orderId } }, "Оплатить");
    button.addEventListener("click", () =>
      startPayment(button, "/orders/payment/create", { orderId: order.orderId, amount: order.amount }),
    );
    side.append(button);
  }
  const meta = paid && order.paidAt ? `${order.orderId} · оплачен ${formatDate(order.paidAt)}` : order.orderId;
  return el(
    "li",
    { class: "row", dataset: { orderId: order.orderId } },
    el("div", { class: "row-main" }, el("div", { class: "row-title" }, order.description), el("div", { class: "row-meta" }, meta)),
    side,
  );
}

function subscriptionRow(subscription, plans) {
  const plan = plans.find((p) => p.planId === subscription.planId);
  const period = subscription.subscriptionType === "yearly" ? "годовая" : "месячная";
  const until = subscription.endDate ? ` · до ${formatDate(subscription.endDate)}` : "";
  return el(
    "li",
    { class: "row", dataset: { subscriptionId: subscription.subscriptionId } },
    el(
      "div",
      { class: "row-main" },
      el("div", { class: "row-title" }, `${plan ? plan.name : subscription.planId}, ${period}`),
      el("div", { class: "row-meta" }, subscription.subscriptionId + until),
    ),
    el(
      "div",
      { class: "row-side" },
      el("span", { class: `pill ${subscription.status}` }, SUBSCRIPTION_STATUS[subscription.status] || subscription.status),
    ),
  );
}

function planCard(plan) {
  const actions = el("div", { class: "plan-actions" });
  for (const type of ["monthly", "yearly"]) {
    const amount = plan.prices[type];
    if (!amount) {
      continue;
    }
    const button = el(
      "button",
      { class: type === "monthly" ? "btn" : "btn secondary", type: "button", dataset: { subscribe: `${plan.planId}:${type}` } },
      `${formatRub(amount)} / ${PERIOD[type]}`,
    );
    button.addEventListener("click", () =>
      startPayment(button, "/subscriptions/payment/create", {
        subscriptionId: newUuid(),
        subscriptionType: type,
        planId: plan.planId,
        amount,
      }),
    );
    actions.append(button);
  }
  return el("div", { class: "plan", dataset: { planId: plan.planId } }, el("div", { class: "plan-name" }, `Тариф «${plan.name}»`), actions);
}

async function render() {
  const user = currentUser();
  document.getElementById("sign-in").classList.toggle("hidden", Boolean(user));
  document.getElementById("account").classList.toggle("hidden", !user);
  document.getElementById("who").classList.toggle("hidden", !user);
  if (!user) {
    return;
  }
  document.getElementById("who-name").textContent = `${USER_NAMES[user] || user} (${user})`;
  const askEmail = await needsReceiptEmail();
  document.getElementById("receipt-contact").classList.toggle("hidden", !askEmail);
  const emailInput = document.getElementById("receipt-email");
  if (askEmail && !emailInput.value) {
    emailInput.value = localStorage.getItem(RECEIPT_EMAIL_KEY) || "";
  }
  const response = await fetch(`/_local/demo-data?user=${encodeURIComponent(user)}`);
  if (!response.ok) {
    showAlert("Не удалось загрузить данные: " + response.status);
    return;
  }
  const data = await response.json();

  const orders = document.getElementById("order-list");
  orders.replaceChildren(...data.orders.map(orderRow));
  if (!data.orders.length) {
    orders.append(el("li", { class: "empty" }, "Заказов пока нет."));
  }
  const subscriptions = document.getElementById("subscription-list");
  subscriptions.replaceChildren(...data.subscriptions.map((s) => subscriptionRow(s, data.plans)));
  if (!data.subscriptions.length) {
    subscriptions.append(el("li", { class: "empty" }, "Активных подписок нет — выберите тариф."));
  }
  document.getElementById("plan-list").replaceChildren(...data.plans.map(planCard));

  const anchor = document.getElementById(window.location.hash.slice(1));
  if (anchor) {
    anchor.scrollIntoView();
  }
}

for (const button of document.querySelectorAll("[data-user]")) {
  button.addEventListener("click", () => signIn(button.dataset.user));
}
document.getElementById("sign-out").addEventListener("click", signOut);
render();
