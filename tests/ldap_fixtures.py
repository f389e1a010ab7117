"""Fixtures for the LDAP tests: the Samba AD DCs that scripts/samba-ad-dc.sh started, one OU per test.

`./scripts/test.sh` starts two throwaway Samba AD domain controllers on loopback (a plain AD schema
and one with the Exchange attributes) and exports `DUPFIX_TEST_LDAP_*`. Without those variables:
under CI (`CI=true`) every LDAP test fails, saying why; elsewhere (someone running pytest alone)
they are skipped with a message saying to run ./scripts/test.sh. A server that is named but can't
be reached always fails: never a silent skip.

Each test gets its own OU, removed afterwards with the tree-delete control, and builds exactly the
objects its case needs. Test modules import the fixtures they use from here.

For failures a real Samba can't be made to produce on demand (a server that never answers, one
that stops a search at its size limit) `FaultServer` is a real TCP listener that speaks just
enough LDAP (BER over a socket) to get there: a fault injector, not a mock of ldap3.

Test modules load this as a plugin (`pytest_plugins`) and import its helpers, so pytest must not
rewrite it: PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from ldap3 import MODIFY_REPLACE, Connection, Server

TREE_DELETE = ("1.2.840.113556.1.4.805", True, None)
ENV_URL = "DUPFIX_TEST_LDAP_URL"
RUN_ME = "run ./scripts/test.sh (it installs and starts Samba AD DCs on loopback), or source the env file " \
    "that `scripts/samba-ad-dc.sh start` writes"  # fmt: skip


@dataclass(frozen=True)
class SambaServer:
    """One running Samba AD DC, as scripts/samba-ad-dc.sh describes it."""

    url: str  # ldap://127.0.0.N:389/DC=example,DC=test
    base: str
    user: str
    password: str
    ca_file: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    def admin(self) -> Connection:
        """An administrator's connection, for building the test's objects (writes allowed)."""
        return Connection(Server(self.host, port=389), self.user, self.password, auto_bind=True,
                          raise_exceptions=True)  # fmt: skip


@dataclass(frozen=True)
class Samba:
    plain: SambaServer
    exchange: SambaServer


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        message = f"{name} is not set: the LDAP tests need the Samba AD DCs; {RUN_ME}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return value


@pytest.fixture(scope="session")
def samba() -> Samba:
    url = _require(ENV_URL)
    common = {
        "base": _require("DUPFIX_TEST_LDAP_BASE"),
        "user": _require("DUPFIX_TEST_LDAP_USER"),
        "password": _require("DUPFIX_TEST_LDAP_PASSWORD"),
        "ca_file": _require("DUPFIX_TEST_LDAP_CA_FILE"),
    }
    found = Samba(
        SambaServer(url, **common),
        SambaServer(_require("DUPFIX_TEST_LDAP_EXCHANGE_URL"), **common),
    )
    for server in (found.plain, found.exchange):
        try:
            server.admin().unbind()
        except Exception as exc:  # any failure here means the same: no server
            pytest.fail(f"the Samba AD DC at {server.url} can't be reached ({exc}); {RUN_ME}", pytrace=False)
    return found


@pytest.fixture
def ldap_env(samba: Samba, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The bind the LDAP source reads from the environment, as a user would set it."""
    env = {"DUPFIX_LDAP_USER": samba.plain.user, "DUPFIX_LDAP_PASSWORD": samba.plain.password}
    for name in ("DUPFIX_LDAP_STARTTLS", "DUPFIX_LDAP_CA_FILE", "DUPFIX_LDAP_TIMEOUT", "DUPFIX_LDAP_DC_URL",
                 "DUPFIX_SOURCES", "DUPFIX_CONFIG", "DUPFIX_POLICY", "DUPFIX_FAIL_ON"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@dataclass
class Ou:
    """One test's organizational unit: builds the case's users, groups and contacts in it."""

    server: SambaServer
    dn: str
    conn: Connection
    tag: str  # unique per test: keeps values from meeting other tests' on forest-wide searches
    created: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The LDAP source spec searching only this OU (base DN from the URL)."""
        return f"ldap://{self.server.host}:389/{self.dn}"

    @property
    def gc_url(self) -> str:
        return f"ldap://{self.server.host}:3268/"

    def _add(self, cn: str, object_class: str, attrs: dict) -> str:
        dn = f"CN={cn},{self.dn}"
        self.conn.add(dn, object_class, {k: v for k, v in attrs.items() if v not in (None, [], ())})
        self.created.append(dn)
        return dn

    def user(self, cn: str, *, upn: str | None = None, proxies: Sequence[str] = (), mail: str | None = None,
             sam: str | None = None, **extra: object) -> str:  # fmt: skip
        return self._add(cn, "user", {"sAMAccountName": sam or f"{cn[:12]}{self.tag[:6]}", "userPrincipalName": upn,
                                      "proxyAddresses": list(proxies), "mail": mail, **extra})  # fmt: skip

    def group(self, cn: str, *, proxies: Sequence[str] = (), mail: str | None = None, **extra: object) -> str:
        return self._add(cn, "group", {"sAMAccountName": f"{cn[:12]}{self.tag[:6]}", "proxyAddresses": list(proxies),
                                       "mail": mail, **extra})  # fmt: skip

    def contact(self, cn: str, *, proxies: Sequence[str] = (), mail: str | None = None, **extra: object) -> str:
        return self._add(cn, "contact", {"proxyAddresses": list(proxies), "mail": mail, **extra})

    def guid(self, dn: str) -> str:
        self.conn.search(dn, "(objectClass=*)", "BASE", attributes=["objectGUID"])
        return str(uuid.UUID(bytes_le=self.conn.entries[0].objectGUID.raw_values[0]))

    def sid(self, dn: str) -> str:
        self.conn.search(dn, "(objectClass=*)", "BASE", attributes=["objectSid"])
        return str(self.conn.entries[0].objectSid.value)

    def set_consistency_guid(self, dn: str, guid: str) -> None:
        self.conn.modify(dn, {"mS-DS-ConsistencyGuid": [(MODIFY_REPLACE, [uuid.UUID(guid).bytes_le])]})


def _ou(server: SambaServer, request: pytest.FixtureRequest) -> Iterator[Ou]:
    tag = uuid.uuid4().hex[:10]
    name = request.node.name.split("[")[0][:40].replace(",", "-")
    dn = f"OU={name}-{tag},{server.base}"
    conn = server.admin()
    conn.add(dn, "organizationalUnit")
    try:
        yield Ou(server, dn, conn, tag)
    finally:
        conn.delete(dn, controls=[TREE_DELETE])
        conn.unbind()


@pytest.fixture
def ad(samba: Samba, request: pytest.FixtureRequest) -> Iterator[Ou]:
    """An OU of its own on the plain (Exchange-less) Samba AD DC."""
    yield from _ou(samba.plain, request)


@pytest.fixture
def ad_exchange(samba: Samba, request: pytest.FixtureRequest) -> Iterator[Ou]:
    """An OU of its own on the Samba AD DC whose schema has mailNickname and targetAddress."""
    yield from _ou(samba.exchange, request)


# --- fault injection ----------------------------------------------------------------------------


def _ber(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _octets(text: str) -> bytes:
    return _ber(0x04, text.encode())


def _int(tag: int, value: int) -> bytes:
    return _ber(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big"))


def _message(message_id: int, op: bytes) -> bytes:
    return _ber(0x30, _int(0x02, message_id) + op)


def _result(app_tag: int, code: int, text: str = "") -> bytes:
    return _ber(app_tag, _int(0x0A, code) + _octets("") + _octets(text))


def _entry(dn: str, attrs: dict[str, list[str]]) -> bytes:
    parts = b"".join(_ber(0x30, _octets(k) + _ber(0x31, b"".join(_octets(v) for v in vs))) for k, vs in attrs.items())
    return _ber(0x64, _octets(dn) + _ber(0x30, parts))


def _read_message(sock: socket.socket) -> tuple[int, int] | None:
    """(message id, protocol op tag) of the next request, or None when the client went away."""
    head = sock.recv(2)
    if len(head) < 2:
        return None
    length = head[1]
    if length & 0x80:
        length = int.from_bytes(sock.recv(length & 0x7F), "big")
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    id_len = body[1]
    message_id = int.from_bytes(body[2 : 2 + id_len], "big")
    return message_id, body[2 + id_len]


class FaultServer:
    """A loopback TCP server that fails the way a directory can, for the fault tests.

    `silent`: accepts connections and never answers (a hung server: the client's time-out).
    `size-limit`: binds anyone, shows a rootDSE and schema like AD's, then ends every search with
    sizeLimitExceeded after one entry (a server that cut the answer short).
    """

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._clients: list[socket.socket] = []
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}/DC=example,DC=test"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            self._clients.append(client)
            if self.mode != "silent":
                threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        searches = 0
        try:
            while (request := _read_message(client)) is not None:
                message_id, op = request
                if op == 0x60:  # bindRequest
                    client.sendall(_message(message_id, _result(0x61, 0)))
                elif op == 0x63:  # searchRequest
                    searches += 1
                    client.sendall(b"".join(_message(message_id, op) for op in self._search_answer(searches)))
                else:  # unbind and anything else: done
                    return
        except OSError:
            return

    @staticmethod
    def _search_answer(n: int) -> list[bytes]:
        if n == 1:
            root = {"defaultNamingContext": ["DC=example,DC=test"],
                    "schemaNamingContext": ["CN=Schema,CN=Configuration,DC=example,DC=test"],
                    "supportedControl": ["1.2.840.113556.1.4.319"]}  # fmt: skip
            return [_entry("", root), _result(0x65, 0)]
        if n == 2:
            names = ["userPrincipalName", "proxyAddresses", "mail", "objectGUID", "objectClass"]
            return [*(_entry(f"CN={a},CN=Schema", {"lDAPDisplayName": [a]}) for a in names), _result(0x65, 0)]
        user = {"objectClass": ["user"], "userPrincipalName": ["first@example.test"]}
        return [_entry("CN=first,DC=example,DC=test", user), _result(0x65, 4, "size limit exceeded")]

    def close(self) -> None:
        self._stop.set()
        for client in self._clients:
            client.close()
        self.sock.close()
        self._thread.join(timeout=2)


@pytest.fixture
def fault_server(request: pytest.FixtureRequest) -> Iterator[FaultServer]:
    server = FaultServer(request.param)
    try:
        yield server
    finally:
        server.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
