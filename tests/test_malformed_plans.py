"""A plan dupfix can't read fully is exit 2 (or a note saying what went unchecked), never skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dupfix_policy import cli
from dupfix_policy.errors import UserInputError
from dupfix_policy.plans import ldif, onprem_csv, terraform

ROOT = Path(__file__).resolve().parents[1]
TF_PLAN = ROOT / "examples" / "plans" / "formats" / "duplicates" / "terraform" / "plan.json"
DN = '"CN=Ann,OU=Staff,DC=contoso,DC=com"'


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "import.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("header", ["UPN", "Email Address", "SMTP", "User logon name", "E-mail", "Proxy"])
def test_csvde_header_that_looks_like_an_address_but_is_not_mapped_is_exit_2(tmp_path, header) -> None:
    path = _csv(tmp_path, f"DN,sAMAccountName,{header}\n{DN},ann,ann@contoso.com\n")
    with pytest.raises(UserInputError, match="columnMappings") as caught:  # "looks like", or "did you mean"
        onprem_csv.load(str(path), {})
    assert caught.value.location is not None and caught.value.location.line == 1


def test_csvde_address_like_header_mapped_in_the_config_is_read_as_that_attribute(tmp_path) -> None:
    path = _csv(tmp_path, f"DN,sAMAccountName,UPN\n{DN},ann,ann@contoso.com\n")
    plan = onprem_csv.load(str(path), {"column_mappings": {"csv": {"UPN": "userPrincipalName"}}})
    assert plan.changes[0].set["userPrincipalName"] == "ann@contoso.com"


def test_real_ad_attribute_names_with_mail_words_are_carried(tmp_path) -> None:
    path = _csv(tmp_path, f"DN,sAMAccountName,msExchMailboxGuid,msRTCSIP-PrimaryUserAddress\n{DN},ann,x,sip:a@b\n")
    assert onprem_csv.load(str(path), {}).changes[0].set["msExchMailboxGuid"] == "x"


def test_csvde_values_point_at_their_cells(tmp_path) -> None:
    path = _csv(tmp_path, f"DN,sAMAccountName,proxyAddresses\n{DN},ann,SMTP:ann@contoso.com;smtp:a@contoso.com\n")
    change = onprem_csv.load(str(path), {}).changes[0]
    where = change.value_locations[("proxyAddresses", "smtp:a@contoso.com")]
    assert (where.line, where.column) == (2, len(DN) + 6)
    assert ("proxyAddresses", "smtp:other@contoso.com") not in change.value_locations


def _ldif(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "change.ldf"
    path.write_text(body, encoding="utf-8")
    return path


def test_ldif_attribute_named_by_oid_is_read_as_its_name(tmp_path) -> None:
    path = _ldif(tmp_path, "dn: CN=Ann,OU=Staff,DC=contoso,DC=com\nchangetype: add\n2.5.4.0: user\n"
                           "1.2.840.113556.1.4.656: ann@contoso.com\n1.2.840.113556.1.2.210: SMTP:ann@contoso.com\n")  # fmt: skip
    change = ldif.load(str(path), {}).changes[0]
    assert change.set["userPrincipalName"] == "ann@contoso.com"
    assert change.set["proxyAddresses"] == ("SMTP:ann@contoso.com",)


def test_ldif_modify_block_naming_its_attribute_by_oid_is_read_as_its_name(tmp_path) -> None:
    path = _ldif(tmp_path, "dn: CN=Ann,OU=Staff,DC=contoso,DC=com\nchangetype: modify\n"
                           "add: 1.2.840.113556.1.2.210\n1.2.840.113556.1.2.210: smtp:a@contoso.com\n-\n")  # fmt: skip
    assert ldif.load(str(path), {}).changes[0].add["proxyAddresses"] == ("smtp:a@contoso.com",)


def test_ldif_unknown_oid_is_carried_with_a_note(tmp_path) -> None:
    path = _ldif(tmp_path, "dn: CN=Ann,OU=Staff,DC=contoso,DC=com\nchangetype: add\nobjectClass: user\n"
                           "userPrincipalName: ann@contoso.com\n1.3.6.1.4.1.99999.1: x\n")  # fmt: skip
    plan = ldif.load(str(path), {})
    assert any("1.3.6.1.4.1.99999.1" in n and "unchecked" in n for n in plan.notes)


def _tf(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    data = json.loads(TF_PLAN.read_text(encoding="utf-8"))
    managed = next(rc for rc in data["resource_changes"] if rc.get("mode") == "managed")
    edit(managed)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("field", ["type", "mode"])
def test_terraform_resource_with_a_wrongly_typed_type_or_mode_is_exit_2(tmp_path, field) -> None:
    path = _tf(tmp_path, lambda rc: rc.__setitem__(field, [rc[field]]))
    with pytest.raises(UserInputError, match="must be strings"):
        terraform.load(str(path), {})


def test_terraform_resource_whose_values_are_all_unknown_is_a_note(tmp_path) -> None:
    path = _tf(tmp_path, lambda rc: rc["change"].__setitem__("after_unknown", True))
    plan = terraform.load(str(path), {})
    assert any("after_unknown: true" in n for n in plan.notes)


def test_terraform_note_reaches_the_report(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    path = _tf(tmp_path, lambda rc: rc["change"].__setitem__("after_unknown", True))
    cli.main(["check", str(path), "--source", "none", "--format", "json", "--fail-on", "never"])
    assert any("after_unknown: true" in n for n in json.loads(capsys.readouterr().out)["notes"])
