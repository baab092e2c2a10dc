"""The gateway over real HTTP: the events it builds, the routes it serves, auth, CORS and limits."""

import base64
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from local.auth import TokenIssuer
from local.gateway import (
    API_PAYLOAD_LIMIT,
    IntegrationTimeout,
    LocalLambda,
    build_event,
    lambda_result_to_response,
)
from local.template import ROOT, TEMPLATE, http_routes
from tests.local.conftest import FRONTEND, RunningGateway, start_gateway

SAM = ROOT / ".venv" / "bin" / "sam"


def keys(value: Any, prefix: str = "") -> set[str]:
    """Dotted paths of every key in a JSON object (lists are leaves)."""
    if not isinstance(value, dict):
        return set()
    found = set()
    for name, child in value.items():
        found.add(prefix + name)
        found |= keys(child, f"{prefix}{name}.")
    return found


@pytest.fixture(scope="module")
def sam_event() -> dict[str, Any]:
    """What `sam local generate-event apigateway http-api-proxy` produces: the reference shape."""
    sam = str(SAM) if SAM.exists() else shutil.which("sam")
    if sam is None:
        pytest.skip("sam CLI is not installed")
    printed = subprocess.run(
        [sam, "local", "generate-event", "apigateway", "http-api-proxy"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    ).stdout
    event: dict[str, Any] = json.loads(printed)
    return event


# ------------------------------------------------------------------------------------ event shape
def test_the_event_has_the_keys_sam_generates(gw: RunningGateway, sam_event: dict[str, Any]) -> None:
    token = gw.token("alice", "payments/admin")
    requests.put(
        f"{gw.api}/admin/orders/o-1?a=1",
        data=json.dumps({"amount": 100}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Cookie": "a=1"},
        timeout=10,
    )

    _, event = gw.fake.last
    # Client certificates (mTLS) and stage variables are not configured on our API, so API Gateway sends
    # neither; the JWT claims are whatever the token carries.
    request_specific = (
        "headers.",
        "queryStringParameters.",
        "pathParameters.",
        "requestContext.authorizer.jwt.claims.",
    )
    not_configured = ("requestContext.authentication", "stageVariables")
    expected = {k for k in keys(sam_event) if not k.startswith(request_specific + not_configured)}
    assert expected <= keys(event)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "PUT /admin/orders/{orderId}"
    assert event["requestContext"]["routeKey"] == "PUT /admin/orders/{orderId}"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "PUT"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "alice"
    assert event["requestContext"]["authorizer"]["jwt"]["scopes"] == ["payments/admin"]
    assert isinstance(event["requestContext"]["timeEpoch"], int)
    assert type(event["requestContext"]["time"]) is str


def test_path_parameters_come_from_the_template_path(gw: RunningGateway) -> None:
    gw.get("/payment-status/pay%20ment-42", gw.token())

    function, event = gw.fake.last
    assert function == "PaymentStatusFunction"
    assert event["rawPath"] == "/payment-status/pay%20ment-42"
    assert event["pathParameters"] == {"paymentId": "pay ment-42"}


def test_query_strings_join_repeated_values_like_api_gateway(gw: RunningGateway) -> None:
    gw.get("/health?a=1&a=2&b=x%20y&empty=")

    _, event = gw.fake.last
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y&empty="
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y", "empty": ""}


def test_no_query_string_means_no_parameters_and_no_path_parameters(gw: RunningGateway) -> None:
    gw.get("/health")

    _, event = gw.fake.last
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event
    assert "pathParameters" not in event
    assert "body" not in event and event["isBase64Encoded"] is False
    assert "authorizer" not in event["requestContext"], "/health has Authorizer: NONE"


def test_headers_are_lower_cased_and_cookies_are_split_out(gw: RunningGateway) -> None:
    gw.get("/health", headers={"X-Custom-Thing": "v", "Cookie": "session=abc; theme=dark"})

    _, event = gw.fake.last
    assert event["headers"]["x-custom-thing"] == "v"
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["session=abc", "theme=dark"]


def test_json_bodies_arrive_as_text(gw: RunningGateway) -> None:
    body = json.dumps({"orderId": "test-uuid", "amount": 100, "note": "уборка"}, ensure_ascii=False)

    requests.post(
        f"{gw.api}/orders/payment/create",
        data=body.encode(),
        headers={"Authorization": f"Bearer {gw.token()}", "Content-Type": "application/json; charset=utf-8"},
        timeout=10,
    )

    _, event = gw.fake.last
    assert event["isBase64Encoded"] is False
    assert event["body"] == body


def test_binary_bodies_arrive_base64_encoded(gw: RunningGateway) -> None:
    raw = bytes(range(256))

    requests.post(
        f"{gw.api}/orders/payment/create",
        data=raw,
        headers={"Authorization": f"Bearer {gw.token()}", "Content-Type": "application/octet-stream"},
        timeout=10,
    )

    _, event = gw.fake.last
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


# ------------------------------------------------------------------------------------ routes
def test_every_template_route_is_served(gw: RunningGateway) -> None:
    admin = gw.token("ops", "payments/admin")
    for route in http_routes():
        path = route.path.replace("{", "").replace("}", "")
        response = requests.request(
            route.method, f"{gw.api}{path}", headers={"Authorization": f"Bearer {admin}"}, timeout=10
        )
        assert response.status_code == 200, route.route_key
        assert gw.fake.last[0] == route.function


def test_a_route_added_to_the_template_appears(issuer: TokenIssuer, tmp_path: Path) -> None:
    extra = """
  GreetingFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/greeting/
      Handler: app.handler
      Events:
        Api:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: GET
            Path: /greetings/{name}
"""
    text = TEMPLATE.read_text()
    template = tmp_path / "template.yaml"
    template.write_text(text.replace("\nOutputs:", extra + "\nOutputs:", 1))
    running = start_gateway(issuer, template=template)
    try:
        response = running.get("/greetings/world", running.token())
    finally:
        running.servers.stop()

    assert response.status_code == 200
    function, event = running.fake.last
    assert function == "GreetingFunction"
    assert event["routeKey"] == "GET /greetings/{name}"
    assert event["pathParameters"] == {"name": "world"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nope"), ("GET", "/orders/payment/create"), ("DELETE", "/health"), ("GET", "/health/")],
)
def test_an_unknown_route_is_api_gateways_404(gw: RunningGateway, method: str, path: str) -> None:
    response = requests.request(method, f"{gw.api}{path}", timeout=10)

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}
    assert gw.fake.calls == []


# ------------------------------------------------------------------------------------ auth
def test_no_token_is_401_and_the_function_never_runs(gw: RunningGateway) -> None:
    response = gw.get("/payment-status/p-1")

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert gw.fake.calls == []


def test_an_expired_token_is_401_with_www_authenticate(gw: RunningGateway) -> None:
    token = gw.issuer.mint("alice", now=int(time.time()) - 7200)

    response = gw.get("/payment-status/p-1", token)

    assert response.status_code == 401
    assert "the token has expired" in response.headers["www-authenticate"]
    assert gw.fake.calls == []


def test_an_admin_route_without_the_scope_is_403(gw: RunningGateway) -> None:
    response = requests.put(
        f"{gw.api}/admin/plans/basic",
        json={"name": "x"},
        headers={"Authorization": f"Bearer {gw.token('alice')}"},
        timeout=10,
    )

    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}
    assert gw.fake.calls == []


def test_a_route_with_authorizer_none_needs_no_token(gw: RunningGateway) -> None:
    assert gw.get("/health").status_code == 200


# ------------------------------------------------------------------------------------ responses
def test_the_proxy_result_becomes_the_http_response(gw: RunningGateway) -> None:
    gw.fake.handlers["HealthFunction"] = lambda event: {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-Thing": "1"},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": base64.b64encode(b"created").decode(),
        "isBase64Encoded": True,
    }

    response = gw.get("/health")

    assert response.status_code == 201
    assert response.content == b"created"
    assert response.headers["x-thing"] == "1"
    assert response.headers["content-type"] == "text/plain"
    assert response.cookies["a"] == "1" and response.cookies["b"] == "2"
    assert response.headers["apigw-requestid"]


def test_a_result_without_status_code_is_a_200_json_body() -> None:
    response = lambda_result_to_response({"hello": "world"})

    assert (response.status, json.loads(response.body)) == (200, {"hello": "world"})


def test_a_handler_exception_is_500_internal_server_error(
    gw: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("handler bug")

    gw.fake.handlers["HealthFunction"] = boom

    response = gw.get("/health")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "handler bug" in caplog.text, "the traceback is logged"


def test_a_malformed_result_is_500(gw: RunningGateway) -> None:
    gw.fake.handlers["HealthFunction"] = lambda event: {"statusCode": "two hundred"}

    assert gw.get("/health").status_code == 500


def test_payloads_over_10_mb_are_413(gw: RunningGateway) -> None:
    # Only the announced length matters: the gateway answers before reading the body.
    with socket.create_connection(("127.0.0.1", gw.servers.api.port), timeout=10) as conn:
        conn.sendall(
            f"POST /orders/payment/create HTTP/1.1\r\nHost: x\r\nContent-Length: {API_PAYLOAD_LIMIT + 1}\r\n"
            "Content-Type: application/json\r\n\r\n".encode()
        )
        reply = b""
        while b'"}' not in reply and (chunk := conn.recv(4096)):
            reply += chunk
    text = reply.decode()

    assert text.startswith("HTTP/1.1 413")
    assert text.endswith('{"message": "Request Entity Too Large"}')
    assert gw.fake.calls == []


def chunked_exchange(
    port: int, body: bytes, *, stop_sending: bool = False, token: str = ""
) -> tuple[int, Any, bytes]:
    """Send one chunked request with ``body`` as written (optionally then stop sending, keeping the
    connection open for the answer), read until the server closes; (status, JSON body, raw answer)."""
    head = (
        "POST /orders/payment/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n"
    ) + (f"Authorization: Bearer {token}\r\n\r\n" if token else "\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode() + body)
        if stop_sending:
            conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload), reply


def test_a_chunked_body_is_passed_on_whole(gw: RunningGateway) -> None:
    body = b'7\r\n{"a": 1\r\n1;ext=x\r\n}\r\n0\r\nX-Trailer: y\r\n\r\n'

    status, _, _ = chunked_exchange(gw.servers.api.port, body, token=gw.token())

    assert status == 200
    assert gw.fake.last[1]["body"] == '{"a": 1}'


def test_a_chunked_body_over_10_mb_is_413_before_it_is_read(gw: RunningGateway) -> None:
    # The chunk is only announced: the gateway must answer without waiting for (or buffering) its bytes.
    status, payload, reply = chunked_exchange(gw.servers.api.port, f"{API_PAYLOAD_LIMIT + 1:x}\r\n".encode())

    assert status == 413
    assert payload["error"]["code"] == "payload_too_large"
    assert b"connection: close" in reply.lower()
    assert gw.fake.calls == []


def test_chunks_adding_up_to_over_10_mb_are_413(gw: RunningGateway) -> None:
    mib = 1024 * 1024
    chunks = (f"{mib:x}\r\n".encode() + b"x" * mib + b"\r\n") * (API_PAYLOAD_LIMIT // mib)

    status, payload, _ = chunked_exchange(gw.servers.api.port, chunks + b"1\r\n")

    assert (status, payload["error"]["code"]) == (413, "payload_too_large")
    assert gw.fake.calls == []


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not hexadecimal
        b"-2\r\n{}\r\n0\r\n\r\n",  # negative
        b"0x2\r\n{}\r\n0\r\n\r\n",  # a prefix int() would accept
        b"\r\n{}\r\n0\r\n\r\n",  # no size
        b"2\r\n{}}}\r\n0\r\n\r\n",  # more data than the size says
        b"2\r\n{",  # cut off
        b"1" * 9000 + b"\r\n",  # a size line without end
    ],
    ids=["not-hex", "negative", "0x-prefix", "empty-size", "overlong-chunk", "cut-off", "endless-line"],
)
def test_a_malformed_chunked_body_is_400_in_the_envelope(
    gw: RunningGateway, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    status, payload, _ = chunked_exchange(gw.servers.api.port, body, stop_sending=True)

    assert status == 400
    assert payload["error"]["code"] == "bad_request"
    assert "chunked" in payload["error"]["message"]
    assert gw.fake.calls == []
    assert "Traceback" not in caplog.text


def test_a_function_that_outlives_the_integration_timeout_is_cut_off() -> None:
    run = LocalLambda(invoke=lambda function_id, event: time.sleep(1))

    with pytest.raises(IntegrationTimeout):
        run("HealthFunction", {}, wait=0.1)


# ------------------------------------------------------------------------------------ CORS
def test_a_preflight_from_the_frontend_is_answered_without_auth(gw: RunningGateway) -> None:
    response = requests.options(
        f"{gw.api}/orders/payment/create",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert set(response.headers["access-control-allow-methods"].split(",")) == {"GET", "POST", "PUT", "OPTIONS"}
    assert set(response.headers["access-control-allow-headers"].split(",")) == {
        "authorization",
        "content-type",
        "idempotency-key",
    }
    assert response.headers["access-control-max-age"] == "600"
    assert gw.fake.calls == []


def test_a_preflight_from_another_origin_gets_no_cors_headers(gw: RunningGateway) -> None:
    response = requests.options(
        f"{gw.api}/orders/payment/create",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )

    assert not any(name.startswith("access-control-") for name in response.headers)


def test_responses_to_the_frontend_origin_carry_allow_origin(gw: RunningGateway) -> None:
    gw.fake.handlers["HealthFunction"] = lambda event: {
        "statusCode": 200,
        "headers": {"Access-Control-Allow-Origin": "*"},  # API Gateway ignores the backend's CORS headers
        "body": "{}",
    }

    allowed = gw.get("/health", headers={"Origin": FRONTEND})
    other = gw.get("/health", headers={"Origin": "https://evil.example"})

    assert allowed.headers["access-control-allow-origin"] == FRONTEND
    assert "access-control-allow-origin" not in other.headers


# ------------------------------------------------------------------------------------ Function URL
def test_the_function_url_serves_the_webhook_with_the_peer_as_source_ip(gw: RunningGateway) -> None:
    notification = {"type": "notification", "event": "payment.succeeded", "object": {"id": "2f"}}

    requests.post(
        f"{gw.function_url}/webhooks/yookassa",
        json=notification,
        headers={"X-Forwarded-For": "185.71.76.1"},  # a spoofed header must not become the source
        timeout=10,
    )

    function, event = gw.fake.last
    assert function == "YooKassaWebhookFunction"
    assert event["routeKey"] == "$default"
    assert event["requestContext"]["routeKey"] == "$default"
    assert event["requestContext"]["accountId"] == "anonymous"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-for"] == "185.71.76.1, 127.0.0.1"
    assert event["requestContext"]["http"]["path"] == "/webhooks/yookassa"
    assert "authorizer" not in event["requestContext"]
    assert json.loads(event["body"]) == notification


def test_the_function_url_answers_any_path_and_method(gw: RunningGateway) -> None:
    requests.get(f"{gw.function_url}/anything?x=1", timeout=10)

    function, event = gw.fake.last
    assert function == "YooKassaWebhookFunction"
    assert (event["rawPath"], event["rawQueryString"]) == ("/anything", "x=1")


def test_a_webhook_function_error_is_a_502(gw: RunningGateway) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("webhook bug")

    gw.fake.handlers["YooKassaWebhookFunction"] = boom

    assert requests.post(f"{gw.function_url}/webhooks/yookassa", json={}, timeout=10).status_code == 502


# ------------------------------------------------------------------------------------ /_local and demo
def test_tokens_from_the_token_endpoint_pass_the_authorizer(gw: RunningGateway) -> None:
    minted = requests.post(f"{gw.api}/_local/token", json={"sub": "bob", "scope": "payments/admin"}, timeout=10)

    assert minted.status_code == 200
    body = minted.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    response = requests.put(
        f"{gw.api}/admin/plans/basic",
        json={},
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert gw.fake.last[1]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "bob"


def test_the_token_endpoint_refuses_a_body_without_sub(gw: RunningGateway) -> None:
    assert requests.post(f"{gw.api}/_local/token", json={"scope": "x"}, timeout=10).status_code == 400


def test_jwks_and_openid_configuration_are_served(gw: RunningGateway) -> None:
    jwks = gw.get("/_local/jwks.json").json()
    config = gw.get("/_local/.well-known/openid-configuration").json()
    assert gw.get("/.well-known/openid-configuration").json() == config

    assert jwks["keys"][0]["kid"] == gw.issuer.key.kid
    assert config["issuer"] == "http://127.0.0.1:3000/_local"
    assert config["jwks_uri"].endswith("/_local/jwks.json")


def test_the_demo_pages_are_served(gw: RunningGateway) -> None:
    home = gw.get("/")
    result = gw.get("/payment/result?paymentId=p&type=order")
    script = gw.get("/static/result.js")

    assert home.status_code == result.status_code == script.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert "Обработка платежа..." in result.text
    assert "/payment-status/" in script.text
    assert gw.get("/static/../gateway.py").status_code == 404


def test_demo_pages_opened_on_localhost_move_to_the_frontend_origin(gw: RunningGateway) -> None:
    response = gw.get(
        "/payment/result?paymentId=p&type=order",
        headers={"Host": "localhost:3000"},
        allow_redirects=False,
    )

    assert response.status_code == 302
    assert response.headers["location"] == f"{FRONTEND}/payment/result?paymentId=p&type=order"


def test_demo_data_lists_a_user(gw: RunningGateway) -> None:
    assert gw.get("/_local/demo-data?user=alice").json()["user"] == "alice"
    assert gw.get("/_local/demo-data").status_code == 400


def test_build_event_without_a_body_or_route_is_a_function_url_shape() -> None:
    from local.gateway import Request

    event = build_event(Request("GET", "/", "", [("Host", "h")], b"", "10.0.0.1"), account_id="anonymous")

    assert event["routeKey"] == "$default"
    assert event["requestContext"]["http"]["sourceIp"] == "10.0.0.1"
    assert event["isBase64Encoded"] is False
