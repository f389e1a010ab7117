"""One read-only LDAP connection through ldap3: connect, TLS, simple bind, rootDSE, schema, paged search.

Fail closed: anything that keeps the source from reading the whole answer (server down, bind
refused, TLS failure, time-out, a size/time/admin limit, a paging cookie lost half-way) raises
`StateUnavailableError` (exit 3) with a sentence naming the server and what to do. A partial
result is never returned as if it were complete: ldap3 does not raise on sizeLimitExceeded, so
every page's result code is checked here.

The password goes to ldap3 and nowhere else; every message that could carry server or library
text passes through `_redact` as a second guard.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import ldap3
from ldap3.core import exceptions as lx

from ...errors import StateUnavailableError, UserInputError
from .settings import CA_FILE_VAR, PASSWORD_VAR, STARTTLS_VAR, TIMEOUT_VAR, USER_VAR, LdapSettings

Scope = Literal["BASE", "LEVEL", "SUBTREE"]

PAGED_RESULTS = "1.2.840.113556.1.4.319"
ROOT_DSE_ATTRIBUTES = (
    "defaultNamingContext", "rootDomainNamingContext", "schemaNamingContext", "namingContexts",
    "supportedControl", "isGlobalCatalogReady", "dnsHostName",
)  # fmt: skip

# Result codes that mean "the answer is incomplete or could not be produced" (RFC 4511 §4.1.9).
_LIMITS = {
    3: "the server's time limit was exceeded",
    4: "the server's size limit was exceeded",
    11: "an administrative limit of the server was exceeded",
    51: "the server is busy",
    52: "the server is unavailable",
    53: "the server is unwilling to perform the search",
}


@dataclass
class RootDse:
    default_naming_context: str | None
    root_domain_naming_context: str | None
    schema_naming_context: str | None
    naming_contexts: tuple[str, ...]
    controls: frozenset[str]
    global_catalog_ready: bool
    host_name: str | None


@dataclass(frozen=True)
class SchemaAttribute:
    name: str  # lDAPDisplayName as the schema spells it
    in_global_catalog: bool  # isMemberOfPartialAttributeSet
    indexed: bool = True  # searchFlags bit 0 (fATTINDEX): an OR with an unindexed branch scans everything


# Continuation references every domain's subtree search returns: application partitions that
# hold DNS records, never users, groups or contacts.
_APPLICATION_PARTITIONS = ("dc=domaindnszones,", "dc=forestdnszones,", "cn=configuration,")


@dataclass
class Page:
    """What one search returned: entries (DN, raw values by attribute name)."""

    entries: list[tuple[str, Mapping[str, Sequence[bytes]]]] = field(default_factory=list)


class LdapConnection:
    """A bound ldap3 connection that counts its searches (the benchmark reports them)."""

    def __init__(self, settings: LdapSettings):
        self.settings = settings
        self.searches = 0
        self.referrals: list[str] = []  # continuation references to other domains, not followed
        self._conn: ldap3.Connection | None = None

    # -- open ----------------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, upgrade to TLS when asked, bind. Raises StateUnavailableError on any failure."""
        s = self.settings
        self._refuse_clear_text_password()
        tls = None
        if s.tls:
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=s.ca_file, sni=s.host)
        server = ldap3.Server(
            s.host, port=s.port, use_ssl=s.scheme == "ldaps", tls=tls, get_info=ldap3.NONE,
            connect_timeout=s.timeout,
        )  # fmt: skip
        conn = ldap3.Connection(
            server, user=s.user, password=s.password, authentication=ldap3.SIMPLE, read_only=True,
            receive_timeout=max(1, math.ceil(s.timeout)), auto_referrals=False, raise_exceptions=False,
            return_empty_attributes=False, auto_bind=ldap3.AUTO_BIND_NONE,
        )  # fmt: skip
        try:
            conn.open()
            if s.starttls and not conn.start_tls():
                raise self._unavailable(
                    f"StartTLS was refused ({self._result_text(conn.result)})",
                    "use ldaps:// (port 636 or 3269), or unset " + STARTTLS_VAR,
                )
            if not conn.bind():
                raise self._bind_refused(conn.result)
        except lx.LDAPException as exc:
            self._close(conn)
            raise self._from_exception(exc, "connecting") from None
        except StateUnavailableError:
            self._close(conn)
            raise
        self._conn = conn

    def _refuse_clear_text_password(self) -> None:
        """A simple bind over plain ldap:// sends the password in clear text: only to this machine.

        Why: anyone on the path to a remote DC (or a spoofed one) would read the service account's
        password. Graph refuses plain http for the same reason. Loopback (a test DC, an SSH
        tunnel's local end) is allowed; a name is judged as written, never resolved (`localhost`
        only), since DNS can be made to answer anything.
        """
        s = self.settings
        if s.tls or not s.password or _is_loopback(s.host):
            return
        raise StateUnavailableError(
            f"refusing a simple bind to {s.address} over plain ldap://: the password would cross the network "
            "in clear text",
            hint=f"use ldaps:// or {STARTTLS_VAR}=1",
        )

    def close(self) -> None:
        if self._conn is not None:
            self._close(self._conn)
            self._conn = None

    @staticmethod
    def _close(conn: ldap3.Connection) -> None:
        with contextlib.suppress(Exception):  # closing a broken socket must not hide the real error
            conn.unbind()

    # -- reads ---------------------------------------------------------------------------------

    def root_dse(self) -> RootDse:
        page = self._search_once("", "(objectClass=*)", ROOT_DSE_ATTRIBUTES, ldap3.BASE, "reading the rootDSE")
        if not page.entries:
            raise self._unavailable("the server returned no rootDSE", "is this an LDAP directory server?")
        raw = {k.lower(): v for k, v in page.entries[0][1].items()}

        def one(name: str) -> str | None:
            values = raw.get(name.lower())
            return bytes(values[0]).decode("utf-8", "replace") if values else None

        def many(name: str) -> tuple[str, ...]:
            return tuple(bytes(v).decode("utf-8", "replace") for v in raw.get(name.lower(), ()))

        return RootDse(
            default_naming_context=one("defaultNamingContext"),
            root_domain_naming_context=one("rootDomainNamingContext"),
            schema_naming_context=one("schemaNamingContext"),
            naming_contexts=many("namingContexts"),
            controls=frozenset(many("supportedControl")),
            global_catalog_ready=(one("isGlobalCatalogReady") or "").upper() == "TRUE",
            host_name=one("dnsHostName"),
        )

    def schema_attributes(self, schema_dn: str, names: Sequence[str]) -> dict[str, SchemaAttribute]:
        """Which of `names` the schema defines (by lower-cased name), read in one search."""
        from .filters import escape

        flt = "(&(objectClass=attributeSchema)(|" + "".join(f"(lDAPDisplayName={escape(n)})" for n in names) + "))"
        out: dict[str, SchemaAttribute] = {}
        for dn, raw in self.search(schema_dn, flt, ("lDAPDisplayName", "isMemberOfPartialAttributeSet", "searchFlags"),
                                   what="reading the schema"):  # fmt: skip
            del dn
            low = {k.lower(): v for k, v in raw.items()}
            name_values = low.get("ldapdisplayname")
            if not name_values:
                continue
            name = bytes(name_values[0]).decode("utf-8", "replace")
            pas = low.get("ismemberofpartialattributeset")
            in_gc = pas is not None and len(pas) > 0 and bytes(pas[0]).upper() == b"TRUE"
            flags = low.get("searchflags")
            try:
                indexed = bool(int(bytes(flags[0])) & 1) if flags else False
            except ValueError:
                indexed = False
            out[name.lower()] = SchemaAttribute(name, in_gc, indexed)
        return out

    def search(
        self, base: str, flt: str, attributes: Sequence[str], *, what: str = "searching",
        scope: str = "SUBTREE",
    ) -> Iterator[tuple[str, Mapping[str, Sequence[bytes]]]]:  # fmt: skip
        """Every entry under `base` matching `flt`, page by page (Simple Paged Results)."""
        cookie: bytes | None = None
        ldap_scope = {"SUBTREE": ldap3.SUBTREE, "BASE": ldap3.BASE, "LEVEL": ldap3.LEVEL}[scope]
        while True:
            page, cookie = self._page(base, flt, attributes, ldap_scope, what, cookie)
            yield from page.entries
            if not cookie:
                return

    def _page(
        self, base: str, flt: str, attributes: Sequence[str], scope: str, what: str, cookie: bytes | None
    ) -> tuple[Page, bytes | None]:
        conn = self._require()
        self.searches += 1
        try:
            conn.search(
                base, flt, search_scope=cast(Scope, scope), attributes=list(attributes) or [ldap3.NO_ATTRIBUTES],
                paged_size=self.settings.page_size, paged_cookie=cookie, paged_criticality=True,
            )  # fmt: skip
        except lx.LDAPException as exc:
            raise self._from_exception(exc, what) from None
        result = conn.result or {}
        self._check(result, base, what)
        page = self._collect(conn.response or [])
        control = (result.get("controls") or {}).get(PAGED_RESULTS)
        next_cookie = control["value"]["cookie"] if control else None
        return page, next_cookie or None

    def _search_once(self, base: str, flt: str, attributes: Sequence[str], scope: str, what: str) -> Page:
        conn = self._require()
        self.searches += 1
        try:
            conn.search(base, flt, search_scope=cast(Scope, scope), attributes=list(attributes))
        except lx.LDAPException as exc:
            raise self._from_exception(exc, what) from None
        self._check(conn.result or {}, base, what)
        return self._collect(conn.response or [])

    def _collect(self, response: Sequence[Mapping]) -> Page:
        page = Page()
        for item in response:
            kind = item.get("type")
            if kind == "searchResEntry":
                page.entries.append((item.get("dn", ""), item.get("raw_attributes") or {}))
            elif kind == "searchResRef":
                for uri in item.get("uri") or ():
                    if not any(p in str(uri).lower() for p in _APPLICATION_PARTITIONS) and uri not in self.referrals:
                        self.referrals.append(str(uri))
        return page

    def _require(self) -> ldap3.Connection:
        if self._conn is None:
            self.open()
        assert self._conn is not None
        return self._conn

    # -- errors --------------------------------------------------------------------------------

    def _check(self, result: Mapping, base: str, what: str) -> None:
        code = result.get("result", 0)
        if code in (0, 10):  # success; referral (counted, not followed)
            return
        if code == 32:
            raise UserInputError(
                f"{self.settings.address}: the base DN {base!r} does not exist on this server",
                field="--source",
                hint="check the DN after the host in --source, or leave it out to use the server's default",
            )
        if code == 50:
            raise self._unavailable(
                f"{what}: access denied for {self.settings.user} ({self._result_text(result)})",
                "give the account read access to users, groups and contacts",
            )
        reason = _LIMITS.get(code)
        if reason is not None:
            raise self._unavailable(
                f"{what}: {reason} ({self._result_text(result)}); the answer would be incomplete",
                "retry later, or ask the directory admins about the LDAP query policy (MaxPageSize, "
                "MaxQueryDuration)",
            )
        raise self._unavailable(f"{what} failed: {self._result_text(result)}", None)

    def _bind_refused(self, result: Mapping) -> StateUnavailableError:
        code = result.get("result")
        text = self._result_text(result)
        if code == 49:
            return self._unavailable(
                f"bind as {self.settings.user} refused: invalid credentials ({text})",
                f"check {USER_VAR} and {PASSWORD_VAR}",
            )
        if code == 8 or "strongerauthrequired" in text.lower():
            return self._unavailable(
                f"bind refused: the server requires an encrypted connection for simple binds ({text})",
                f"use ldaps:// (port 636, or 3269 for the Global Catalog) or set {STARTTLS_VAR}=1",
            )
        return self._unavailable(f"bind as {self.settings.user} refused ({text})", f"check {USER_VAR} and {PASSWORD_VAR}")

    def _from_exception(self, exc: Exception, what: str) -> StateUnavailableError:
        text = str(exc)
        low = text.lower()
        s = self.settings
        if "timed out" in low or isinstance(exc, lx.LDAPResponseTimeoutError):
            return self._unavailable(
                f"{what}: no answer within {s.timeout:g} s",
                f"is the server reachable and responsive? raise {TIMEOUT_VAR} for a slow link",
            )
        if isinstance(exc, (lx.LDAPCertificateError, lx.LDAPStartTLSError)) or "ssl" in low or "certificate" in low:
            return self._unavailable(
                f"{what}: TLS failed ({text})",
                f"the server's certificate must be trusted and name {s.host}: set {CA_FILE_VAR} to the CA "
                "that signed it",
            )
        if isinstance(exc, lx.LDAPSocketOpenError):
            return self._unavailable(f"cannot connect ({text})", "is the host and port right, and the server up?")
        if isinstance(exc, lx.LDAPCommunicationError):
            return self._unavailable(f"{what}: the connection failed ({text})", "retry; is the server up?")
        return self._unavailable(f"{what}: {type(exc).__name__}: {text}", None)

    def _unavailable(self, message: str, hint: str | None) -> StateUnavailableError:
        return StateUnavailableError(
            self._redact(f"LDAP {self.settings.address}: {message}"),
            hint=self._redact(hint) if hint else None,
        )

    @staticmethod
    def _result_text(result: Mapping) -> str:
        parts = [str(result.get("description") or f"result {result.get('result')}")]
        message = str(result.get("message") or "").strip()
        if message:
            parts.append(message)
        return ": ".join(parts)

    def _redact(self, text: str) -> str:
        password = self.settings.password
        return text.replace(password, "********") if password else text


def _is_loopback(host: str) -> bool:
    """`localhost`, `*.localhost`, 127.0.0.0/8 or ::1, as written (no name is resolved)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
