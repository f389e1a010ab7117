"""Incremental reads of on-prem AD for the state cache: the DirSync control (1.2.840.113556.1.4.841).

DirSync tells *which* objects changed (or were deleted) since a cookie, across the whole naming
context; it needs the "Replicating Directory Changes" right on the domain. The changed objects are
then read again through the LDAP source's own look-up (by objectGUID), so the cache holds exactly
what a full scan would: the same attributes, the same Global Catalog / DC merge, the same base.

Without the right, the sync says so and falls back to full scans (`delta_notes`). A cookie the
server refuses is `DeltaExpired`: the sync starts over with a full scan.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ...model import DirectoryObject, Target
from .entries import decode_guid

if TYPE_CHECKING:
    from .source import LdapSource

RIGHT = "Replicating Directory Changes"
GUID_CHUNK = 200  # objects re-read per look-up


class DirSyncRefused(Exception):
    """The server refused DirSync for lack of the right: full scans instead."""


def _changes_since(conn: Any, root: str, cookie: bytes | None, watched: list[str]
                   ) -> tuple[list[tuple[str, bool, str]], bytes]:  # fmt: skip
    """(guid, deleted, dn) of every object changed since `cookie` (all objects without one).

    DirSync reports an object only when one of the *requested* attributes changed, so it is asked
    for every attribute the checker reads, plus `name` (renames, moves) and `isDeleted`.
    """
    from ldap3.core.exceptions import LDAPException

    attributes = sorted({*watched, "objectGUID", "name", "isDeleted"}, key=str.lower)
    sync = conn.extend.microsoft.dir_sync(root, "(objectClass=*)", attributes=attributes, cookie=cookie)
    out: list[tuple[str, bool, str]] = []
    try:
        while sync.more_results:
            for entry in sync.loop():
                if entry.get("type") != "searchResEntry":
                    continue
                raw = {k.lower(): v for k, v in entry.get("raw_attributes", {}).items()}
                guid = decode_guid(bytes(raw["objectguid"][0])) if raw.get("objectguid") else None
                if guid:
                    deleted = any(bytes(v).upper() == b"TRUE" for v in raw.get("isdeleted", ()))
                    out.append((guid, deleted, str(entry.get("dn", ""))))
    except LDAPException as exc:
        text = str(exc)
        if "insufficientAccessRights" in text or "insufficient" in text.lower():
            raise DirSyncRefused(text) from None
        raise
    return out, bytes(sync.cookie or b"")


def delta(source: LdapSource, state: str | None) -> tuple[list[tuple[Any, ...]], str | None]:
    """`delta(state)` of the cache protocol for an LDAP source (see cache.sync)."""
    from ldap3.core.exceptions import LDAPException

    from ...errors import DeltaExpired

    primary = source.primary()
    root = primary.root.default_naming_context or primary.base
    conn = primary.conn._require()
    source.delta_messages = []
    if state is None:
        try:
            # First the cookie, then the scan: nothing is missed. The cookie is a watermark, not tied
            # to the attributes asked, so this pass asks for as little as it can.
            _, cookie = _changes_since(conn, root, None, [])
            new_state: str | None = base64.b64encode(cookie).decode()
        except (DirSyncRefused, LDAPException) as exc:
            source.delta_messages.append(_refused_note(root, exc))
            new_state = None
        return [("upsert", obj) for obj in source.scan()], new_state
    try:
        changed, cookie = _changes_since(conn, root, base64.b64decode(state), primary.read_attributes)
    except DirSyncRefused as exc:
        raise DeltaExpired(_refused_note(root, exc)) from None
    except LDAPException as exc:
        raise DeltaExpired(f"the server refused the stored DirSync cookie ({exc})") from None
    changes: list[tuple[Any, ...]] = []
    reread: list[str] = []
    for guid, deleted, dn in changed:
        if deleted or not primary.holds(dn):
            changes.append(("remove", "ad", guid))
        else:
            reread.append(guid)
    found = {obj.id: obj for obj in _lookup(source, reread)}
    for guid in reread:
        obj = found.get(guid)
        changes.append(("upsert", obj) if obj is not None else ("remove", "ad", guid))
    source.delta_messages.append(f"DirSync: {len(changed)} changed object(s), {len(reread)} read again")
    return changes, base64.b64encode(cookie).decode()


def _lookup(source: LdapSource, guids: list[str]) -> Iterable[DirectoryObject]:
    for start in range(0, len(guids), GUID_CHUNK):
        chunk = guids[start : start + GUID_CHUNK]
        yield from source.lookup([], [Target("objectGUID", g) for g in chunk])


def _refused_note(root: str, exc: Exception) -> str:
    return (
        f"DirSync refused ({str(exc)[:120]}): the bind account needs the '{RIGHT}' right on {root} "
        "for incremental syncs; full scans until it has it"
    )
