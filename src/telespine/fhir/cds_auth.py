"""JWT bearer authentication of CDS Hooks calls (CDS Hooks 2.0, "Trusting CDS Clients").

An EHR signs each call with its private key; telespine checks the token against the public
keys (JWKS) of an allow-listed issuer only: asymmetric algorithms, `aud` equal to the endpoint
called, `exp` in at most five minutes, and a `jti` that was never seen before (replay refused;
the caller records it through `remember_jti`). Every refusal is the same TokenRefused: the HTTP
answer is a bare 401, so a caller learns nothing about why.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import jwt

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 300


class TokenRefused(Exception):
    """The token is not acceptable (never says why to the caller)."""


class FileJWKClient:
    """Keys from a local JWKS file (file:// URLs: development and tests; production needs https)."""

    def __init__(self, url: str) -> None:
        self.path = Path(url2pathname(urlparse(url).path))

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        keys = jwt.PyJWKSet.from_dict(json.loads(self.path.read_text(encoding="utf-8")))
        for key in keys.keys:
            if key.key_id == kid:
                return key
        raise TokenRefused("unknown key id")


KeyClient = jwt.PyJWKClient | FileJWKClient
_clients: dict[str, KeyClient] = {}
_lock = threading.Lock()


def jwks_client(url: str) -> KeyClient:
    """One cached key client per JWKS URL (keys re-read at most every 5 minutes)."""
    with _lock:
        client = _clients.get(url)
        if client is None:
            if url.lower().startswith("file:"):
                client = FileJWKClient(url)
            else:
                client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
            _clients[url] = client
        return client


def verify(
    token: str,
    *,
    issuers: Mapping[str, str],
    audiences: list[str],
    now: float,
    client_for: Callable[[str], KeyClient] = jwks_client,
) -> dict[str, Any]:
    """The verified claims, or TokenRefused."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ASYMMETRIC or not header.get("kid"):
            raise TokenRefused("algorithm or key id")
        unverified = jwt.decode(token, options={"verify_signature": False})
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or issuer not in issuers:
            raise TokenRefused("issuer")
        key = client_for(issuers[issuer]).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[header["alg"]],
            audience=audiences,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except TokenRefused:
        raise
    except Exception as exc:  # any problem with the token or the keys: refused
        raise TokenRefused(type(exc).__name__) from None
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise TokenRefused("lifetime")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise TokenRefused("jti")
    return claims


def jti_key(issuer: str, jti: str) -> str:
    """What the replay table keeps of a token id (a hash: ids never leave the issuer's scope)."""
    return hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()
