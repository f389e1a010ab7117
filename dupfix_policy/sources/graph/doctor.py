"""`dupfix doctor --source graph`: what a first pipeline run would trip over, one line per check.

Checks in the order a person fixes them: endpoint, which credential was picked, whether a token
comes back (and which application permissions it carries), whether each collection a check reads
can be read, and the tenant's domains. The token itself is never shown: only facts about it.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from ...errors import DupfixError, StateUnavailableError
from ...interfaces import DoctorLine
from .auth import choose_credential
from .http import Endpoint
from .queries import ALL_PERMISSION, COLLECTIONS, Collection, permission_hint

if TYPE_CHECKING:
    from .source import GraphSource


def token_roles(token: str) -> list[str] | None:
    """The application permissions (`roles`) in a JWT access token; None if it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    roles = payload.get("roles") if isinstance(payload, dict) else None
    return [str(r) for r in roles] if isinstance(roles, list) else []


def _missing(roles: list[str]) -> list[str]:
    if ALL_PERMISSION in roles or "Directory.ReadWrite.All" in roles:
        return []
    needed = sorted({c.permission for c in COLLECTIONS})
    return [p for p in needed if p not in roles and p.replace(".Read.", ".ReadWrite.") not in roles]


async def diagnose(source: GraphSource) -> list[DoctorLine]:
    lines = [DoctorLine("endpoint", "info", source.url)]
    try:
        choice = choose_credential()
    except DupfixError as exc:
        return [*lines, DoctorLine("credential", "fail", str(exc))]
    lines.append(DoctorLine("credential", "info", f"{choice.name}: {choice.description}"))
    try:
        http, reader = await source._session()
        token = await http.tokens.token()
    except DupfixError as exc:
        return [*lines, DoctorLine("token", "fail", str(exc))]
    lines.append(_token_line(token.reveal(), http.tokens.info))
    roles = token_roles(token.reveal())
    if roles:
        missing = _missing(roles)
        if missing:
            lines.append(DoctorLine("permissions", "warn", f"the token lacks {', '.join(missing)} "
                                    f"(or {ALL_PERMISSION}); {permission_hint(None)}"))  # fmt: skip
    for collection in COLLECTIONS:
        lines.append(await _collection_line(http, collection))
    try:
        answer = await reader.tenant()
    except DupfixError as exc:
        lines.append(DoctorLine("tenant", "fail", str(exc)))
    else:
        if answer.tenant is None:
            lines.append(DoctorLine("tenant", "warn", f"{answer.problem}; the MOERA check will be skipped"))
        else:
            initial = answer.tenant.initial_domain or "unknown"
            verified = ", ".join(answer.tenant.verified_domains) or "none"
            lines.append(DoctorLine("tenant", "ok", f"initial domain {initial}; verified domains {verified}"))
    http.progress.finish()
    return lines


def _token_line(token: str, info: Any) -> DoctorLine:
    parts = ["a token came back"]
    if info is not None and info.credential:
        parts.append(f"from {info.credential}")
    if info is not None and info.expires_on:
        parts.append(f"valid for {max(0, int((info.expires_on - time.time()) // 60))} more minutes")
    roles = token_roles(token)
    if roles is None:
        parts.append("not a JWT, so its permissions can't be listed")
    elif roles:
        parts.append(f"application permissions: {', '.join(sorted(roles))}")
    else:
        parts.append("it carries no application permissions (roles)")
    return DoctorLine("token", "ok", "; ".join(parts))


async def _collection_line(http: Any, collection: Collection) -> DoctorLine:
    endpoint = Endpoint("GET", collection.path, collection, "$top=1")
    try:
        await http.get_page(lambda: http.collection_request(collection, top=1), endpoint)
    except StateUnavailableError as exc:
        return DoctorLine(collection.label, "fail", str(exc))
    return DoctorLine(collection.label, "ok", f"readable ({collection.path})")
