"""On-prem import CSVs (csvde, New-ADUser scripts): every row a create in AD, columns mapped to attributes."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
import yaml

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Location
from dupfix_policy.plans import onprem_csv

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
MAPPED_CONFIG = yaml.safe_load((FIXTURES / "new-aduser-mapped.dupfix.yaml").read_text(encoding="utf-8"))
MAPPED_OPTIONS = {"csv": MAPPED_CONFIG["csv"], "column_mappings": MAPPED_CONFIG["columnMappings"]}


def write(tmp_path: Path, text: str | bytes, name: str = "import.csv") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def load(path: str | Path, options: dict | None = None):
    return onprem_csv.load(str(path), options or {})


def error_of(path: str, options: dict | None = None) -> UserInputError:
    with pytest.raises(UserInputError) as exc:
        load(path, options)
    return exc.value


# --- csvde ----------------------------------------------------------------------------------------


def test_csvde_row_is_a_create_in_ad_with_its_dn():
    nadia = load(FIXTURES / "csvde.csv").changes[0]
    assert (nadia.op, nadia.kind, nadia.directory) == ("create", "user", "ad")
    assert nadia.set["distinguishedName"] == "CN=Nadia Rahman,OU=Staff,DC=contoso,DC=com"
    assert nadia.set["sAMAccountName"] == "nrahman"


def test_semicolon_separated_proxy_addresses_are_one_value_each():
    nadia = load(FIXTURES / "csvde.csv").changes[0]
    assert nadia.set["proxyAddresses"] == ("SMTP:nadia.rahman@contoso.com", "smtp:nadia@contoso.com")


def test_object_class_group_makes_a_group():
    group = load(FIXTURES / "csvde.csv").changes[2]
    assert (group.kind, group.set["mail"]) == ("group", "emea-partners@contoso.com")


def test_each_proxy_address_points_at_its_cell():
    victor = load(FIXTURES / "csvde.csv").changes[1]
    path = str(FIXTURES / "csvde.csv")
    assert victor.location_of("proxyAddresses", "smtp:hr@contoso.com") == Location(path, 3, 133)
    assert victor.location_of("sAMAccountName", "meganvance") == Location(path, 3, 50)


def test_ldap_header_names_are_case_insensitive(tmp_path):
    path = write(tmp_path, "dn,OBJECTCLASS,samaccountname,USERPRINCIPALNAME\n\"CN=Kim,OU=Staff,DC=contoso,DC=com\",user,kim,kim@contoso.com\n")
    assert load(path).changes[0].set == {
        "distinguishedName": "CN=Kim,OU=Staff,DC=contoso,DC=com",
        "sAMAccountName": "kim",
        "userPrincipalName": "kim@contoso.com",
    }


def test_computers_and_ous_are_skipped_with_a_note(tmp_path):
    path = write(tmp_path, "DN,objectClass,sAMAccountName\n"
                           "\"CN=WS1,OU=PCs,DC=contoso,DC=com\",computer,WS1$\n"
                           "\"CN=Kim,OU=Staff,DC=contoso,DC=com\",user,kim\n")
    plan = load(path)
    assert [c.set["sAMAccountName"] for c in plan.changes] == ["kim"]
    assert any("skipped a computer" in n for n in plan.notes)


# --- New-ADUser scripts -----------------------------------------------------------------------


def test_new_aduser_parameter_names_need_no_mapping():
    ines = load(FIXTURES / "new-aduser.csv").changes[0]
    assert ines.set["sAMAccountName"] == "imoreau"
    assert ines.set["mail"] == "ines.moreau@contoso.com"
    assert ines.set["surname"] == "Moreau"


def test_name_and_path_make_the_dn_so_samaccountname_is_checked_in_its_domain():
    brian = load(FIXTURES / "new-aduser.csv").changes[1]
    assert brian.set["distinguishedName"] == "CN=Brian Vance (2),OU=Staff,DC=contoso,DC=com"


def test_name_with_a_comma_is_escaped_in_the_dn(tmp_path):
    path = write(tmp_path, 'Name,SamAccountName,Path\n"Smith, Bob",bsmith,"OU=Staff,DC=contoso,DC=com"\n')
    assert load(path).changes[0].set["distinguishedName"] == "CN=Smith\\, Bob,OU=Staff,DC=contoso,DC=com"


def test_password_column_is_never_read():
    plan = load(FIXTURES / "new-aduser.csv")
    assert "Welcome-2026" not in repr([(c.set, c.value_locations) for c in plan.changes])


def test_column_mapping_from_the_config_reads_a_scripts_own_headers():
    jonas = load(FIXTURES / "new-aduser-mapped.csv", MAPPED_OPTIONS).changes[0]
    assert jonas.set["sAMAccountName"] == "jbecker"
    assert jonas.set["mail"] == "jonas.becker@contoso.com"
    assert jonas.set["distinguishedName"] == "CN=Jonas Becker,OU=Staff,DC=contoso,DC=com"


def test_configured_separators_split_columns_and_values():
    jonas = load(FIXTURES / "new-aduser-mapped.csv", MAPPED_OPTIONS).changes[0]
    assert jonas.set["proxyAddresses"] == ("smtp:jonas@contoso.com", "smtp:j.becker@contoso.com")


def test_a_password_column_stays_unread_when_mapped():
    plan = load(FIXTURES / "new-aduser-mapped.csv", MAPPED_OPTIONS)
    assert "Willkommen" not in repr([c.set for c in plan.changes])


def test_near_miss_column_asks_for_a_mapping(tmp_path):
    err = error_of(write(tmp_path, "SamAccountName,Email\nkim,kim@contoso.com\n"))
    assert err.location is not None and (err.location.line, err.location.column) == (1, 16)
    assert "did you mean mail?" in err.message
    assert "columnMappings" in (err.hint or "")


def test_mapping_a_near_miss_column_to_any_name_accepts_it(tmp_path):
    path = write(tmp_path, "SamAccountName,Email\nkim,kim@contoso.com\n")
    assert load(path, {"column_mappings": {"csv": {"Email": "mail"}}}).changes[0].set["mail"] == "kim@contoso.com"


def test_spaced_attribute_names_are_read_as_the_attribute(tmp_path):
    path = write(tmp_path, "SamAccountName,User Principal Name\nkim,kim@contoso.com\n")
    assert load(path).changes[0].set["userPrincipalName"] == "kim@contoso.com"


# --- encodings and shapes ---------------------------------------------------------------------


def test_excel_unicode_text_is_utf16_and_tab_separated():
    plan = load(FIXTURES / "excel-unicode.txt")
    assert [c.set["displayName"] for c in plan.changes] == ["Thomas Müller", "Sofía García"]


def test_utf16_without_a_bom_is_recognised(tmp_path):
    text = "sAMAccountName,userPrincipalName\r\nkim,kim@contoso.com\r\n"
    assert load(write(tmp_path, text.encode("utf-16-le"))).changes[0].set["sAMAccountName"] == "kim"


def test_utf8_bom_does_not_end_up_in_the_first_header(tmp_path):
    path = write(tmp_path, codecs.BOM_UTF8 + b"sAMAccountName,userPrincipalName\nkim,kim@contoso.com\n")
    assert load(path).changes[0].set["sAMAccountName"] == "kim"


def test_quoted_newline_inside_a_value_keeps_rows_and_lines_right(tmp_path):
    path = write(tmp_path, 'sAMAccountName,description,userPrincipalName\nkim,"two\nlines",kim@contoso.com\nlee,,lee@contoso.com\n')
    kim, lee = load(path).changes
    assert kim.set["description"] == "two\nlines"
    assert (kim.location.line, lee.location.line) == (2, 4)


def test_separator_tab_from_the_config_splits_on_tabs(tmp_path):
    path = write(tmp_path, "sAMAccountName\tdisplayName\tNotes, remarks, misc\nkim\tKim, Lee\tx\n", "import.tsv")
    assert load(path, {"csv": {"separator": "tab"}}).changes[0].set["displayName"] == "Kim, Lee"


def test_excel_sep_line_names_the_separator(tmp_path):
    path = write(tmp_path, "sep=|\nsAMAccountName|userPrincipalName\nkim|kim@contoso.com\n")
    assert load(path).changes[0].set["userPrincipalName"] == "kim@contoso.com"


# --- mistakes -------------------------------------------------------------------------------


def test_row_with_too_many_columns_is_an_error_at_the_extra_value(tmp_path):
    err = error_of(write(tmp_path, "sAMAccountName,userPrincipalName\nkim,kim@contoso.com,SMTP:kim@contoso.com\n"))
    assert err.location is not None and (err.location.line, err.location.column) == (2, 21)


def test_header_without_identity_columns_says_how_to_map(tmp_path):
    err = error_of(write(tmp_path, "Path,Department\nOU=x,Sales\n"))
    assert "no column names an identity attribute" in err.message
    assert err.location is not None and err.location.line == 1


def test_unknown_object_class_is_an_error(tmp_path):
    err = error_of(write(tmp_path, "DN,objectClass,sAMAccountName\n\"CN=P,DC=contoso,DC=com\",printer,p\n"))
    assert "objectClass printer is not a user, group or contact" in err.message
    assert err.location is not None and err.location.line == 2


def test_text_after_a_closing_quote_is_an_error(tmp_path):
    err = error_of(write(tmp_path, 'sAMAccountName,userPrincipalName\n"kim"x,kim@contoso.com\n'))
    assert err.location is not None and (err.location.line, err.location.column) == (2, 6)


def test_two_columns_read_as_one_attribute_is_an_error(tmp_path):
    err = error_of(write(tmp_path, "mail,EmailAddress,sAMAccountName\na@contoso.com,b@contoso.com,kim\n"))
    assert "two columns are read as mail" in err.message


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["csvde.csv", "new-aduser.csv", "excel-unicode.txt"])
def test_ad_imports_are_recognised_by_their_headers(name):
    path = FIXTURES / name
    assert onprem_csv.detect(str(path), path.read_bytes()[:4096])


def test_a_spreadsheet_without_ad_columns_is_not_claimed():
    assert not onprem_csv.detect("budget.csv", b"Quarter,Revenue,Cost\nQ1,10,5\n")
