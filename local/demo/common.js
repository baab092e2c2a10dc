// Shared by the demo pages: the signed-in user's token, API calls, formatting.
"use strict";

const TOKEN_KEY = "token";
// The order whose payment the browser went to pay (sessionStorage: this tab only). YooKassa's return URL
// names the payment; when the customer comes back without it (the back button, a bookmark), the result
// page asks GET /orders/{orderId}/payment for the order's latest payment instead.
const PENDING_ORDER_KEY = "pendingOrderPayment";

function getToken() {
  return localStorage.getItem(TOKEN_KEY);
}

function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

function clearToken() {
  localStorage.removeItem(TOKEN_KEY);
}

// The token's claims (display only: the gateway verifies the signature).
function tokenClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      atob(payload)
        .split("")
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    return JSON.parse(json);
  } catch (error) {
    return null;
  }
}

function currentUser() {
  const token = getToken();
  const claims = token && tokenClaims(token);
  if (!claims || (claims.exp && claims.exp * 1000 < Date.now())) {
    return null;
  }
  return claims.sub;
}

class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.error && body.error.message) || (body && body.message) || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${getToken()}` };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch (error) {
    payload = { message: text };
  }
  if (!response.ok) {
    throw new ApiError(response.status, payload);
  }
  return payload;
}

// Kopecks to "1 500 ₽" / "1,50 ₽" (display only; amounts stay integer kopecks everywhere else).
function formatRub(kopecks) {
  const whole = kopecks % 100 === 0;
  return new Intl.NumberFormat("ru-RU", {
    style: "currency",
    currency: "RUB",
    minimumFractionDigits: whole ? 0 : 2,
    maximumFractionDigits: 2,
  }).format(kopecks / 100);
}

function formatDate(iso) {
  if (!iso) {
    return "";
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString("ru-RU", { dateStyle: "long" });
}

function newUuid() {
  if (window.crypto && crypto.randomUUID) {
    return crypto.randomUUID();
  }
  return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
  );
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") {
      node.className = value;
    } else if (name.startsWith("on")) {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child);
    }
  }
  return node;
}
