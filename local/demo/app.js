// The demo home page: sign in as a demo user, list their orders and plans, start a payment.
"use strict";

const ORDER_STATUS = { new: "Ожидает оплаты", paid: "Оплачен", completed: "Выполнен" };
const SUBSCRIPTION_STATUS = {
  pending: "Ожидает оплаты",
  active: "Активна",
  past_due: "Просрочена оплата",
  expired: "Истекла",
  canceled: "Отменена",
};
const PERIOD = { monthly: "мес", yearly: "год" };
const PERIOD_KIND = { monthly: "месячная", yearly: "годовая" };
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
    // Remembered for the result page, should the customer come back without YooKassa's return URL.
    if (body.orderId) {
      sessionStorage.setItem(PENDING_ORDER_KEY, body.orderId);
    } else {
      sessionStorage.removeItem(PENDING_ORDER_KEY);
    }
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

function planName(plans, planId) {
  const plan = plans.find((p) => p.planId === planId);
  return plan ? plan.name : planId;
}

function cardLabel(method) {
  if (!method || !method.cardLast4) {
    return null;
  }
  return `${method.cardType || "Карта"} •••• ${method.cardLast4}`;
}

// Cancel or resume renewal (POST /subscriptions/{id}/cancel | resume): the answer is the new view,
// which replaces the row in place.
async function changeRenewal(button, subscription, plans, action) {
  showAlert("");
  button.disabled = true;
  try {
    const view = await api(`/subscriptions/${encodeURIComponent(subscription.subscriptionId)}/${action}`, {
      method: "POST",
    });
    const row = button.closest("li");
    row.replaceWith(subscriptionRow(view, plans));
  } catch (error) {
    button.disabled = false;
    if (error.status === 401) {
      clearToken();
      await render();
      showAlert("Сессия истекла, войдите снова.");
      return;
    }
    const what = action === "cancel" ? "Не удалось отменить автопродление: " : "Не удалось возобновить автопродление: ";
    showAlert(what + error.message);
  }
}

// One subscription as GET /subscriptions shows it; fields it does not apply to are absent.
function subscriptionRow(subscription, plans) {
  const type = subscription.subscriptionType;
  const details = [el("div", { class: "row-meta" }, subscription.subscriptionId)];
  if (subscription.endDate) {
    const period = subscription.startDate
      ? `${formatDate(subscription.startDate)} – ${formatDate(subscription.endDate)}`
      : `до ${formatDate(subscription.endDate)}`;
    details.push(el("div", { class: "row-meta", dataset: { field: "period" } }, `Период: ${period}`));
  }
  const card = cardLabel(subscription.paymentMethod);
  if (card) {
    details.push(el("div", { class: "row-meta", dataset: { field: "card" } }, `Карта: ${card}`));
  }
  if (subscription.nextChargeAt) {
    details.push(
      el(
        "div",
        { class: "row-meta", dataset: { field: "next-charge" } },
        `Следующее списание: ${formatDate(subscription.nextChargeAt)}`,
      ),
    );
  } else if (subscription.status === "active" && !subscription.autoRenew && subscription.endDate) {
    details.push(
      el(
        "div",
        { class: "row-meta", dataset: { field: "renewal-off" } },
        `Автопродление выключено: подписка действует до ${formatDate(subscription.endDate)}`,
      ),
    );
  }
  const change = subscription.scheduledChange;
  if (change) {
    details.push(
      el(
        "div",
        { class: "row-meta scheduled", dataset: { field: "scheduled-change" } },
        `С ${formatDate(change.from)}: ${planName(plans, change.planId)}, ${PERIOD_KIND[change.subscriptionType] || change.subscriptionType}`,
      ),
    );
  }

  const side = el(
    "div",
    { class: "row-side" },
    el("span", { class: `pill ${subscription.status}` }, SUBSCRIPTION_STATUS[subscription.status] || subscription.status),
  );
  if (subscription.autoRenew) {
    const button = el(
      "button",
      { class: "btn secondary", type: "button", dataset: { cancelRenewal: subscription.subscriptionId } },
      "Отменить автопродление",
    );
    button.addEventListener("click", () => changeRenewal(button, subscription, plans, "cancel"));
    side.append(button);
  } else if (subscription.status === "active" && subscription.paymentMethod) {
    const button = el(
      "button",
      { class: "btn", type: "button", dataset: { resumeRenewal: subscription.subscriptionId } },
      "Возобновить",
    );
    button.addEventListener("click", () => changeRenewal(button, subscription, plans, "resume"));
    side.append(button);
  }
  return el(
    "li",
    { class: "row", dataset: { subscriptionId: subscription.subscriptionId, status: subscription.status } },
    el(
      "div",
      { class: "row-main" },
      el("div", { class: "row-title" }, `${planName(plans, subscription.planId)}, ${PERIOD_KIND[type] || type}`),
      ...details,
    ),
    side,
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
        autoRenew: document.getElementById("auto-renew").checked,
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
  // Orders and plans: the local demo data (the API has no list of them); subscriptions: the API's own view.
  const [response, subscriptionList] = await Promise.all([
    fetch(`/_local/demo-data?user=${encodeURIComponent(user)}`),
    api("/subscriptions").catch((error) => error),
  ]);
  if (!response.ok) {
    showAlert("Не удалось загрузить данные: " + response.status);
    return;
  }
  const data = await response.json();
  if (subscriptionList instanceof Error) {
    if (subscriptionList.status === 401) {
      clearToken();
      await render();
      showAlert("Сессия истекла, войдите снова.");
      return;
    }
    showAlert("Не удалось загрузить подписки: " + subscriptionList.message);
  } else {
    data.subscriptions = subscriptionList.subscriptions;
  }

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
