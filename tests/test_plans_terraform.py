"""Terraform plan JSON for the azuread provider: what each resource change means, and where it is written.

The plans here are written by hand from Terraform's JSON output format (format_version 1.2) and the
azuread provider's resource docs: Terraform cannot be installed where these tests run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import entra_obj, entra_user, only, run

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Location, Target
from dupfix_policy.plans import terraform

FIXTURES = Path(__file__).parent / "fixtures" / "plans" / "terraform"
BOB_ID = "f7755f73-7903-51b0-ba3f-3666fdd296ab"


def resource(address: str, actions: list[str], before: Any = None, after: Any = None, **extra: Any) -> dict:
    """One `resource_changes` entry as `terraform show -json` writes it."""
    parts = address.split(".")
    module = ".".join(parts[:-2]) if len(parts) > 2 else None
    rtype, name = parts[-2], parts[-1].split("[")[0]
    out: dict[str, Any] = {"address": address, "mode": "managed", "type": rtype, "name": name,
                           "provider_name": "registry.terraform.io/hashicorp/azuread",
                           "change": {"actions": actions, "before": before, "after": after,
                                      "after_unknown": extra.pop("after_unknown", {}),
                                      "before_sensitive": extra.pop("before_sensitive", {}),
                                      "after_sensitive": extra.pop("after_sensitive", {})}}
    if module:
        out["module_address"] = module
    out.update(extra)
    return out


def plan_json(*changes: dict, **top: Any) -> dict:
    return {"format_version": "1.2", "terraform_version": "1.9.8", "planned_values": {"root_module": {}},
            "resource_changes": list(changes), **top}


def write(tmp_path: Path, data: Any, name: str = "plan.json", *, one_line: bool = True) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=None if one_line else 2), "utf-8")
    return str(path)


def load(path: str | Path, options: dict | None = None):
    return terraform.load(str(path), options or {})


def changes_of(tmp_path: Path, *rcs: dict):
    return load(write(tmp_path, plan_json(*rcs))).changes


def error_of(path: str) -> UserInputError:
    with pytest.raises(UserInputError) as exc:
        load(path)
    return exc.value


NEW_USER = {"user_principal_name": "nina.park@contoso.com", "display_name": "Nina Park", "password": "S3cret-Pw!",
            "other_mails": None}
UNKNOWN = {"mail": True, "mail_nickname": True, "proxy_addresses": True, "object_id": True}


# --- azuread_user ---------------------------------------------------------------------------------


def test_user_create_predicts_the_primary_smtp_from_the_upn_when_no_mail_is_set(tmp_path):
    (nina,) = changes_of(tmp_path, resource("azuread_user.nina", ["create"], after=NEW_USER, after_unknown=UNKNOWN,
                                            after_sensitive={"password": True}))
    assert (nina.op, nina.kind, nina.directory, nina.ref) == ("create", "user", "entra", "azuread_user.nina")
    assert nina.set["userPrincipalName"] == "nina.park@contoso.com"
    assert nina.predicted == {"mailNickname": "nina.park", "proxyAddresses": ("SMTP:nina.park@contoso.com",)}


def test_user_create_with_mail_claims_the_mail_for_certain_not_as_a_prediction(tmp_path):
    after = dict(NEW_USER, mail="nina@contoso.com", mail_nickname="npark")
    (nina,) = changes_of(tmp_path, resource("azuread_user.nina", ["create"], after=after))
    assert (nina.set["mail"], nina.set["mailNickname"]) == ("nina@contoso.com", "npark")
    assert nina.predicted == {}


def test_other_mails_are_carried(tmp_path):
    after = dict(NEW_USER, other_mails=["nina@alumni.org"])
    (nina,) = changes_of(tmp_path, resource("azuread_user.nina", ["create"], after=after))
    assert nina.set["otherMails"] == ("nina@alumni.org",)


def test_password_is_never_read_into_the_plan(tmp_path):
    (nina,) = changes_of(tmp_path, resource("azuread_user.nina", ["create"], after=NEW_USER,
                                            after_sensitive={"password": True}))
    assert "S3cret" not in repr(nina)


def test_a_judged_value_marked_sensitive_is_left_unchecked_with_a_note(tmp_path):
    after = dict(NEW_USER, mail="secret.alias@contoso.com")
    plan = load(write(tmp_path, plan_json(resource("azuread_user.nina", ["create"], after=after,
                                                   after_sensitive={"password": True, "mail": True}))))
    assert "mail" not in plan.changes[0].set
    assert "secret.alias" not in repr(plan)
    assert any("mail is marked sensitive" in n for n in plan.notes)


def test_update_targets_the_before_object_id_and_sets_only_what_changed(tmp_path):
    before = {"object_id": BOB_ID, "user_principal_name": "bob@contoso.com", "mail": "bob@contoso.com",
              "display_name": "Bob"}
    after = dict(before, mail="robert@contoso.com")
    (bob,) = changes_of(tmp_path, resource("azuread_user.bob", ["update"], before, after))
    assert (bob.op, bob.target) == ("update", Target("id", BOB_ID))
    assert bob.set == {"mail": "robert@contoso.com"}


def test_azuread_3_resource_id_path_names_the_object(tmp_path):
    before = {"id": f"/users/{BOB_ID}", "user_principal_name": "bob@contoso.com"}
    (bob,) = changes_of(tmp_path, resource("azuread_user.bob", ["delete"], before, None))
    assert bob.target == Target("id", BOB_ID)


def test_replace_deletes_the_old_object_then_creates_the_new_one(tmp_path):
    before = {"object_id": BOB_ID, "user_principal_name": "bob@contoso.com"}
    old, new = changes_of(tmp_path, resource("azuread_user.bob", ["delete", "create"], before, NEW_USER))
    assert (old.op, old.target, new.op) == ("delete", Target("id", BOB_ID), "create")
    assert (old.index, new.index) == (0, 1)


def test_create_before_destroy_creates_first(tmp_path):
    before = {"object_id": BOB_ID, "user_principal_name": "bob@contoso.com"}
    ops = [c.op for c in changes_of(tmp_path, resource("azuread_user.bob", ["create", "delete"], before, NEW_USER))]
    assert ops == ["create", "delete"]


def test_module_for_each_instance_keeps_its_address_as_ref(tmp_path):
    rc = resource('module.staff.azuread_user.this["nina"]', ["create"], after=NEW_USER, index="nina")
    (nina,) = changes_of(tmp_path, rc)
    assert nina.ref == 'module.staff.azuread_user.this["nina"]'


def test_no_op_read_data_sources_and_other_providers_are_not_changes(tmp_path):
    data = dict(resource("azuread_domains.default", ["read"], after={}), mode="data")
    other = resource("azurerm_resource_group.rg", ["create"], after={"name": "rg"})
    noop = resource("azuread_user.bob", ["no-op"], {"object_id": BOB_ID}, {"object_id": BOB_ID})
    assert changes_of(tmp_path, data, other, noop) == ()


# --- azuread_group and azuread_invitation ---------------------------------------------------------


def test_group_arguments_become_graph_attributes(tmp_path):
    after = {"display_name": "Campaigns", "mail_enabled": True, "mail_nickname": "campaigns", "types": ["Unified"],
             "security_enabled": False}
    (group,) = changes_of(tmp_path, resource("azuread_group.campaigns", ["create"], after=after,
                                             after_unknown={"mail": True, "types": [False]}))
    assert group.kind == "group"
    assert group.set == {"displayName": "Campaigns", "mailEnabled": True, "mailNickname": "campaigns",
                         "groupTypes": ("Unified",), "securityEnabled": False}


def test_invitation_predicts_the_guests_smtp_address(tmp_path):
    after = {"user_email_address": "gwen@fabrikam.com", "redirect_url": "https://myapps.microsoft.com",
             "user_type": "Guest"}
    (gwen,) = changes_of(tmp_path, resource("azuread_invitation.gwen", ["create"], after=after))
    assert (gwen.kind, gwen.set) == ("user", {"userType": "Guest"})
    assert gwen.predicted == {"proxyAddresses": ("SMTP:gwen@fabrikam.com",)}


def test_deleting_an_invitation_deletes_the_invited_user(tmp_path):
    before = {"user_email_address": "gwen@fabrikam.com", "user_id": BOB_ID}
    (gone,) = changes_of(tmp_path, resource("azuread_invitation.gwen", ["delete"], before, None))
    assert (gone.op, gone.target) == ("delete", Target("id", BOB_ID))


# --- where findings point -------------------------------------------------------------------------


def test_without_tf_files_a_change_points_into_the_one_line_plan(tmp_path):
    rc = resource("azuread_user.nina", ["create"], after=NEW_USER)
    path = write(tmp_path, plan_json(rc))
    (nina,) = load(path).changes
    text = Path(path).read_text()
    assert nina.location == Location(path, 1, text.index('{"address": "azuread_user.nina"') + 1)
    assert nina.location_of("userPrincipalName").column == text.index('"nina.park@contoso.com"') + 1


def test_tf_files_beside_the_plan_point_at_the_resource_block_and_argument_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURES, tmp_path / "tf")
    plan = load("tf/plan.json")
    nina = next(c for c in plan.changes if c.ref == "azuread_user.nina")
    assert nina.location == Location("tf/main.tf", 24, 1)
    assert nina.location_of("userPrincipalName", "nina.park@contoso.com") == Location("tf/main.tf", 25, 1)


def test_module_resources_point_into_the_modules_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURES, tmp_path / "tf")
    adele = next(c for c in load("tf/plan.json").changes if c.ref and "adele.vance" in c.ref)
    assert adele.location == Location("tf/modules/staff/main.tf", 10, 1)


def test_tf_root_option_finds_the_configuration_elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURES, tmp_path / "infra")
    (tmp_path / "out").mkdir()
    shutil.move(str(tmp_path / "infra" / "plan.json"), tmp_path / "out" / "plan.json")
    nina = next(c for c in load("out/plan.json", {"tf_root": "infra"}).changes if c.ref == "azuread_user.nina")
    assert nina.location == Location("infra/main.tf", 24, 1)


def test_installed_registry_module_is_found_through_modules_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module_dir = tmp_path / ".terraform" / "modules" / "people"
    module_dir.mkdir(parents=True)
    (module_dir / "main.tf").write_text('\n\nresource "azuread_user" "this" {\n  user_principal_name = var.upn\n}\n')
    (tmp_path / ".terraform" / "modules" / "modules.json").write_text(
        json.dumps({"Modules": [{"Key": "", "Source": "", "Dir": "."},
                                {"Key": "people", "Source": "registry.terraform.io/contoso/people/azuread",
                                 "Dir": ".terraform/modules/people"}]}))
    (tmp_path / "main.tf").write_text('module "people" {\n  source = "contoso/people/azuread"\n}\n')
    rc = resource("module.people.azuread_user.this", ["create"], after=NEW_USER)
    (nina,) = load(write(tmp_path, plan_json(rc))).changes
    assert nina.location == Location(".terraform/modules/people/main.tf", 3, 1)


def test_suppression_comment_above_the_resource_block_applies_to_its_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURES, tmp_path / "tf")
    old, new = [c for c in load("tf/plan.json").changes if c.ref == "azuread_user.megan"]
    reason, where = new.suppressions["DUP004"]
    assert reason.startswith("replaced on purpose")
    assert where == Location("tf/main.tf", 39, 1)
    assert old.suppressions == new.suppressions


# --- bad plans --------------------------------------------------------------------------------------


def test_unsupported_format_version_major_is_rejected(tmp_path):
    err = error_of(write(tmp_path, plan_json(format_version="2.0")))
    assert "format_version 2.0 is not supported" in err.message
    assert err.location is not None and err.location.line == 1


def test_truncated_json_points_at_where_it_stops(tmp_path):
    text = json.dumps(plan_json(resource("azuread_user.nina", ["create"], after=NEW_USER)), indent=2)
    err = error_of(write(tmp_path, text[: len(text) // 2]))
    assert err.location is not None and err.location.line == text[: len(text) // 2].count("\n") + 1
    assert "invalid JSON" in err.message


def test_plan_without_resource_changes_is_not_a_plan(tmp_path):
    err = error_of(write(tmp_path, {"format_version": "1.0", "terraform_version": "1.5.7", "values": {}}))
    assert "no `resource_changes`" in err.message
    assert err.location == Location(err.location.path, 1, 1)


def test_plan_that_changes_no_resources_is_empty_with_a_note(tmp_path):
    plan = load(write(tmp_path, {"format_version": "1.2", "planned_values": {"root_module": {}}}))
    assert plan.changes == () and "changes no resources" in plan.notes[0]


def test_binary_plan_file_says_how_to_export_json(tmp_path):
    path = tmp_path / "plan.tfplan"
    path.write_bytes(b"PK\x03\x04binary")
    err = error_of(str(path))
    assert "terraform show -json plan.tfplan" in (err.hint or "")


def test_errored_plan_is_rejected(tmp_path):
    err = error_of(write(tmp_path, plan_json(errored=True)))
    assert "errored" in err.message


def test_unknown_actions_are_rejected_at_their_place(tmp_path):
    err = error_of(write(tmp_path, plan_json(resource("azuread_user.nina", ["explode"], after=NEW_USER)), one_line=False))
    assert err.location is not None and err.location.line > 1
    assert "unknown actions" in err.message


def test_update_without_an_object_id_is_an_error(tmp_path):
    err = error_of(write(tmp_path, plan_json(resource("azuread_user.bob", ["update"], {"user_principal_name": "b@c"},
                                                      {"user_principal_name": "x@c"}))))
    assert "no object_id or id" in err.message


def test_wrong_type_of_an_argument_is_an_error_without_its_value(tmp_path):
    err = error_of(write(tmp_path, plan_json(resource("azuread_user.nina", ["create"],
                                                      after=dict(NEW_USER, mail=["x@contoso.com"])))))
    assert err.message == "azuread_user.nina: mail must be a string"


# --- detection ------------------------------------------------------------------------------------


def test_plan_json_is_recognised_and_native_plans_and_snapshots_are_not():
    assert terraform.detect("plan.json", (FIXTURES / "plan.json").read_bytes()[:4096])
    assert not terraform.detect("plan.json", b'{"version": 1, "changes": []}')
    assert not terraform.detect("tenant.json", b'{"version": 1, "objects": []}')
    assert not terraform.detect("plan.yaml", b'format_version: "1.2"\nterraform_version: x\n')


def test_native_loader_does_not_claim_a_terraform_plan():
    from dupfix_policy.plans import native

    assert not native.detect("plan.json", b'{"format_version":"1.2","resource_changes":[{"change":{}}],"changes":1}')


# --- what the engine makes of it --------------------------------------------------------------------


def test_predicted_smtp_that_collides_is_a_predicted_finding(tmp_path):
    (nina,) = changes_of(tmp_path, resource("azuread_user.nina", ["create"], after=NEW_USER, after_unknown=UNKNOWN))
    group = entra_obj("group", "nina-team", mail="nina.park@contoso.com", mailEnabled=True,
                      proxyAddresses=("SMTP:nina.park@contoso.com",))
    finding = only(run([nina], [group]), "DUP002")
    assert finding.finding.predicted is True
    assert finding.finding.value == "SMTP:nina.park@contoso.com"


def test_a_mail_the_plan_sets_collides_for_certain(tmp_path):
    after = dict(NEW_USER, mail="shared@contoso.com")
    (nina,) = changes_of(tmp_path, resource("azuread_user.nina", ["create"], after=after))
    holder = entra_user("shared.owner@contoso.com", proxyAddresses=("SMTP:shared@contoso.com",))
    finding = only(run([nina], [holder]), "DUP002")
    assert (finding.finding.attribute, finding.finding.predicted) == ("mail", False)
