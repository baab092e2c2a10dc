"""HTTP to the stack, every call of our API recorded: its status, its error code, whether the error was in
our envelope, and whether it answered at all within the client's timeout (a hang).

How answers are classified (README, "Chaos: `make chaos`"):

- any answer of ours with a status >= 400 must be our envelope ``{"error": {"code", "message"}}``;
- 504 ``provider_timeout`` is the documented answer when YooKassa gave no definite answer within the
  budget: the chaos run makes YooKassa slow and failing on purpose, so it is counted, not a violation;
- every other 5xx is a violation, whatever its body (500 ``internal_error`` always is; 502
  ``provider_error`` cannot be caused by the faults, which never make YooKassa refuse; 503 is DynamoDB,
  which nothing here makes fail, or the gateway's integration timeout);
- no answer within ``CLIENT_TIMEOUT`` (above API Gateway's 30 s integration timeout) is a hang.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

CLIENT_TIMEOUT = 45.0  # API Gateway gives up at 30 s: anything longer is a hang of ours
RUN_TIMEOUT = 300.0  # a scheduled function's own Timeout is 240 s
HELPER_TIMEOUT = 30.0  # the sandbox's helpers answer at once; a delay fault never applies to them
EXPECTED_5XX = frozenset({(504, "provider_timeout")})
MAX_EXAMPLES = 20


class HarnessError(RuntimeError):
    """The chaos run itself could not go on (the stack died, a helper refused): not a finding."""


@dataclass(frozen=True)
class Answer:
    """One answer of our API (``status`` None: none came)."""

    status: int | None
    body: Any
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


@dataclass
class Recorder:
    """Everything clients saw, thread-safe."""

    by_status: Counter[str] = field(default_factory=Counter)  # "POST /orders/payment/create 201"
    error_codes: Counter[str] = field(default_factory=Counter)  # "409 idempotency_key_in_use"
    expected_5xx: Counter[str] = field(default_factory=Counter)
    unexpected_5xx: Counter[str] = field(default_factory=Counter)
    not_enveloped: Counter[str] = field(default_factory=Counter)
    hangs: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, answer: Answer, detail: str) -> None:
        with self._lock:
            self.calls += 1
            status = "no answer" if answer.status is None else str(answer.status)
            self.by_status[f"{route} {status}"] += 1
            if answer.status is None:
                self.hangs[route] += 1
                self._example("no_hang", f"{route}: {detail}")
                return
            if answer.status < 400:
                return
            code = answer.code
            if code is None:
                self.not_enveloped[f"{answer.status} {route}"] += 1
                self._example("errors_in_envelope", f"{route} -> {answer.status} {str(answer.body)[:200]}")
            else:
                self.error_codes[f"{answer.status} {code}"] += 1
            if answer.status >= 500:
                key = f"{answer.status} {code or 'not enveloped'}"
                if (answer.status, code) in EXPECTED_5XX:
                    self.expected_5xx[key] += 1
                else:
                    self.unexpected_5xx[key] += 1
                    self._example("no_5xx", f"{route} -> {answer.status} {str(answer.body)[:200]}")

    def _example(self, invariant: str, text: str) -> None:
        examples = self.examples.setdefault(invariant, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(text)


def envelope_code(body: Any) -> str | None:
    """The error code when ``body`` is our envelope, else None."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        return None
    error = body["error"]
    if not isinstance(error, dict):
        return None
    code, message = error.get("code"), error.get("message")
    if isinstance(code, str) and code and isinstance(message, str) and message:
        return code
    return None


class Api:
    """The service's API as customers and admins use it, over HTTP; tokens from ``POST /_local/token``."""

    def __init__(self, base_url: str, recorder: Recorder) -> None:
        self.base_url = base_url
        self.recorder = recorder
        self._tokens: dict[tuple[str, str], str] = {}
        self._tokens_lock = threading.Lock()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def token(self, sub: str, scope: str = "") -> str:
        with self._tokens_lock:
            cached = self._tokens.get((sub, scope))
        if cached is not None:
            return cached
        try:
            response = self._session().post(
                f"{self.base_url}/_local/token", json={"sub": sub, "scope": scope}, timeout=HELPER_TIMEOUT
            )
        except requests.RequestException as exc:
            raise HarnessError(f"POST /_local/token failed: {exc}") from exc
        if response.status_code != 200:
            raise HarnessError(f"POST /_local/token answered {response.status_code}: {response.text[:200]}")
        token: str = response.json()["access_token"]
        with self._tokens_lock:
            self._tokens[sub, scope] = token
        return token

    def call(
        self,
        method: str,
        path: str,
        route: str,
        user: str,
        *,
        scope: str = "",
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """One request of our API as ``user``; recorded under ``route`` (the template's route key)."""
        sent = {"Authorization": f"Bearer {self.token(user, scope)}", **(headers or {})}
        started = time.monotonic()
        try:
            response = self._session().request(
                method, f"{self.base_url}{path}", json=body, headers=sent, timeout=CLIENT_TIMEOUT
            )
        except requests.Timeout:
            answer = Answer(None, None)
            self.recorder.record(route, answer, f"no answer within {CLIENT_TIMEOUT:.0f} s")
            return answer
        except requests.RequestException as exc:
            answer = Answer(None, None)
            elapsed = time.monotonic() - started
            self.recorder.record(route, answer, f"{type(exc).__name__} after {elapsed:.1f} s: {exc}")
            return answer
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        answer = Answer(response.status_code, payload, envelope_code(payload))
        self.recorder.record(route, answer, "")
        return answer

    def run_scheduled(self, function_id: str, at: str) -> dict[str, Any]:
        """``POST /_local/run/{LogicalId}`` with ``time``: the function's result. A run that raised (500
        ``function_error``) or timed out is recorded as a 5xx of ours and answered as ``{}``."""
        route = f"POST /_local/run/{function_id}"
        for _ in range(20):
            try:
                response = self._session().post(
                    f"{self.base_url}/_local/run/{function_id}", json={"time": at}, timeout=RUN_TIMEOUT
                )
            except requests.Timeout:
                answer = Answer(None, None)
                self.recorder.record(route, answer, f"no answer within {RUN_TIMEOUT:.0f} s")
                return {}
            except requests.RequestException as exc:
                raise HarnessError(f"{route} failed: {exc}") from exc
            payload = response.json() if response.content else None
            if response.status_code == 409:  # the built-in schedule's own run: wait for it
                time.sleep(0.5)
                continue
            answer = Answer(response.status_code, payload, envelope_code(payload))
            self.recorder.record(route, answer, "")
            return answer.json() if answer.ok else {}
        raise HarnessError(f"{route}: still running after repeated tries")

    def demo_data(self, user: str) -> dict[str, Any]:
        try:
            response = self._session().get(
                f"{self.base_url}/_local/demo-data", params={"user": user}, timeout=CLIENT_TIMEOUT
            )
        except requests.RequestException as exc:
            raise HarnessError(f"GET /_local/demo-data failed: {exc}") from exc
        if response.status_code != 200:
            raise HarnessError(f"GET /_local/demo-data answered {response.status_code}")
        data: dict[str, Any] = response.json()
        return data


class Sandbox:
    """The YooKassa sandbox's helpers (``/sandbox/...``) and its API as the shop (``/v3``)."""

    def __init__(self, base_url: str, shop_id: str, secret_key: str) -> None:
        self.base_url = base_url
        self.auth = (shop_id, secret_key)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def helper(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """``POST /sandbox/...``: (status, body); a refusal is the caller's to judge."""
        try:
            response = self._session().post(f"{self.base_url}{path}", json=body or {}, timeout=HELPER_TIMEOUT)
        except requests.RequestException as exc:
            raise HarnessError(f"POST {path} failed: {exc}") from exc
        return response.status_code, (response.json() if response.content else None)

    def must(self, path: str, body: dict[str, Any] | None = None) -> Any:
        status, payload = self.helper(path, body)
        if status != 200:
            raise HarnessError(f"POST {path} answered {status}: {payload}")
        return payload

    def get(self, path: str, params: dict[str, str] | None = None, auth: bool = False) -> Any:
        try:
            response = self._session().get(
                f"{self.base_url}{path}",
                params=params,
                auth=self.auth if auth else None,
                timeout=HELPER_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise HarnessError(f"GET {path} failed: {exc}") from exc
        if response.status_code != 200:
            raise HarnessError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def delete(self, path: str) -> Any:
        try:
            response = self._session().delete(f"{self.base_url}{path}", timeout=HELPER_TIMEOUT)
        except requests.RequestException as exc:
            raise HarnessError(f"DELETE {path} failed: {exc}") from exc
        return response.json()

    def listing(self, path: str) -> list[dict[str, Any]]:
        """Every object of a ``/v3`` list (``limit=100``, following ``next_cursor``), as the shop sees it."""
        items: list[dict[str, Any]] = []
        params = {"limit": "100"}
        while True:
            page = self.get(path, params, auth=True)
            items.extend(page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor:
                return items
            params = {"limit": "100", "cursor": cursor}
