"""Entra admin center bulk CSVs: what each template's rows mean, read the way the portal reads them."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Location, Target
from dupfix_policy.plans import entra_csv

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
CREATE_HEADER = (
    "Name [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required,"
    "Block sign in (Yes/No) [accountEnabled] Required,First name [givenName]"
)


def write(tmp_path: Path, text: str | bytes, name: str = "users.csv") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def load(path: str | Path, options: dict | None = None):
    return entra_csv.load(str(path), options or {})


def error_of(path: str) -> UserInputError:
    with pytest.raises(UserInputError) as exc:
        load(path)
    return exc.value


# --- bulk create ---------------------------------------------------------------------------------


def test_bulk_create_row_is_a_create_user_in_entra_keyed_on_bracketed_tokens():
    plan = load(FIXTURES / "entra-bulk-create.csv")
    aiko = plan.changes[0]
    assert (aiko.op, aiko.kind, aiko.directory) == ("create", "user", "entra")
    assert aiko.set["userPrincipalName"] == "aiko.tanaka@contoso.com"
    assert aiko.set["displayName"] == "Aiko Tanaka"
    assert aiko.set["department"] == "Finance"


def test_template_example_row_is_skipped_with_a_note():
    plan = load(FIXTURES / "entra-bulk-create.csv")
    assert "chris@contoso.com" not in {c.set.get("userPrincipalName") for c in plan.changes}
    assert any(":3: skipped the bulk create template's example row" in n for n in plan.notes)


def test_excel_trailing_commas_on_the_version_row_and_rows_are_accepted(tmp_path):
    path = write(tmp_path, f"version:v1.0,,,,,,\n{CREATE_HEADER},,\nKim Lee,kim.lee@contoso.com,pw,No,Kim,,\n")
    assert load(path).changes[0].set["userPrincipalName"] == "kim.lee@contoso.com"


def test_initial_password_is_never_read_into_the_plan():
    plan = load(FIXTURES / "entra-bulk-create.csv")
    everything = repr([(c.set, c.value_locations) for c in plan.changes])
    assert "Welcome-2026" not in everything
    assert all("passwordProfile" not in c.set for c in plan.changes)


def test_block_sign_in_yes_means_the_account_is_not_enabled():
    plan = load(FIXTURES / "entra-bulk-create.csv")
    by_upn = {c.set["userPrincipalName"]: c for c in plan.changes}
    assert by_upn["omar.haddad@contoso.com"].set["accountEnabled"] is False
    assert by_upn["aiko.tanaka@contoso.com"].set["accountEnabled"] is True


def test_quoted_cell_with_a_comma_stays_one_value():
    plan = load(FIXTURES / "entra-bulk-create.csv")
    omar = next(c for c in plan.changes if c.set["userPrincipalName"] == "omar.haddad@contoso.com")
    assert omar.set["displayName"] == "Haddad, Omar"
    assert omar.set["department"] == "Sales, EMEA"


def test_each_value_points_at_its_own_cell():
    plan = load(FIXTURES / "entra-bulk-create.csv")
    megan = plan.changes[1]
    path = str(FIXTURES / "entra-bulk-create.csv")
    assert megan.location == Location(path, 5, 1)
    assert megan.location_of("userPrincipalName", "megan.vance@contoso.com") == Location(path, 5, 13)


def test_older_template_headings_with_examples_and_stars_are_keyed_on_the_token(tmp_path):
    header = "Name (example: Chris Green) [displayName] *,User name (example: chris@contoso.com) [userPrincipalName] *"
    path = write(tmp_path, f"version:v1.0,\n{header}\nKim Lee,kim.lee@contoso.com\n")
    assert load(path).changes[0].set == {"displayName": "Kim Lee", "userPrincipalName": "kim.lee@contoso.com"}


def test_semicolon_separated_export_from_excel_is_sniffed(tmp_path):
    path = write(tmp_path, f"version:v1.0;;;\n{CREATE_HEADER.replace(',', ';')}\nKim Lee;kim.lee@contoso.com;pw;No;Kim\n")
    assert load(path).changes[0].set["givenName"] == "Kim"


def test_utf16_unicode_text_from_excel_is_read(tmp_path):
    text = f"version:v1.0\r\n{CREATE_HEADER.replace(',', chr(9))}\r\nZoë Åberg\tzoe.aberg@contoso.com\tpw\tNo\tZoë\r\n"
    path = write(tmp_path, codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "users.txt")
    assert load(path).changes[0].set["displayName"] == "Zoë Åberg"


def test_utf8_with_bom_is_read(tmp_path):
    path = write(tmp_path, codecs.BOM_UTF8 + f"version:v1.0\n{CREATE_HEADER}\nKim,kim@contoso.com,pw,No,Kim\n".encode())
    assert load(path).changes[0].set["userPrincipalName"] == "kim@contoso.com"


def test_blank_rows_are_ignored(tmp_path):
    path = write(tmp_path, f"version:v1.0\n{CREATE_HEADER}\n,,,,\nKim,kim@contoso.com,pw,No,Kim\n\n")
    assert len(load(path).changes) == 1


# --- bulk invite, delete, restore ------------------------------------------------------------


def test_invited_email_becomes_the_guests_predicted_primary_smtp_address():
    plan = load(FIXTURES / "entra-bulk-invite.csv")
    maria = plan.changes[0]
    assert (maria.op, maria.kind, maria.set["userType"]) == ("create", "user", "Guest")
    assert maria.predicted == {"proxyAddresses": ("SMTP:maria.silva@woodgrove.com",)}
    assert "proxyAddresses" not in maria.set


def test_invite_message_with_a_quoted_newline_keeps_the_next_row_in_place():
    plan = load(FIXTURES / "entra-bulk-invite.csv")
    partner = plan.changes[1]
    assert partner.predicted["proxyAddresses"] == ("SMTP:partner@fabrikam.com",)
    assert partner.location.line == 5


def test_bulk_delete_deletes_users_by_upn():
    (jon,) = load(FIXTURES / "entra-bulk-delete.csv").changes
    assert (jon.op, jon.kind, jon.target) == ("delete", "user", Target("userPrincipalName", "jon@contoso.com"))


def test_bulk_restore_restores_by_object_id_without_a_version_row():
    (olivia,) = load(FIXTURES / "entra-bulk-restore.csv").changes
    assert (olivia.op, olivia.target) == ("restore", Target("id", "e31964ff-cf0f-5e80-a379-b0e19e2a3dc0"))


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["entra-bulk-create.csv", "entra-bulk-invite.csv", "entra-bulk-delete.csv",
                                  "entra-bulk-restore.csv"])
def test_each_template_is_recognised_by_its_headings(name):
    path = FIXTURES / name
    assert entra_csv.detect(str(path), path.read_bytes()[:4096])


def test_group_member_import_template_is_not_claimed():
    head = b"version:v1.0\nMember object ID or user principal name [memberObjectIdOrUpn] Required\n"
    assert not entra_csv.detect("members.csv", head)


def test_csvde_file_is_not_claimed():
    path = FIXTURES / "csvde.csv"
    assert not entra_csv.detect(str(path), path.read_bytes())


# --- mistakes -------------------------------------------------------------------------------


def test_unsupported_template_version_names_the_version_row(tmp_path):
    err = error_of(write(tmp_path, f"version:v2.0\n{CREATE_HEADER}\nKim,kim@contoso.com,pw,No,Kim\n"))
    assert err.location == Location(err.location.path, 1, 1)
    assert "v2.0 is not supported" in err.message


def test_row_with_too_many_columns_points_at_the_extra_value(tmp_path):
    err = error_of(write(tmp_path, f"version:v1.0\n{CREATE_HEADER}\nSmith, Bob,bob@contoso.com,pw,No,Bob\n"))
    assert err.location is not None and (err.location.line, err.location.column) == (3, 34)
    assert "6 values but the header (line 2) names 5 columns" in err.message


def test_empty_user_name_is_an_error_at_its_cell(tmp_path):
    err = error_of(write(tmp_path, f"version:v1.0\n{CREATE_HEADER}\nKim,,pw,No,Kim\n"))
    assert err.location is not None and (err.location.line, err.location.column) == (3, 5)
    assert "User name [userPrincipalName] Required` is empty" in err.message


def test_block_sign_in_must_be_yes_or_no(tmp_path):
    err = error_of(write(tmp_path, f"version:v1.0\n{CREATE_HEADER}\nKim,kim@contoso.com,pw,Maybe,Kim\n"))
    assert "must be Yes or No (found 'Maybe')" in err.message


def test_unclosed_quote_points_at_where_it_opened(tmp_path):
    err = error_of(write(tmp_path, f'version:v1.0\n{CREATE_HEADER}\n"Kim,kim@contoso.com,pw,No,Kim\n'))
    assert err.location is not None and (err.location.line, err.location.column) == (3, 1)
    assert "never closed" in err.message


def test_headings_without_a_known_token_are_not_a_template(tmp_path):
    err = error_of(write(tmp_path, "version:v1.0\nName,User name\nKim,kim@contoso.com\n"))
    assert err.location is not None and err.location.line == 2
    assert "no supported Entra bulk template" in err.message


def test_template_with_no_rows_is_an_error(tmp_path):
    err = error_of(write(tmp_path, f"version:v1.0\n{CREATE_HEADER}\n"))
    assert "has no rows" in err.message


def test_a_file_that_is_not_utf8_names_the_byte_and_the_way_out(tmp_path):
    err = error_of(write(tmp_path, f"version:v1.0\n{CREATE_HEADER}\n".encode() + "Jörg,j@contoso.com,p,No,J\n".encode("cp1252")))
    assert err.location is not None and err.location.line == 3
    assert "not UTF-8" in err.message


def test_configured_encoding_reads_an_ansi_export(tmp_path):
    raw = f"version:v1.0\n{CREATE_HEADER}\n".encode() + "Jörg,joerg@contoso.com,p,No,Jörg\n".encode("cp1252")
    plan = load(write(tmp_path, raw), {"csv": {"encoding": "cp1252"}})
    assert plan.changes[0].set["givenName"] == "Jörg"


# --- templates as people save them (fixtures/plans/entra-templates) -----------------------------------

TEMPLATES = FIXTURES / "entra-templates"


@pytest.mark.parametrize(
    ("name", "kind", "ops"),
    [("invite-with-example.csv", "bulk invite", ["create"]), ("delete-with-example.csv", "bulk delete", ["delete"]),
     ("restore-with-example.csv", "bulk restore", ["restore"])],
)  # fmt: skip
def test_the_example_row_left_in_any_template_is_a_note_not_a_change(name, kind, ops):
    plan = load(TEMPLATES / name)
    assert [c.op for c in plan.changes] == ops
    assert "Example" not in repr([c.target for c in plan.changes]) + repr([c.predicted for c in plan.changes])
    assert any(f"{name}:3: skipped the {kind} template's example row" in n for n in plan.notes)


def test_a_template_holding_only_its_example_row_is_empty_with_a_note_not_a_broken_file():
    plan = load(TEMPLATES / "create-example-only.csv")
    assert plan.changes == ()
    assert any("holds only the template's example row" in n for n in plan.notes)


def test_spaces_around_a_bulk_create_user_name_are_an_error_at_that_cell():
    err = error_of(str(TEMPLATES / "create-upn-with-spaces.csv"))
    assert "'quinn.ortega@contoso.com' has spaces around it" in err.message
    assert err.location is not None and (err.location.line, err.location.column) == (3, 14)
    assert err.field == "userPrincipalName" and "delete the spaces" in (err.hint or "")


def test_spaces_around_a_bulk_delete_user_name_are_trimmed_only_bulk_create_is_documented_to_refuse_them(tmp_path):
    (gone,) = load(write(tmp_path, "version:v1.0\nUser name [userPrincipalName] Required\n sven@contoso.com \n")).changes
    assert gone.target == Target("userPrincipalName", "sven@contoso.com")
