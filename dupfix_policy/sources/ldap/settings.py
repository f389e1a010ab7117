"""`--source ldap://host:port/BASE` plus the `DUPFIX_LDAP_*` environment -> connection settings.

Everything a user can get wrong here is exit 2 with the variable or flag named; nothing here
touches the network. The password lives only in `LdapSettings.password`, which no `repr`, spec or
message ever shows: the spec in reports is the URL as given, and a URL that carries credentials
(`ldap://user:secret@dc/`) is refused without echoing it.

Environment:
  DUPFIX_LDAP_USER, DUPFIX_LDAP_PASSWORD   simple bind (`user@domain`, `DOMAIN\\user` or a DN)
  DUPFIX_LDAP_STARTTLS=1                   upgrade ldap:// with StartTLS before binding
  DUPFIX_LDAP_CA_FILE=PATH                 PEM CA bundle that signed the DC's certificate
                                           (LDAPS/StartTLS; default: the system's trust store)
  DUPFIX_LDAP_TIMEOUT=SECONDS              connect and per-response time-out (default 30)
  DUPFIX_LDAP_DC_URL=URL|none              Global Catalog only: a domain controller port for what
                                           the GC does not carry (default: same host, 389 or 636)
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ...errors import UserInputError

USER_VAR = "DUPFIX_LDAP_USER"
PASSWORD_VAR = "DUPFIX_LDAP_PASSWORD"
STARTTLS_VAR = "DUPFIX_LDAP_STARTTLS"
CA_FILE_VAR = "DUPFIX_LDAP_CA_FILE"
TIMEOUT_VAR = "DUPFIX_LDAP_TIMEOUT"
DC_URL_VAR = "DUPFIX_LDAP_DC_URL"

DEFAULT_PORTS = {"ldap": 389, "ldaps": 636}
GLOBAL_CATALOG_PORTS = {3268: "ldap", 3269: "ldaps"}
DC_PORT_FOR_GC = {3268: 389, 3269: 636}
DEFAULT_TIMEOUT = 30.0
PAGE_SIZE = 1000  # AD's default MaxPageSize (docs/semantics.md "Active Directory")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class LdapSettings:
    """Where and how to connect. `base` None: the server's default naming context (a DC port) or
    the whole forest (a Global Catalog port)."""

    spec: str
    scheme: str  # "ldap" | "ldaps"
    host: str
    port: int
    base: str | None
    user: str
    password: str = field(repr=False)
    starttls: bool = False
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    dc_url: str | None = None  # GC only: companion DC; None when not wanted
    page_size: int = PAGE_SIZE

    @property
    def global_catalog(self) -> bool:
        return self.port in GLOBAL_CATALOG_PORTS

    @property
    def tls(self) -> bool:
        return self.scheme == "ldaps" or self.starttls

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def companion(self) -> LdapSettings | None:
        """Settings for the domain controller that answers what the Global Catalog can't."""
        if not self.global_catalog or not self.dc_url:
            return None
        other = parse_url(self.dc_url, DC_URL_VAR)
        return replace(
            self, spec=self.dc_url, scheme=other.scheme, host=other.host, port=other.port,
            base=other.base, dc_url=None,
        )  # fmt: skip


@dataclass(frozen=True)
class _Url:
    scheme: str
    host: str
    port: int
    base: str | None


def _bad(spec_label: str, message: str, hint: str, field_name: str = "--source") -> UserInputError:
    return UserInputError(f"{spec_label}: {message}", field=field_name, hint=hint)


def parse_url(spec: str, field_name: str = "--source") -> _Url:
    """`ldap[s]://host[:port][/BASE]`; BASE is a percent-encoded DN (RFC 4516 without `?…`)."""
    label = "LDAP URL"
    example = "write ldap://dc1.contoso.com:3268/ (forest) or ldaps://dc1.contoso.com/DC=contoso,DC=com"
    try:
        parts = urllib.parse.urlsplit(spec.strip())
    except ValueError as exc:
        raise _bad(label, f"cannot be read ({exc})", example, field_name) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _bad(label, f"scheme must be ldap:// or ldaps://, not {parts.scheme or 'none'}", example, field_name)
    if "@" in parts.netloc:
        # Never echo it: what precedes @ may be a password.
        raise _bad(
            label, "credentials in the URL are not accepted (they would end up in reports and logs)",
            f"remove user and password from the URL and set {USER_VAR} and {PASSWORD_VAR}", field_name,
        )  # fmt: skip
    try:
        port = parts.port
    except ValueError:
        raise _bad(label, f"{spec!r} has a bad port", example, field_name) from None
    host = parts.hostname
    if not host:
        raise _bad(label, f"{spec!r} names no host", example, field_name)
    if parts.query or parts.fragment or spec.rstrip().endswith("?"):
        raise _bad(
            label, f"{spec!r}: attributes, scope, filter and extensions (`?…`) are not supported",
            "dupfix chooses those itself; give only host, port and base DN", field_name,
        )  # fmt: skip
    base = urllib.parse.unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    return _Url(scheme, host, port or DEFAULT_PORTS[scheme], base.strip() or None)


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UserInputError(f"{name}={env.get(name)!r} is not a yes/no value", field=name, hint="use 1 or 0")


def settings_from(spec: str, env: Mapping[str, str] | None = None) -> LdapSettings:
    """Parse the spec and the environment; every mistake is exit 2 naming what to fix."""
    env = os.environ if env is None else env
    url = parse_url(spec)
    user = env.get(USER_VAR, "")
    password = env.get(PASSWORD_VAR, "")
    if not user or not password:
        missing = " and ".join(n for n, v in ((USER_VAR, user), (PASSWORD_VAR, password)) if not v)
        raise UserInputError(
            f"{missing} not set: the LDAP source binds with a user and password",
            field="--source",
            hint=f"set {USER_VAR} (e.g. svc-dupfix@contoso.com) and {PASSWORD_VAR}; a read-only account is enough",
        )
    starttls = _flag(env, STARTTLS_VAR)
    if starttls and url.scheme == "ldaps":
        raise UserInputError(
            f"{STARTTLS_VAR} is set, but {url.scheme}:// already uses TLS", field=STARTTLS_VAR,
            hint="use ldap:// with StartTLS, or ldaps:// without it",
        )  # fmt: skip
    ca_file = env.get(CA_FILE_VAR, "").strip() or None
    if ca_file is not None and not os.path.isfile(ca_file):
        raise UserInputError(f"{ca_file}: no such file", field=CA_FILE_VAR, hint="give a PEM file of CA certificates")
    raw_timeout = env.get(TIMEOUT_VAR, "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT
    except ValueError:
        timeout = -1.0
    if not timeout > 0:
        raise UserInputError(f"{TIMEOUT_VAR}={raw_timeout!r} is not a positive number of seconds", field=TIMEOUT_VAR)
    dc_url: str | None = None
    if url.port in GLOBAL_CATALOG_PORTS:
        given = env.get(DC_URL_VAR, "").strip()
        if given.lower() in ("none", "off"):
            dc_url = None
        elif given:
            parse_url(given, DC_URL_VAR)
            dc_url = given
        else:
            host = f"[{url.host}]" if ":" in url.host else url.host
            dc_url = f"{url.scheme}://{host}:{DC_PORT_FOR_GC[url.port]}"
    return LdapSettings(
        spec=spec, scheme=url.scheme, host=url.host, port=url.port, base=url.base, user=user,
        password=password, starttls=starttls, ca_file=ca_file, timeout=timeout, dc_url=dc_url,
    )  # fmt: skip
