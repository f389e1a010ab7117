"""Naming conventions (naming.py): which candidates `--suggest` tries, in which order."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from dupfix_policy.errors import UserInputError
from dupfix_policy.naming import (
    BATCHES,
    Convention,
    NameParts,
    candidates,
    convention_from_config,
    transliterate,
)
from dupfix_policy.schemas import load_schema


def first_batch(convention: Convention, attribute: str, parts: NameParts) -> list[str]:
    return list(candidates(convention, attribute, parts, BATCHES[0], first=True))


def test_without_a_convention_the_lowest_free_number_is_appended():
    got = first_batch(Convention(), "userPrincipalName", NameParts("jane.doe", "contoso.com"))
    assert got[:4] == ["jane.doe@contoso.com", "jane.doe2@contoso.com", "jane.doe3@contoso.com", "jane.doe4@contoso.com"]


def test_patterns_are_tried_in_order_and_a_pattern_without_a_name_is_skipped():
    convention = convention_from_config(
        {"upn": ["{given}.{sur}@{domain}", "{given}.{sur}{n}@{domain}", "{g}{sur}{n}@{domain}"]}
    )
    jane = NameParts("jdoe", "contoso.com", given="Jane", sur="Doe")
    got = first_batch(convention, "userPrincipalName", jane)
    assert got[:3] == ["jane.doe@contoso.com", "jane.doe2@contoso.com", "jane.doe3@contoso.com"]
    assert "jdoe@contoso.com" in got and "jdoe2@contoso.com" in got
    nameless = NameParts("svc-print", "contoso.com")  # no given name or surname: no candidates from names
    assert first_batch(convention, "userPrincipalName", nameless) == []


@pytest.mark.parametrize(
    ("name", "ascii"),
    [("Søren Ærø", "Soren AEro"), ("Strauß", "Strauss"), ("José Müller", "Jose Muller"), ("Łukasz", "Lukasz")],
)
def test_non_ascii_names_are_transliterated(name, ascii):
    assert transliterate(name) == ascii


def test_a_configured_transliteration_wins_over_dropping_the_diacritic():
    convention = convention_from_config({"upn": ["{given}.{sur}@{domain}"], "transliterate": {"ü": "ue"}})
    got = first_batch(convention, "userPrincipalName", NameParts("x", "contoso.com", "Jürgen", "Müller"))
    assert got == ["juergen.mueller@contoso.com"]


def test_sam_account_names_are_cut_to_twenty_characters_before_the_number():
    convention = convention_from_config({"sam": ["{given}{sur}{n}"]})
    parts = NameParts("x", given="Maximiliane", sur="Oberschwabenthaler")
    got = first_batch(convention, "sAMAccountName", parts)
    assert got[0] == "maximilianeoberschwa" and len(got[0]) == 20
    assert got[1] == "maximilianeoberschw2" and all(len(v) <= 20 for v in got)


def test_names_come_from_the_display_name_when_given_name_and_surname_are_missing():
    parts = NameParts.of({"displayName": "Hana Sato"}, "hsato", "contoso.com")
    assert (parts.given, parts.sur) == ("Hana", "Sato")


@pytest.mark.parametrize(
    ("naming", "message"),
    [
        ({"upn": ["{first}.{sur}@{domain}"]}, "unknown placeholder {first}"),
        ({"mailNickname": ["{given}@{domain}"]}, "has no @"),
    ],
)
def test_a_pattern_that_cannot_make_a_value_is_refused_naming_the_field(naming, message):
    with pytest.raises(UserInputError, match=message) as raised:
        convention_from_config(naming)
    assert "naming." in str(raised.value)


def test_the_config_schema_validates_the_naming_section():
    schema = load_schema("config")
    jsonschema.validate({"naming": {"upn": ["{given}.{sur}{n}@{domain}"], "sam": ["{g}{sur}{n}"]}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"naming": {"upn": ["{given}.{sur}"]}}, schema)  # an address needs an @
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"naming": {"givenName": ["{given}"]}}, schema)


def test_dupfix_schema_config_prints_the_naming_section():
    out = subprocess.run([sys.executable, "-m", "dupfix_policy", "schema", "config"], capture_output=True, text=True)
    assert "naming" in json.loads(out.stdout)["properties"]
