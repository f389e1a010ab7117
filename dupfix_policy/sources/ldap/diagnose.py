"""`dupfix doctor` for an LDAP source: bind, transport, schema (Exchange or not), Global Catalog.

Each check is one `DoctorLine`; a failing step stops the checks that depend on it (no schema
without a bind). Messages are the source's own error messages, which never contain the password.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ...errors import DupfixError
from ...interfaces import DoctorLine
from .entries import EXCHANGE_ATTRIBUTES, EXCHANGE_MARKERS
from .settings import CA_FILE_VAR, DC_PORT_FOR_GC, STARTTLS_VAR

if TYPE_CHECKING:
    from .source import LdapSource

GC_PORT_FOR_SCHEME = {"ldap": 3268, "ldaps": 3269}
REQUIRED = ("userPrincipalName", "proxyAddresses", "mail", "sAMAccountName", "objectGUID", "objectSid")


def diagnose(source: LdapSource) -> list[DoctorLine]:
    s = source.settings
    lines = [_transport(source)]
    try:
        primary = source.primary()
    except DupfixError as exc:
        lines.append(DoctorLine("bind", "fail", str(exc)))
        return lines
    lines.append(DoctorLine("bind", "ok", f"bound to {s.address} as {s.user}"))
    where = primary.base or "the whole forest (Global Catalog)"
    lines.append(DoctorLine("base", "ok", f"searching {where}; paged results offered"))
    lines.extend(_schema(source))
    lines.append(_global_catalog(source))
    if s.global_catalog:
        lines.append(_companion(source))
    return lines


def _transport(source: LdapSource) -> DoctorLine:
    s = source.settings
    if not s.tls:
        return DoctorLine(
            "transport", "warn",
            f"plain LDAP: the password crosses the network unencrypted; use ldaps:// or {STARTTLS_VAR}=1",
        )  # fmt: skip
    how = "LDAPS" if s.scheme == "ldaps" else "StartTLS"
    trust = f"the CA in {s.ca_file}" if s.ca_file else f"the system trust store ({CA_FILE_VAR} not set)"
    return DoctorLine("transport", "ok", f"{how}, certificate verified against {trust}")


def _schema(source: LdapSource) -> list[DoctorLine]:
    primary = source.primary()
    missing = [a for a in REQUIRED if a.lower() not in primary.schema]
    lines = []
    if missing:
        lines.append(DoctorLine("schema", "fail", f"the schema lacks {', '.join(missing)}: is this Active Directory?"))
    else:
        lines.append(DoctorLine("schema", "ok", f"{', '.join(REQUIRED)} present"))
    present = [a for a in (*EXCHANGE_ATTRIBUTES, *EXCHANGE_MARKERS) if a.lower() in primary.schema]
    absent = [a for a in EXCHANGE_ATTRIBUTES if a.lower() not in primary.schema]
    if not absent:
        lines.append(DoctorLine("exchange schema", "ok", f"present ({', '.join(present)})"))
    else:
        markers = "" if any(m.lower() in primary.schema for m in EXCHANGE_MARKERS) else " and no msExch* attributes"
        detail = (
            f"absent: no {', '.join(absent)}{markers}; aliases (DUP010, DUP013) and targetAddress collisions "
            "are not checked against AD"
        )
        lines.append(DoctorLine("exchange schema", "info", detail))
    return lines


def _global_catalog(source: LdapSource) -> DoctorLine:
    s = source.settings
    if s.global_catalog:
        return DoctorLine("global catalog", "ok", f"{s.address} is a Global Catalog port: the whole forest is read")
    from .connection import LdapConnection

    gc = replace(s, spec="", port=GC_PORT_FOR_SCHEME[s.scheme], base=None, dc_url=None)
    conn = LdapConnection(gc)
    try:
        conn.open()
        ready = conn.root_dse().global_catalog_ready
    except DupfixError as exc:
        return DoctorLine(
            "global catalog", "warn",
            f"not reachable at {gc.address} ({exc}); only {source.primary().base} is checked",
        )  # fmt: skip
    finally:
        conn.close()
    if not ready:
        return DoctorLine("global catalog", "warn", f"{gc.address} answers but is not a ready Global Catalog")
    return DoctorLine(
        "global catalog", "info",
        f"reachable at {gc.address}; use --source {gc.address}/ to check the whole forest, not only "
        f"{source.primary().base}",
    )  # fmt: skip


def _companion(source: LdapSource) -> DoctorLine:
    s = source.settings
    primary = source.primary()
    lacking = sorted(a.name for k, a in primary.schema.items() if k not in primary.readable)
    if not s.dc_url:
        return DoctorLine(
            "domain controller", "warn",
            f"DUPFIX_LDAP_DC_URL=none: {', '.join(lacking) or 'nothing'} not read (not in the Global Catalog)",
        )  # fmt: skip
    try:
        companion = source.companion_if_needed()
    except DupfixError as exc:
        return DoctorLine("domain controller", "fail", str(exc))
    if companion is None:
        return DoctorLine("domain controller", "ok", "the Global Catalog carries every attribute read")
    port = DC_PORT_FOR_GC.get(s.port)
    return DoctorLine(
        "domain controller", "ok",
        f"{companion.conn.settings.address} (port {port or companion.conn.settings.port}) supplies "
        f"{', '.join(lacking)} for {companion.base}",
    )  # fmt: skip
