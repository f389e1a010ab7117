"""Fixtures and data for the Graph tests: one fake Graph per session, a fresh tenant per test.

Tests import the fixtures they use (`from graph_support import graph  # noqa: F401`). Every test
talks to the fake through the real msgraph-sdk and httpx over 127.0.0.1; no test ever asks
azure-identity for a real token (that would leave the machine), so `graph` sets a ready token.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from graphfake import Directory, GraphFake

from dupfix_policy.model import DirectoryObject, Quarantined, Tenant

# What Graph reports for contoso: every verified domain, the initial one included.
TENANT = Tenant("contoso.onmicrosoft.com", ("contoso.com", "contoso.onmicrosoft.com"))
TOKEN = "graph-test-token-5f0c2b"


def oid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "graph-test:" + name))


def user(upn: str, *proxies: str, state: str = "active", quarantined: Sequence[tuple[str, str]] = (),
         **attrs: Any) -> DirectoryObject:  # fmt: skip
    ident = attrs.pop("id", None) or oid("user:" + upn)
    attrs.setdefault("mail", upn)
    attrs.setdefault("mailNickname", upn.split("@")[0])
    attrs.setdefault("displayName", upn.split("@")[0].replace(".", " ").title())
    attrs["proxyAddresses"] = tuple(proxies) or (f"SMTP:{upn}",)
    # Entra rewrites a deleted user's UPN: object id without dashes, then the UPN.
    attrs["userPrincipalName"] = ident.replace("-", "") + upn if state == "soft-deleted" else upn
    return DirectoryObject(
        ident, "user", "entra", state, attrs, tuple(Quarantined(p, v) for p, v in quarantined)
    )


def group(name: str, *proxies: str, state: str = "active", mail_enabled: bool = True,
          quarantined: Sequence[tuple[str, str]] = (), **attrs: Any) -> DirectoryObject:  # fmt: skip
    attrs.setdefault("displayName", name)
    attrs.setdefault("securityEnabled", not mail_enabled)
    attrs["mailEnabled"] = mail_enabled
    if mail_enabled:
        attrs.setdefault("mailNickname", name.lower().replace(" ", "-"))
        attrs.setdefault("mail", f"{attrs['mailNickname']}@contoso.com")
        attrs["proxyAddresses"] = tuple(proxies) or (f"SMTP:{attrs['mail']}",)
    return DirectoryObject(oid("group:" + name), "group", "entra", state, attrs,
                           tuple(Quarantined(p, v) for p, v in quarantined))  # fmt: skip


def contact(address: str, **attrs: Any) -> DirectoryObject:
    attrs.setdefault("displayName", address.split("@")[0].title())
    attrs.setdefault("mail", address)
    attrs.setdefault("mailNickname", address.split("@")[0])
    attrs.setdefault("proxyAddresses", (f"SMTP:{address}",))
    return DirectoryObject(oid("contact:" + address), "contact", "entra", "active", attrs)


def anchor_of(name: str) -> str:
    return base64.b64encode(uuid.uuid5(uuid.NAMESPACE_URL, "anchor:" + name).bytes_le).decode()


@pytest.fixture(scope="session")
def graph_server() -> Iterator[GraphFake]:
    fake = GraphFake(Directory.of([], TENANT), token=TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def graph(graph_server: GraphFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> GraphFake:
    """The fake Graph with an empty contoso tenant, reached through DUPFIX_GRAPH_URL with a token.

    Put objects in with `graph.directory = Directory.of([...], TENANT)`. The working directory
    is an empty temp dir, so no .dupfix.yaml is picked up.
    """
    graph_server.reset()
    graph_server.directory = Directory.of([], TENANT)
    graph_server.token = TOKEN
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_POLICY", "DUPFIX_FAIL_ON", "DUPFIX_CONFIG", "DUPFIX_GRAPH_AUTH",
                 "DUPFIX_GRAPH_CONCURRENCY", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_ID"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUPFIX_GRAPH_URL", graph_server.url)
    monkeypatch.setenv("DUPFIX_GRAPH_TOKEN", TOKEN)
    return graph_server
