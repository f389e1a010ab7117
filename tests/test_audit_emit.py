"""The suggested plan and LDIF as files (dupfix_policy/audit/emit.py): what the project's own plan
loaders read back is exactly the suggested changes."""

from __future__ import annotations

from dupfix_policy.audit.emit import render_ldif, render_plan
from dupfix_policy.audit.resolutions import Action
from dupfix_policy.model import Target
from dupfix_policy.plans import ldif, native

REMOVE_FROM_JOSE = Action(
    "update", "user", "ad", Target("objectGUID", "1b688a42-698a-5b96-9e85-bca3caa89f22"), "josé@contoso.com",
    remove=(("proxyAddresses", ("smtp:josé.support@contoso.com", "smtp:help@contoso.com")),),
    dn="CN=José Núñez,OU=Staff,DC=contoso,DC=com",
)  # fmt: skip
PURGE_OLD_GROUP = Action(
    "delete",
    "group",
    "entra",
    Target("id", "f1f12a5b-65e6-51cb-a683-00e17129c5fe"),
    "Old Projects",
    purge=True,
)
WHY = {("update", "ad", REMOVE_FROM_JOSE.target.value): ["DUP002 proxy:smtp:help@contoso.com: José yields"]}


def test_the_plan_reads_back_as_the_suggested_changes(tmp_path):
    path = tmp_path / "fix.yaml"
    path.write_text(render_plan([REMOVE_FROM_JOSE, PURGE_OLD_GROUP], WHY, ["snapshot:t.json"], str(path)))
    first, second = native.load(str(path)).changes
    assert (first.op, first.directory, first.target, dict(first.remove)) == (
        "update", "ad", REMOVE_FROM_JOSE.target,
        {"proxyAddresses": ("smtp:josé.support@contoso.com", "smtp:help@contoso.com")},
    )  # fmt: skip
    assert (second.op, second.directory, second.target, second.purge) == ("delete", "entra", PURGE_OLD_GROUP.target,
                                                                          True)  # fmt: skip
    assert "# DUP002 proxy:smtp:help@contoso.com: José yields" in path.read_text()


def test_the_ldif_writes_non_ascii_values_as_base64_as_ldifde_does_and_reads_back(tmp_path):
    path = tmp_path / "fix.ldf"
    text = render_ldif([REMOVE_FROM_JOSE, PURGE_OLD_GROUP], WHY, ["snapshot:t.json"])
    path.write_text(text, encoding="utf-8")
    assert text.isascii()
    assert "dn:: " in text and "proxyAddresses: smtp:help@contoso.com" in text
    (change,) = ldif.load(str(path), {}).changes
    assert (change.op, change.directory, change.target) == (
        "update", "ad", Target("distinguishedName", "CN=José Núñez,OU=Staff,DC=contoso,DC=com"),
    )  # fmt: skip
    assert set(change.remove["proxyAddresses"]) == {"smtp:josé.support@contoso.com", "smtp:help@contoso.com"}


def test_entra_changes_are_listed_in_the_ldif_as_comments_only(tmp_path):
    text = render_ldif([PURGE_OLD_GROUP], {}, ["graph"])
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert body == ["version: 1"]
    assert "purge soft-deleted group Old Projects from Entra ID" in text
