"""Terraform plan JSON for the azuread provider: what each resource change means, and where it is written.

The plans here are written by hand from Terraform's JSON output format (format_version 1.2) and the
azuread provider's resource docs: Terraform cannot be installed where these tests run.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Location, Target
from dupfix_policy.plans import terraform
from dupfix_policy.testing import entra_obj, entra_user, only, run

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


def test_an_action_list_terraform_never_writes_is_a_note_naming_its_place_not_a_judged_change(tmp_path):
    text_plan = plan_json(resource("azuread_user.nina", ["explode"], after=NEW_USER))
    plan = load(write(tmp_path, text_plan, one_line=False))
    assert plan.changes == ()
    (note,) = plan.unchecked
    assert "azuread_user.nina" in note and "['explode']" in note and "not checked" in note
    assert re.search(r"plan\.json:\d+:\d+", note)
    assert note in plan.notes


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


# --- every plan shape Terraform writes (internal/command/jsonplan) --------------------------------------

QUINN = {"object_id": BOB_ID, "user_principal_name": "quinn.ortega@contoso.com", "mail": "quinn.ortega@contoso.com"}


def test_forget_from_a_removed_block_leaves_the_object_in_the_directory_so_it_is_no_change(tmp_path):
    plan = load(write(tmp_path, plan_json(resource("azuread_user.quinn", ["forget"], QUINN, None))))
    assert plan.changes == ()
    assert any("forgotten" in n and "stays in the directory" in n for n in plan.notes)
    assert plan.unchecked == ()


def test_create_then_forget_is_a_create_and_the_old_object_is_not_deleted(tmp_path):
    after = dict(NEW_USER, user_principal_name="quinn.ortega2@contoso.com")
    (new,) = changes_of(tmp_path, resource("azuread_user.quinn", ["create", "forget"], QUINN, after))
    assert (new.op, new.set["userPrincipalName"]) == ("create", "quinn.ortega2@contoso.com")


@pytest.mark.parametrize("actions", [list(a) for a in terraform.KNOWN_ACTIONS])
def test_every_action_list_jsonplan_documents_is_understood(tmp_path, actions):
    plan = load(write(tmp_path, plan_json(resource("azuread_user.nina", actions, {"object_id": BOB_ID}, NEW_USER))))
    assert plan.unchecked == ()
    assert [c.op for c in plan.changes] == list(terraform.KNOWN_ACTIONS[tuple(actions)])


def test_unknown_list_elements_are_noted_and_the_known_ones_judged(tmp_path):
    after = dict(NEW_USER, other_mails=["nina@alumni.example.org", None, "n.park@fabrikam.com"])
    plan = load(write(tmp_path, plan_json(resource("azuread_user.nina", ["create"], after=after,
                                                   after_unknown=dict(UNKNOWN, other_mails=[False, True, False])))))
    (nina,) = plan.changes
    assert nina.set["otherMails"] == ("nina@alumni.example.org", "n.park@fabrikam.com")
    (note,) = plan.unchecked
    assert "other_mails[1] known only after apply" in note


def test_an_argument_the_configuration_sets_but_only_apply_knows_is_noted(tmp_path):
    config = {"root_module": {"resources": [{"address": "azuread_user.nina", "type": "azuread_user", "name": "nina",
                                             "expressions": {"user_principal_name": {}, "mail": {"references": [
                                                 "var.mail"]}}}]}}
    rc = resource("azuread_user.nina", ["create"], after=NEW_USER, after_unknown=UNKNOWN)
    plan = load(write(tmp_path, plan_json(rc, configuration=config)))
    assert len(plan.changes) == 1
    assert [n for n in plan.unchecked if "mail is known only after apply" in n]
    assert not [n for n in plan.unchecked if "mail_nickname" in n]  # not configured: Entra derives it


def test_computed_defaults_left_out_of_the_configuration_are_predicted_not_noted(tmp_path):
    plan = load(write(tmp_path, plan_json(resource("azuread_user.nina", ["create"], after=NEW_USER,
                                                   after_unknown=UNKNOWN))))
    assert plan.unchecked == ()
    assert plan.changes[0].predicted["proxyAddresses"] == ("SMTP:nina.park@contoso.com",)


def test_deferred_changes_are_judged_on_their_known_values_with_a_note(tmp_path):
    deferred = {"reason": "instance_count_unknown",
                "resource_change": resource('azuread_user.contractor["*"]', ["create"], after=NEW_USER,
                                            index_unknown=True)}
    plan = load(write(tmp_path, plan_json(deferred_changes=[deferred], complete=False)))
    (nina,) = plan.changes
    assert nina.set["userPrincipalName"] == "nina.park@contoso.com"
    assert any("deferred by Terraform (instance_count_unknown)" in n for n in plan.notes)
    assert any("complete: false" in n for n in plan.notes)


def test_a_deferred_change_without_a_known_upn_is_reported_as_not_checked(tmp_path):
    deferred = {"reason": "resource_config_unknown",
                "resource_change": resource("azuread_user.x", ["create"], after={"display_name": "X"},
                                            after_unknown={"user_principal_name": True})}
    plan = load(write(tmp_path, {"format_version": "1.2", "deferred_changes": [deferred], "complete": False}))
    assert plan.changes == ()
    assert any("user principal name is not known until apply" in n for n in plan.unchecked)


def test_group_without_members_is_judged_like_a_group(tmp_path):
    after = {"display_name": "Launch", "mail_enabled": True, "mail_nickname": "marketing", "types": ["Unified"],
             "security_enabled": False}
    (group,) = changes_of(tmp_path, resource("azuread_group_without_members.launch", ["create"], after=after))
    assert (group.kind, group.set["mailNickname"], group.set["groupTypes"]) == ("group", "marketing", ("Unified",))
    report = run(group_plan := load(write(tmp_path, plan_json(resource(
        "azuread_group_without_members.launch", ["create"], after=after)), "g.json")),
        [entra_obj("group", "g-marketing", displayName="Marketing", mailEnabled=True, mailNickname="marketing",
                   groupTypes=("Unified",), proxyAddresses=("SMTP:marketing@contoso.com",))])
    assert group_plan.format == "terraform"
    assert only(report, "DUP010").finding.value == "marketing"


def test_provision_on_demand_is_noted_as_not_judged(tmp_path):
    rc = resource("azuread_synchronization_job_provision_on_demand.now", ["create"],
                  after={"synchronization_job_id": "job", "parameter": [{"rule_id": "r"}]})
    plan = load(write(tmp_path, plan_json(rc)))
    assert plan.changes == () and "not in the plan" in plan.unchecked[0]


def test_an_unknown_azuread_resource_that_sets_an_address_is_noted(tmp_path):
    rc = resource("azuread_contact.ext", ["create"], after={"display_name": "Ext", "mail": "ext@fabrikam.com"})
    plan = load(write(tmp_path, plan_json(rc)))
    assert "dupfix does not read azuread_contact, and it sets mail" in plan.unchecked[0]


def test_a_new_address_argument_of_a_known_resource_is_noted_not_ignored(tmp_path):
    after = dict(NEW_USER, business_mail_aliases=["nina.p@contoso.com"])
    plan = load(write(tmp_path, plan_json(resource("azuread_user.nina", ["create"], after=after))))
    assert "business_mail_aliases looks like it carries an address" in plan.unchecked[0]


def test_application_identifier_uris_and_notification_mail_are_not_directory_addresses(tmp_path):
    app = resource("azuread_application.portal", ["create"], after={"identifier_uris": ["api://portal"]})
    sp = resource("azuread_service_principal.portal", ["create"],
                  after={"notification_email_addresses": ["it@contoso.com"]})
    assert load(write(tmp_path, plan_json(app, sp))).unchecked == ()


@pytest.mark.parametrize(("version", "terraform_version"), [("0.1", "0.12.31"), ("0.2", "0.15.5"), ("1.0", "1.0.11")])
def test_older_format_versions_are_read_like_1x(tmp_path, version, terraform_version):
    rc = resource("azuread_user.nina", ["create"], after=NEW_USER)
    for key in ("before_sensitive", "after_sensitive"):
        rc["change"].pop(key)
    (nina,) = changes_of_plan(tmp_path, plan_json(rc, format_version=version, terraform_version=terraform_version))
    assert nina.set["userPrincipalName"] == "nina.park@contoso.com"


def test_the_error_for_an_unknown_major_version_lists_the_versions_read(tmp_path):
    err = error_of(write(tmp_path, plan_json(format_version="2.0")))
    assert "0.1, 0.2 and 1.x" in err.message


def changes_of_plan(tmp_path: Path, data: dict):
    return load(write(tmp_path, data)).changes


# --- the corpus: every fixture plan JSON, through the CLI --------------------------------------------

CORPUS = Path(__file__).parent / "fixtures" / "plans" / "terraform-corpus"
EXAMPLE_PLAN = Path(__file__).parents[1] / "examples" / "plans" / "formats" / "clean" / "terraform" / "plan.json"
CLEAN_PLANS = [*sorted(CORPUS.glob("*.json")), EXAMPLE_PLAN]
INVALID_PLANS = sorted(CORPUS.glob("invalid/*.json"))


@pytest.mark.parametrize("path", CLEAN_PLANS, ids=lambda p: p.name if p.parent.name != "terraform" else "example")
def test_every_valid_plan_of_the_corpus_passes_clean(path, capsys, monkeypatch, tmp_path):
    from dupfix_policy import cli

    monkeypatch.chdir(tmp_path)
    tenant = Path(__file__).parents[1] / "examples" / "tenant.json"
    code = cli.main(["check", str(path), "--source", f"snapshot:{tenant}", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [f["code"] for f in report["findings"]] == []
    assert terraform.detect(str(path), path.read_bytes()[:4096])


@pytest.mark.parametrize("path", INVALID_PLANS, ids=lambda p: p.name)
def test_deliberately_invalid_plans_of_the_corpus_exit_2(path, capsys):
    from dupfix_policy import cli

    assert cli.main(["check", str(path), "--source", "none"]) == 2
    assert f"{path.name}:" in capsys.readouterr().err


def test_strict_inputs_turns_what_was_not_judged_into_exit_2(capsys, monkeypatch, tmp_path):
    from dupfix_policy import cli

    monkeypatch.chdir(tmp_path)
    path = str(CORPUS / "unknown-list-elements.json")
    assert cli.main(["check", path, "--source", "none"]) == 0
    capsys.readouterr()
    assert cli.main(["check", path, "--source", "none", "--strict-inputs"]) == 2
    err = capsys.readouterr().err
    assert "other_mails[1]" in err and "--strict-inputs" in err
    assert cli.main(["check", path, "--source", "none", "--policy", "strict"]) == 2
    assert "policy strict sets inputs.strict" in capsys.readouterr().err
    clean = str(CORPUS / "group-without-members.json")
    assert cli.main(["check", clean, "--source", "none", "--strict-inputs"]) == 0
