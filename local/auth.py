"""Dev identity: an RS256 token issuer standing in for Cognito, and a verifier that behaves like the
API Gateway HTTP API JWT authorizer.

The key pair lives in ``.local-state/dev-jwt-key.pem`` so that a token minted by ``python -m local token``
(no server running) is accepted by the gateway started later, and the other way round.
"""

import base64
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.template import ROOT

KEY_FILE = ROOT / ".local-state" / "dev-jwt-key.pem"
AUDIENCE = "cleanhouse-local"
CLIENT_ID = "cleanhouse-local-demo"
TOKEN_LIFETIME_SECONDS = 3600
ISSUER_PATH = "/_local"
# API Gateway tolerates a little clock skew on exp/nbf/iat.
LEEWAY_SECONDS = 5


def issuer_for(api_port: int | str) -> str:
    return f"http://127.0.0.1:{api_port}{ISSUER_PATH}"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class DevKey:
    """The dev signing key and its public JWK."""

    private_key: rsa.RSAPrivateKey

    @classmethod
    def load_or_create(cls, path: Path = KEY_FILE) -> "DevKey":
        """Reuse the key on disk, or create it once; two processes racing here end up with the same key."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dev-jwt-key.")
            try:
                os.write(fd, pem)
                os.close(fd)
                # link() fails if another process created the file first; then its key wins.
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} is not an RSA private key; delete it to get a new one")
        return cls(loaded)

    @property
    def public_numbers(self) -> rsa.RSAPublicNumbers:
        return self.private_key.public_key().public_numbers()

    @property
    def kid(self) -> str:
        """RFC 7638 thumbprint: stable for the key, changes if the key file is replaced."""
        numbers = self.public_numbers
        canonical = json.dumps(
            {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)},
            separators=(",", ":"),
            sort_keys=True,
        )
        return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()

    def jwk(self) -> dict[str, str]:
        numbers = self.public_numbers
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.jwk()]}


class TokenIssuer:
    """Mints access tokens shaped like Cognito's: sub, scope, client_id, plus aud for the authorizer."""

    def __init__(self, key: DevKey, issuer: str, audience: str = AUDIENCE) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience

    def mint(
        self,
        sub: str,
        scope: str = "",
        expires_in: int = TOKEN_LIFETIME_SECONDS,
        now: int | None = None,
        **extra: Any,
    ) -> str:
        issued = int(time.time()) if now is None else now
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "client_id": CLIENT_ID,
            "token_use": "access",
            "iat": issued,
            "exp": issued + expires_in,
            "jti": str(uuid.uuid4()),
        }
        if scope:
            claims["scope"] = scope
        claims.update(extra)
        return jwt.encode(claims, self.key.private_key, algorithm="RS256", headers={"kid": self.key.kid})

    def token_response(self, sub: str, scope: str = "") -> dict[str, Any]:
        return {
            "access_token": self.mint(sub, scope),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
        }

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/jwks.json",
            "token_endpoint": f"{self.issuer}/token",
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
        }


class AuthError(Exception):
    """A refusal with API Gateway's status, body and ``www-authenticate`` header."""

    def __init__(self, status: int, description: str = "", required_scopes: Sequence[str] = ()) -> None:
        super().__init__(description or str(status))
        self.status = status
        self.description = description
        self.required_scopes = tuple(required_scopes)

    @property
    def body(self) -> dict[str, str]:
        return {"message": "Unauthorized" if self.status == 401 else "Forbidden"}

    @property
    def headers(self) -> dict[str, str]:
        if not self.description:
            return {}
        error = "invalid_token" if self.status == 401 else "insufficient_scope"
        scope = " ".join(self.required_scopes)
        return {
            "www-authenticate": f'Bearer scope="{scope}" error="{error}" error_description="{self.description}"'
        }


def _claim_as_string(value: Any) -> str:
    """API Gateway hands every claim to the Lambda as a string; arrays look like ``[a b]``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim_as_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """The union of ``scope`` (space-separated, OAuth) and ``scp`` (list or space-separated string), in
    that order, without repeats: API Gateway documents "scope or scp", and issuers such as Okta or Entra
    send ``scope="openid"`` next to the ``scp`` that carries the API's scopes."""
    found: list[str] = []
    for name in ("scope", "scp"):
        raw = claims.get(name)
        values = [str(v) for v in raw] if isinstance(raw, list) else str(raw or "").split()
        for value in values:
            if value not in found:
                found.append(value)
    return found


class JwtAuthorizer:
    """Verifies a bearer token the way an HTTP API JWT authorizer does, against a JWKS."""

    def __init__(self, jwks: Mapping[str, Any], issuer: str, audiences: Sequence[str]) -> None:
        self.issuer = issuer
        self.audiences = tuple(audiences)
        self._keys = {key["kid"]: jwt.PyJWK(dict(key)).key for key in jwks["keys"]}

    def authorize(self, authorization: str | None, required_scopes: Sequence[str] = ()) -> dict[str, Any]:
        """Return ``requestContext.authorizer`` for an accepted token; raise ``AuthError`` otherwise."""
        if not authorization or not authorization.strip():
            raise AuthError(401)
        token = authorization.strip()
        # Like API Gateway, accept the token with or without the "Bearer " prefix.
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        claims = self._verify(token)
        scopes = token_scopes(claims)
        if required_scopes and not set(required_scopes) & set(scopes):
            raise AuthError(
                403,
                f"expected scopes: [{' '.join(required_scopes)}]",
                required_scopes,
            )
        return {
            "jwt": {
                "claims": {name: _claim_as_string(value) for name, value in claims.items()},
                "scopes": scopes,
            }
        }

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise AuthError(401, "the token is malformed") from exc
        if header.get("alg") != "RS256":
            raise AuthError(401, "the token is signed with an unsupported algorithm")
        key = self._keys.get(header.get("kid", ""))
        if key is None:
            raise AuthError(401, "the token's key id is not in the issuer's JWKS")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                leeway=LEEWAY_SECONDS,
                options={"verify_aud": False, "verify_iss": False, "require": ["exp", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(401, "the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError(401, "the token is not valid yet") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError(401, "signature is invalid") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(401, "the token is malformed") from exc
        if claims.get("iss") != self.issuer:
            raise AuthError(401, "the token does not have a valid issuer")
        self._check_audience(claims)
        return claims

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        # API Gateway checks client_id only when aud is absent.
        if "aud" in claims:
            aud = claims["aud"]
            presented = set(aud) if isinstance(aud, list) else {aud}
        else:
            presented = {claims.get("client_id")}
        if not presented & set(self.audiences):
            raise AuthError(401, "the token does not have a valid audience")


def dev_issuer(api_port: int | str | None = None) -> TokenIssuer:
    port = api_port if api_port is not None else os.environ.get("API_PORT", "3000")
    return TokenIssuer(DevKey.load_or_create(), issuer_for(port))


def dev_authorizer(issuer: TokenIssuer) -> JwtAuthorizer:
    return JwtAuthorizer(issuer.key.jwks(), issuer.issuer, [issuer.audience])
