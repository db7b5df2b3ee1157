"""API keys with roles. Keys are configured as SHA-256 hashes and compared in constant time.

HUASHU_API_KEYS='[{"name": "console", "role": "agent", "sha256": "<hex>"}]'
python -m app.keys KEY      # prints the hash to configure
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

from fastapi import Request
from pydantic import BaseModel, Field

from app.errors import ApiError
from scripts_library.vocabulary import ROLE_RANK, Role


class ApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Principal(BaseModel):
    name: str
    role: Role | Literal["local"]


LOCAL = Principal(name="local", role="local")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def authenticate(request: Request, keys: list[ApiKey]) -> Principal:
    """The caller's identity; with no keys configured every caller is local (loopback-only service)."""
    if not keys:
        return LOCAL
    presented = _presented_key(request)
    if not presented:
        raise ApiError(
            401,
            "unauthorized",
            "send an API key as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = principal_for_key(presented, keys)
    if principal is None:
        raise ApiError(401, "unauthorized", "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
    return principal


def principal_for_key(presented: str, keys: list[ApiKey]) -> Principal | None:
    """The identity of a presented key (header or studio session), or None when no configured key matches."""
    digest = hash_key(presented)
    match = None
    for key in keys:  # compare against every key so timing does not reveal which one matched
        if hmac.compare_digest(digest, key.sha256):
            match = key
    return Principal(name=match.name, role=match.role) if match else None


AGENT_ID = re.compile(r"^[\w.@:-]{1,64}$")


def agent_id(request: Request) -> str | None:
    """The agent a console plugin names in ``X-Agent-Id`` (several agents often share one key)."""
    value = request.headers.get("x-agent-id")
    if value is None:
        return None
    if not AGENT_ID.match(value):
        raise ApiError(422, "invalid_agent_id", "X-Agent-Id must be 1–64 letters, digits or . _ - @ :")
    return value


def require(minimum: Role):
    """A FastAPI dependency that admits callers whose role is at least ``minimum`` and within their rate limit."""

    async def dependency(request: Request) -> Principal:  # async: no thread hop, it never blocks
        principal = authenticate(request, request.app.state.settings.api_keys)
        if principal.role != "local":
            request.app.state.rate_limiter.check(principal.name, agent_id(request))
        if principal.role != "local" and ROLE_RANK[principal.role] < ROLE_RANK[minimum]:
            raise ApiError(403, "forbidden", f"this route needs the {minimum} role; your key has {principal.role}")
        request.state.principal = principal
        return principal

    return dependency
