"""LDIF change files as ldifde writes them: what each record does to AD, and the line of every mistake."""

from __future__ import annotations

import base64
import codecs
import uuid
from pathlib import Path

import pytest

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Location, Target
from dupfix_policy.plans import ldif

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
BOB = "CN=Bob Jones,OU=Staff,DC=contoso,DC=com"


def write(tmp_path: Path, text: str | bytes, name: str = "changes.ldf") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def load(path: str | Path):
    return ldif.load(str(path), {})


def only_change(tmp_path: Path, text: str):
    (change,) = load(write(tmp_path, text)).changes
    return change


def error_of(tmp_path: Path, text: str | bytes) -> UserInputError:
    with pytest.raises(UserInputError) as exc:
        load(write(tmp_path, text))
    return exc.value


# --- what records mean ---------------------------------------------------------------------------


def test_add_record_is_a_create_in_ad_named_by_its_dn():
    hana = load(FIXTURES / "ldifde.ldf").changes[0]
    assert (hana.op, hana.kind, hana.directory) == ("create", "user", "ad")
    assert hana.set["distinguishedName"] == "CN=Hana Sato,OU=Staff,DC=contoso,DC=com"
    assert hana.set["proxyAddresses"] == ("SMTP:hana.sato@contoso.com", "smtp:hsato@contoso.com")


def test_base64_value_is_decoded_as_utf8():
    hana = load(FIXTURES / "ldifde.ldf").changes[0]
    assert hana.set["displayName"] == "佐藤 花"


def test_folded_line_continues_the_value_without_its_leading_space():
    hana = load(FIXTURES / "ldifde.ldf").changes[0]
    assert hana.set["description"].endswith("APAC expansion; mailbox licensed on day one")


def test_modify_blocks_become_add_and_remove_on_the_target_dn():
    megan = load(FIXTURES / "ldifde.ldf").changes[2]
    assert (megan.op, megan.target) == ("update", Target("distinguishedName", "CN=Megan Khan,OU=Staff,DC=contoso,DC=com"))
    assert megan.add == {"proxyAddresses": ("smtp:support@contoso.com",)}
    assert megan.remove == {"proxyAddresses": ("smtp:megank@contoso.com",)}


def test_replace_of_a_single_valued_attribute_sets_it(tmp_path):
    change = only_change(tmp_path, f"dn: {BOB}\nchangetype: modify\nreplace: userPrincipalName\nuserPrincipalName: robert@contoso.com\n-\n")
    assert change.set == {"userPrincipalName": "robert@contoso.com"}


def test_replace_of_proxy_addresses_sets_the_whole_list(tmp_path):
    change = only_change(tmp_path, f"dn: {BOB}\nchangetype: modify\nreplace: proxyAddresses\n"
                                   "proxyAddresses: SMTP:bob@contoso.com\nproxyAddresses: smtp:rj@contoso.com\n-\n")
    assert change.set == {"proxyAddresses": ("SMTP:bob@contoso.com", "smtp:rj@contoso.com")}


def test_delete_block_without_values_clears_the_attribute(tmp_path):
    change = only_change(tmp_path, f"dn: {BOB}\nchangetype: modify\ndelete: mail\n-\n")
    assert change.set == {"mail": None}


def test_delete_record_deletes_by_dn():
    delete = load(FIXTURES / "ldifde.ldf").changes[3]
    assert (delete.op, delete.target) == ("delete", Target("distinguishedName", "CN=Megan Young,OU=Staff,DC=contoso,DC=com"))


def test_moddn_renames_and_moves_the_object():
    move = load(FIXTURES / "ldifde.ldf").changes[4]
    assert move.op == "update"
    assert move.set == {"distinguishedName": "CN=Adele Khan-Smith,OU=Managers,DC=contoso,DC=com"}


def test_modrdn_without_newsuperior_keeps_the_parent(tmp_path):
    change = only_change(tmp_path, f"dn: {BOB}\nchangetype: modrdn\nnewrdn: CN=Robert Jones\ndeleteoldrdn: 1\n")
    assert change.set == {"distinguishedName": "CN=Robert Jones,OU=Staff,DC=contoso,DC=com"}


def test_record_without_changetype_is_an_add(tmp_path):
    change = only_change(tmp_path, f"dn: {BOB}\nobjectClass: user\nuserPrincipalName: bob@contoso.com\n")
    assert change.op == "create"


def test_base64_dn_and_binary_guid_are_read(tmp_path):
    dn = base64.b64encode("CN=Zoë,OU=Staff,DC=contoso,DC=com".encode()).decode()
    guid = "02421913-e80a-5e4c-8fff-8a9fee273e7f"
    raw = base64.b64encode(uuid.UUID(guid).bytes_le).decode()
    change = only_change(tmp_path, f"dn:: {dn}\nobjectClass: user\nobjectGUID:: {raw}\nsAMAccountName: zoe\n")
    assert change.set["distinguishedName"] == "CN=Zoë,OU=Staff,DC=contoso,DC=com"
    assert change.set["objectGUID"] == guid


def test_computer_is_skipped_with_a_note():
    plan = load(FIXTURES / "ldifde.ldf")
    assert all("TOKYO-WS" not in str(c.set.get("distinguishedName")) for c in plan.changes)
    assert any("skipped CN=TOKYO-WS-0042" in n for n in plan.notes)


def test_ldifde_unicode_export_is_utf16_with_crlf():
    (zoe,) = load(FIXTURES / "ldifde-unicode.ldf").changes
    assert zoe.set["displayName"] == "Zoë Åberg"
    assert zoe.location.line == 4


def test_every_value_points_at_its_own_line():
    brian = load(FIXTURES / "ldifde.ldf").changes[1]
    path = str(FIXTURES / "ldifde.ldf")
    assert brian.location == Location(path, 23, 1)
    assert brian.location_of("proxyAddresses", "smtp:sales@contoso.com") == Location(path, 26, 1)


def test_comments_and_version_line_are_not_records(tmp_path):
    plan = load(write(tmp_path, f"# header\nversion: 1\n\n# about bob\ndn: {BOB}\nchangetype: delete\n"))
    assert [c.op for c in plan.changes] == ["delete"]


def test_schema_changetypes_are_skipped_with_a_note(tmp_path):
    plan = load(write(tmp_path, f"dn: CN=x,CN=Schema,CN=Configuration,DC=contoso,DC=com\nchangetype: ntdsSchemaModify\n"
                                f"replace: x\nx: 1\n-\n\ndn: {BOB}\nchangetype: delete\n"))
    assert len(plan.changes) == 1 and "schema change" in plan.notes[0]


def test_split_dn_respects_escaped_commas():
    assert ldif.split_dn("CN=Smith\\, Bob,OU=Staff,DC=contoso,DC=com") == ("CN=Smith\\, Bob", "OU=Staff,DC=contoso,DC=com")


# --- mistakes -------------------------------------------------------------------------------


def test_modify_block_without_dash_before_the_next_block_is_an_error(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nchangetype: modify\nadd: proxyAddresses\nproxyAddresses: smtp:a@contoso.com\n"
                             "replace: mail\nmail: a@contoso.com\n-\n")
    assert err.location is not None and err.location.line == 5
    assert "`replace:` starts a new block, but the `add: proxyAddresses` block (line 3) is not closed with `-`" in err.message


def test_modify_block_without_dash_at_the_end_is_an_error(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nchangetype: modify\nadd: proxyAddresses\nproxyAddresses: smtp:a@contoso.com\n")
    assert err.location is not None and err.location.line == 3
    assert "not closed with a `-` line" in err.message


def test_broken_base64_points_at_the_value(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nobjectClass: user\nproxyAddresses:: c210cDp!!notbase64\n")
    assert err.location is not None and (err.location.line, err.location.column) == (3, 18)
    assert "not valid base64" in err.message


def test_line_without_a_colon_is_an_error(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nobjectClass: user\nthis line is not ldif\n")
    assert err.location is not None and err.location.line == 3
    assert "expected `attribute: value`" in err.message


def test_record_not_starting_with_dn_is_an_error(tmp_path):
    err = error_of(tmp_path, "objectClass: user\nuserPrincipalName: a@contoso.com\n")
    assert err.location is not None and err.location.line == 1
    assert "must start with `dn:`" in err.message


def test_unknown_changetype_is_an_error(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nchangetype: rename\n")
    assert err.location is not None and err.location.line == 2


def test_unsupported_version_is_an_error(tmp_path):
    err = error_of(tmp_path, f"version: 2\n\ndn: {BOB}\nchangetype: delete\n")
    assert err.location is not None and err.location.line == 1


def test_dash_outside_a_modify_is_an_error(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nobjectClass: user\n-\n")
    assert "belongs only in `changetype: modify`" in err.message


def test_continuation_line_with_nothing_to_continue_is_an_error(tmp_path):
    err = error_of(tmp_path, f" dn: {BOB}\nchangetype: delete\n")
    assert err.location is not None and err.location.line == 1


def test_add_without_object_class_is_an_error(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nchangetype: add\nuserPrincipalName: bob@contoso.com\n")
    assert "needs objectClass" in err.message


def test_moddn_without_deleteoldrdn_is_an_error(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nchangetype: moddn\nnewrdn: CN=Robert\n")
    assert "deleteoldrdn" in err.message


def test_two_upns_in_one_add_is_an_error(tmp_path):
    err = error_of(tmp_path, f"dn: {BOB}\nobjectClass: user\nuserPrincipalName: a@contoso.com\nuserPrincipalName: b@contoso.com\n")
    assert err.location is not None and err.location.line == 4


def test_utf16_file_with_a_broken_bom_body_is_an_error(tmp_path):
    err = error_of(tmp_path, codecs.BOM_UTF16_LE + b"d\x00n\x00:\x00\x00\xd8")
    assert err.location is not None and err.location.path.endswith("changes.ldf")


# --- detection ------------------------------------------------------------------------------


def test_ldf_and_ldif_extensions_are_ldif():
    assert ldif.detect("export.ldf", b"") and ldif.detect("export.LDIF", b"")


def test_a_txt_file_starting_with_dn_is_ldif():
    assert ldif.detect("changes.txt", b"# ldifde export\nversion: 1\n\ndn: CN=x,DC=contoso,DC=com\n")
    assert not ldif.detect("notes.txt", b"meeting notes\n")


def test_a_record_cut_by_a_blank_line_names_the_blank_line_and_says_the_record_ended_there():
    path = Path(__file__).parent / "fixtures" / "plans" / "ldif-cut" / "modify-cut-by-blank-line.ldf"
    with pytest.raises(UserInputError) as exc:
        ldif.load(str(path))
    err = exc.value
    assert err.location is not None and err.location.line == 6  # the blank line
    assert "line 7 ('mail: quinn.ortega@contoso.com') continues the record that starts at line 3" in err.message
    assert "the blank line at line 6 ended that record there" in err.message
    assert "delete the blank line" in (err.hint or "")


def test_a_file_that_does_not_start_with_dn_still_says_a_record_must_start_with_dn(tmp_path):
    path = tmp_path / "x.ldf"
    path.write_text("mail: quinn@contoso.com\n", encoding="utf-8")
    with pytest.raises(UserInputError) as exc:
        ldif.load(str(path))
    assert "must start with `dn:`" in exc.value.message
