"""More objects than one page holds (AD pages at 1,000): every one of them is read, nothing is cut."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from ldap_fixtures import TREE_DELETE, Samba

from dupfix_policy import cli
from dupfix_policy.addresses import smtp_key
from dupfix_policy.sources.ldap.source import create
from dupfix_policy.sources.snapshot.source import SnapshotSource

pytest_plugins = ["ldap_fixtures"]  # the Samba fixtures (samba, ad, ad_exchange, ldap_env, ...)

CONTACTS = 2100


@pytest.fixture(scope="module")
def many(samba: Samba) -> Iterator[str]:
    """An OU with 2,100 contacts (about 7 s to build on Samba), shared by this module's tests."""
    conn = samba.plain.admin()
    ou = f"OU=paging-{uuid.uuid4().hex[:8]},{samba.plain.base}"
    conn.add(ou, "organizationalUnit")
    try:
        for i in range(CONTACTS):
            conn.add(f"CN=partner{i:04d},{ou}", "contact", {"proxyAddresses": [f"SMTP:partner{i:04d}@paging.test"]})
        yield f"ldap://{samba.plain.host}:389/{ou}"
    finally:
        conn.delete(ou, controls=[TREE_DELETE])
        conn.unbind()


def test_a_scan_pages_through_every_object(many: str, ldap_env):
    src = create(many, {})
    addresses = {o.get("proxyAddresses")[0] for o in src.scan()}
    assert len(addresses) == CONTACTS
    assert src.searches - 2 == 3  # rootDSE + schema, then three pages of at most 1,000


def test_a_look_up_of_every_address_finds_every_holder(many: str, ldap_env):
    src = create(many, {})
    found = src.lookup([smtp_key(f"partner{i:04d}@paging.test") for i in range(CONTACTS)], [])
    assert len({o.id for o in found}) == CONTACTS


def test_snapshot_writes_every_object(many: str, ldap_env, tmp_path):
    out = tmp_path / "ad.jsonl"
    assert cli.main(["snapshot", "--source", many, "--output", str(out)]) == 0
    assert sum(1 for _ in SnapshotSource(str(out)).scan()) == CONTACTS
