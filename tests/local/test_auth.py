"""The dev token issuer and the verifier that stands in for the HTTP API JWT authorizer."""

import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from local.auth import (
    AUDIENCE,
    AuthError,
    DevKey,
    JwtAuthorizer,
    TokenIssuer,
    dev_authorizer,
    issuer_for,
)
from local.template import ROOT

ADMIN = ("payments/admin",)


def refusal(authorizer: JwtAuthorizer, header: str | None, scopes: tuple[str, ...] = ()) -> AuthError:
    with pytest.raises(AuthError) as caught:
        authorizer.authorize(header, scopes)
    return caught.value


@pytest.fixture
def authorizer(issuer: TokenIssuer) -> JwtAuthorizer:
    return dev_authorizer(issuer)


def test_a_valid_token_yields_string_claims_and_scopes(issuer: TokenIssuer, authorizer: JwtAuthorizer) -> None:
    token = issuer.mint("alice", "payments/admin openid")

    context = authorizer.authorize(f"Bearer {token}", ADMIN)

    claims = context["jwt"]["claims"]
    assert claims["sub"] == "alice"
    assert claims["iss"] == "http://127.0.0.1:3000/_local"
    assert claims["aud"] == AUDIENCE
    assert claims["client_id"]
    assert claims["scope"] == "payments/admin openid"
    # API Gateway hands every claim over as a string, numbers included.
    assert all(isinstance(v, str) for v in claims.values())
    assert claims["exp"].isdigit() and claims["iat"].isdigit()
    assert context["jwt"]["scopes"] == ["payments/admin", "openid"]


def test_the_bearer_prefix_is_optional_like_api_gateway(issuer: TokenIssuer, authorizer: JwtAuthorizer) -> None:
    assert authorizer.authorize(issuer.mint("bob"))["jwt"]["claims"]["sub"] == "bob"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer not.a.jwt", "Basic YWxpY2U6c2VjcmV0"])
def test_a_missing_or_garbled_token_is_401(authorizer: JwtAuthorizer, header: str | None) -> None:
    error = refusal(authorizer, header)
    assert (error.status, error.body) == (401, {"message": "Unauthorized"})


def test_an_expired_token_is_401_and_says_why(issuer: TokenIssuer, authorizer: JwtAuthorizer) -> None:
    token = issuer.mint("alice", now=int(time.time()) - 7200, expires_in=3600)

    error = refusal(authorizer, f"Bearer {token}")

    assert (error.status, error.body) == (401, {"message": "Unauthorized"})
    assert error.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token has expired"'
    )


def test_a_wrong_issuer_is_401(dev_key: DevKey) -> None:
    other = TokenIssuer(dev_key, issuer_for(9999))
    authorizer = dev_authorizer(TokenIssuer(dev_key, issuer_for(3000)))

    error = refusal(authorizer, f"Bearer {other.mint('alice')}")

    assert error.status == 401
    assert "issuer" in error.headers["www-authenticate"]


def test_a_wrong_audience_is_401(issuer: TokenIssuer, authorizer: JwtAuthorizer) -> None:
    error = refusal(authorizer, f"Bearer {issuer.mint('alice', aud='someone-else')}")

    assert error.status == 401
    assert "valid audience" in error.headers["www-authenticate"]


def test_client_id_stands_for_the_audience_only_when_aud_is_absent(dev_key: DevKey) -> None:
    issuer = TokenIssuer(dev_key, issuer_for(3000))
    claims = {"iss": issuer.issuer, "sub": "alice", "exp": int(time.time()) + 60, "client_id": AUDIENCE}
    token = jwt.encode(claims, dev_key.private_key, algorithm="RS256", headers={"kid": dev_key.kid})

    context = dev_authorizer(issuer).authorize(token)

    assert context["jwt"]["claims"]["client_id"] == AUDIENCE


def test_a_token_signed_by_another_key_is_401(issuer: TokenIssuer, tmp_path: Path) -> None:
    stranger = DevKey.load_or_create(tmp_path / "stranger.pem")
    claims = {"iss": issuer.issuer, "aud": AUDIENCE, "sub": "alice", "exp": int(time.time()) + 60}
    # Same kid as the real key, so only the signature can tell them apart.
    forged = jwt.encode(claims, stranger.private_key, algorithm="RS256", headers={"kid": issuer.key.kid})

    error = refusal(dev_authorizer(issuer), f"Bearer {forged}")

    assert error.status == 401
    assert "signature is invalid" in error.headers["www-authenticate"]


def test_an_unsigned_token_is_401(issuer: TokenIssuer, authorizer: JwtAuthorizer) -> None:
    claims = {"iss": issuer.issuer, "aud": AUDIENCE, "sub": "alice", "exp": int(time.time()) + 60}
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": issuer.key.kid})

    assert refusal(authorizer, f"Bearer {unsigned}").status == 401


def test_a_missing_scope_is_403_forbidden(issuer: TokenIssuer, authorizer: JwtAuthorizer) -> None:
    error = refusal(authorizer, f"Bearer {issuer.mint('alice', 'openid')}", ADMIN)

    assert (error.status, error.body) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in error.headers["www-authenticate"]


@pytest.mark.parametrize(
    "scp",
    [["payments/admin"], "payments/admin", ["openid", "payments/admin"], "email payments/admin"],
    ids=["scp-list", "scp-string", "scp-list-repeating", "scp-string-two"],
)
def test_scope_and_scp_are_unioned_like_api_gateway(
    issuer: TokenIssuer, authorizer: JwtAuthorizer, scp: str | list[str]
) -> None:
    token = issuer.mint("ops", "openid", scp=scp)

    context = authorizer.authorize(f"Bearer {token}", ADMIN)

    scopes = context["jwt"]["scopes"]
    assert scopes[0] == "openid" and "payments/admin" in scopes
    assert len(scopes) == len(set(scopes)), "a scope in both claims counts once"


def test_scp_alone_and_neither_claim(issuer: TokenIssuer, authorizer: JwtAuthorizer) -> None:
    only_scp = authorizer.authorize(f"Bearer {issuer.mint('ops', scp=['payments/admin'])}", ADMIN)
    neither = authorizer.authorize(f"Bearer {issuer.mint('alice')}")

    assert only_scp["jwt"]["scopes"] == ["payments/admin"]
    assert neither["jwt"]["scopes"] == []
    assert refusal(authorizer, f"Bearer {issuer.mint('alice', scp='openid')}", ADMIN).status == 403


def test_the_key_pair_is_created_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "dev-jwt-key.pem"

    first, second = DevKey.load_or_create(path), DevKey.load_or_create(path)

    assert first.kid == second.kid
    assert path.stat().st_mode & 0o077 == 0, "the private key is readable by others"
    assert first.jwks()["keys"][0] == {**first.jwk(), "kid": first.kid}


def test_the_token_command_needs_no_server_and_its_token_is_accepted() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "local", "token", "--sub", "alice", "--scope", "payments/admin"],
        cwd=ROOT,
        env={**os.environ, "API_PORT": "3000"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout

    token = printed.strip()
    assert printed.count("\n") == 1 and token.count(".") == 2
    context = dev_authorizer(TokenIssuer(DevKey.load_or_create(), issuer_for(3000))).authorize(token, ADMIN)
    assert context["jwt"]["claims"]["sub"] == "alice"
