"""Terraform plan JSON (`terraform show -json plan.tfplan`) for the `azuread` provider.

Format (hashicorp/terraform `website/docs/internals/json-format.mdx`): `format_version` (reject an
unsupported major, ignore unknown keys), `resource_changes[]` with `address`, `module_address`,
`mode`, `type`, `name`, `index` and `change` = {`actions`, `before`, `after`, `after_unknown`,
`before_sensitive`, `after_sensitive`}. Actions: `create`, `update`, `delete`, `["delete",
"create"]` (replace) and `["create", "delete"]` (create before destroy), applied in that order.

What the azuread resources mean (terraform-provider-azuread `docs/resources/*.md`):
- `azuread_user`: `user_principal_name`, `mail`, `mail_nickname` (defaults to the UPN's local
  part, "matches the portal"), `other_mails`, `onpremises_immutable_id`. `proxy_addresses` is
  computed, so on create the checker *predicts* it: `SMTP:<upn>` when the plan sets no `mail` (a
  `mail` the plan sets already claims that address, for certain). Predicted values go into
  `Change.predicted`, and findings on them say `predicted: true`.
- `azuread_group`: `mail_enabled` -> mailEnabled, `mail_nickname`, `types` -> groupTypes.
- `azuread_invitation`: the invited `user_email_address` becomes the guest's `SMTP:` address
  (predicted, as above).
Updates and deletes name their object by the `before` object id (`object_id`, else the `id`,
which azuread 3.x writes as `/users/<id>`); an invitation's user by `user_id`.

`show -json` prints sensitive values in plain text (`password` above all): only the attributes
listed here are ever read, and one marked sensitive is left unchecked with a note rather than
printed. Findings point at the resource block in the `.tf` files when they are found (see
`_tf_source`), else at the resource's place in the plan, named by its address.

Every shape Terraform writes (hashicorp/terraform `internal/command/jsonplan/plan.go` and
`resource.go`, hashicorp/terraform-json `plan.go`):
- `format_version` 0.1 (Terraform 0.12-0.14), 0.2 (0.15) and 1.x (1.0 onwards): the fields read
  here mean the same in all of them (0.x has no `errored`, `complete` or `*_sensitive` in places);
- actions: the nine lists `Change.Actions` documents, `["forget"]` (1.7+ `removed` blocks: Terraform
  stops managing the object, which stays in the directory, so no change) and `["create", "forget"]`
  (a create; the old object is forgotten, not deleted). An action list no Terraform writes is a
  note naming the resource, not a failure, and is never judged;
- unknown values (`after_unknown`): a list's unknown elements are left out and noted, the known ones
  judged; a whole argument that the configuration sets but is known only after apply is noted;
- `deferred_changes` (1.9+ `-allow-deferral`, `complete: false`): Terraform applies them in a later
  round; they are judged on their known values now, with a note saying they were deferred;
- `azuread_group_without_members` (azuread 3.1+) reads like `azuread_group`; an `azuread_*`
  resource this module does not know that carries an address-like argument, or
  `azuread_synchronization_job_provision_on_demand` (provisions objects whose values are not in the
  plan), is noted as not judged.
Everything left unjudged is in `Plan.unchecked`, which `--strict-inputs` turns into exit 2.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._json_positions import parse_json
from ..documents import decode
from ..errors import UserInputError
from ..model import Change, Location, Plan, Target
from . import suppression
from ._text import head_text, read_bytes
from ._tf_source import Block, blocks_in, has_tf_files, module_directory

NAME = "terraform"
SUPPORTED_MAJORS = ("0", "1")
SUPPORTED_VERSIONS = "0.1, 0.2 and 1.x"
# Change.Actions as jsonplan documents them -> the directory operations, in order.
KNOWN_ACTIONS = {
    ("no-op",): (),
    ("read",): (),
    ("create",): ("create",),
    ("update",): ("update",),
    ("delete",): ("delete",),
    ("delete", "create"): ("delete", "create"),
    ("create", "delete"): ("create", "delete"),
    ("forget",): (),  # `removed { lifecycle { destroy = false } }`: the object stays, unmanaged
    ("create", "forget"): ("create",),  # replace where the old object is forgotten, not deleted
}
# azuread resources whose values the checker cannot see in the plan: what they do is noted as unjudged.
OPAQUE_RESOURCES = {
    "azuread_synchronization_job_provision_on_demand": (
        "provisions on-premises objects into Entra ID at apply; their UPNs and addresses are not in the plan"
    ),
}
# An argument name that would carry a UPN, address or alias (for azuread resources not listed here).
_ADDRESS_ARGUMENT = re.compile(r"principal_name|mail|proxy_address|email|alias", re.IGNORECASE)
# Optional+Computed arguments Entra fills when the configuration leaves them out: unknown on create
# without anything being hidden (the checker predicts what Entra derives).
COMPUTED_DEFAULTS = {
    "azuread_user": frozenset({"mail", "mail_nickname"}),
    "azuread_group": frozenset({"mail_nickname"}),
    "azuread_group_without_members": frozenset({"mail_nickname"}),
}
_HEAD_KEYS = re.compile(r'"(format_version|terraform_version|planned_values|resource_changes)"\s*:')
_ID_TAIL = re.compile(r"([0-9a-fA-F-]{36})$")

# resource type -> (kind, {argument: attribute}) for the arguments the checker reads.
RESOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "azuread_user": (
        "user",
        {
            "user_principal_name": "userPrincipalName",
            "display_name": "displayName",
            "given_name": "givenName",
            "surname": "surname",
            "mail": "mail",
            "mail_nickname": "mailNickname",
            "other_mails": "otherMails",
            "onpremises_immutable_id": "onPremisesImmutableId",
            "account_enabled": "accountEnabled",
        },
    ),
    "azuread_group": (
        "group",
        {
            "display_name": "displayName",
            "mail_enabled": "mailEnabled",
            "security_enabled": "securityEnabled",
            "mail_nickname": "mailNickname",
            "types": "groupTypes",
            "onpremises_group_type": "onPremisesGroupType",
        },
    ),
    "azuread_invitation": (
        "user",
        {"user_email_address": "mail", "user_display_name": "displayName", "user_type": "userType"},
    ),
}
# azuread 3.1+: the same group, members managed elsewhere (docs/resources/group_without_members.md).
RESOURCES["azuread_group_without_members"] = RESOURCES["azuread_group"]
# Arguments of the known resources that are read-only (computed) or never an address: an unknown
# argument outside these and `RESOURCES` that looks address-like is noted as unjudged.
NOT_ADDRESSES = frozenset({
    "proxy_addresses", "im_addresses", "onpremises_user_principal_name", "onpremises_sam_account_name",
    "external_user_state", "mail",  # computed on groups; read on users (RESOURCES)
    "user_message", "redirect_url", "prevent_duplicate_names",
    "notification_email_addresses",
})
# Address-like arguments of other azuread resources that no directory object claims.
NOT_DIRECTORY_ADDRESSES = frozenset({"notification_email_addresses"})  # service principal: expiry alerts
LISTS = frozenset({"otherMails", "groupTypes"})
BOOLEANS = frozenset({"mailEnabled", "securityEnabled", "accountEnabled"})


def detect(path: str, head: bytes) -> bool:
    """A .json file whose first bytes hold Terraform's `format_version` and a plan or version key."""
    if not path.lower().endswith(".json"):
        return False
    keys = set(_HEAD_KEYS.findall(head_text(head)))
    return "format_version" in keys and len(keys) > 1


def load(path: str, options: Mapping[str, Any] | None = None) -> Plan:
    raw = read_bytes(path, "Terraform plan")
    if raw.startswith(b"PK\x03\x04"):
        raise UserInputError(
            "this is a binary Terraform plan file, not its JSON",
            location=Location(path),
            hint=f"run `terraform show -json {os.path.basename(path)} > plan.json` and check plan.json",
        )
    text = decode(raw, path, kind="Terraform plan")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        parse_json(text, path, kind="Terraform plan")  # the same failure, named at its line and column
        raise UserInputError("the file is not valid JSON", location=Location(path, 1, 1)) from None

    def positions() -> Mapping[tuple, tuple[int, int]]:
        return parse_json(text, path, kind="Terraform plan")[1]

    return _PlanReader(path, data, positions, options or {}).plan()


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _sensitive(marks: Any, name: str) -> bool:
    if marks is True:
        return True
    if not isinstance(marks, dict):
        return False
    value = marks.get(name)
    if isinstance(value, dict):
        return any(_sensitive(value, k) for k in value)
    if isinstance(value, list):
        return any(v is True or (isinstance(v, (dict, list)) and v) for v in value)
    return value is True


def _unknown(marks: Any, name: str) -> bool:
    """`after_unknown` mirrors `after`: `true` for a value known only after apply (a list of
    flags for a list whose items are unknown: the list itself is then known)."""
    if marks is True:
        return True
    return isinstance(marks, dict) and marks.get(name) is True


class _PlanReader:
    def __init__(
        self,
        path: str,
        data: Any,
        positions: Callable[[], Mapping[tuple, tuple[int, int]]],
        options: Mapping[str, Any],
    ):
        self.path = path
        self.data = data
        self._positions = (
            positions  # the positional parse is ~10x slower than json: only when a place is needed
        )
        self._table: Mapping[tuple, tuple[int, int]] | None = None
        self.notes: list[str] = []
        self.unchecked: list[str] = []
        tf_root = options.get("tf_root")
        self.root = str(tf_root) if tf_root else (os.path.dirname(path) or ".")
        self.explicit_root = bool(tf_root)
        self._blocks: dict[str, dict[tuple[str, str], Block]] = {}
        self._display: dict[str, str] = {}

    def at(self, pointer: tuple) -> Location:
        if self._table is None:
            self._table = self._positions()
        while True:
            pos = self._table.get(pointer)
            if pos is not None:
                return Location(self.path, pos[0], pos[1])
            if not pointer:
                return Location(self.path, 1, 1)
            pointer = pointer[:-1]

    def fail(self, message: str, pointer: tuple, hint: str | None = None) -> UserInputError:
        return UserInputError(message, location=self.at(pointer), hint=hint)

    def not_checked(self, message: str) -> None:
        """Something the plan holds that dupfix did not judge: a note, and `--strict-inputs` fails on it."""
        text = f"{self.path}: {message}"
        self.notes.append(text)
        self.unchecked.append(text)

    def done(self, changes: list[Change]) -> Plan:
        return Plan(self.path, NAME, tuple(changes), tuple(self.notes), tuple(self.unchecked))

    # --- the document ---------------------------------------------------------------------

    def plan(self) -> Plan:
        data = self.data
        if not isinstance(data, dict):
            raise self.fail(
                "a Terraform plan is a JSON object", (), "make it with `terraform show -json plan.tfplan`"
            )
        version = data.get("format_version")
        if not isinstance(version, str):
            raise self.fail(
                "not a Terraform plan: there is no `format_version`",
                (),
                "make it with `terraform plan -out plan.tfplan && terraform show -json plan.tfplan`",
            )
        if version.split(".", 1)[0] not in SUPPORTED_MAJORS:
            raise self.fail(
                f"Terraform plan format_version {version} is not supported "
                f"(dupfix reads format_version {SUPPORTED_VERSIONS}: Terraform 0.12 onwards)",
                ("format_version",),
                "a new major version may change what fields mean; upgrade dupfix-policy",
            )
        if data.get("errored") is True:
            raise self.fail(
                "Terraform marked this plan as errored: planning failed, so its changes are incomplete",
                ("errored",),
                "fix the errors `terraform plan` reports, then export the plan again",
            )
        changes_raw = data.get("resource_changes")
        deferred_raw = data.get("deferred_changes")
        if deferred_raw is not None and not isinstance(deferred_raw, list):
            raise self.fail("`deferred_changes` must be a list", ("deferred_changes",))
        if changes_raw is None and deferred_raw:
            changes_raw = []
        if changes_raw is None:
            if isinstance(data.get("planned_values"), dict):
                self.notes.append(f"{self.path}: the plan changes no resources")
                self.incomplete_note(data)
                return self.done([])
            raise self.fail(
                "the plan has no `resource_changes`: this looks like state or configuration output, not a plan",
                (),
                "run `terraform plan -out plan.tfplan`, then `terraform show -json plan.tfplan`",
            )
        if not isinstance(changes_raw, list):
            raise self.fail("`resource_changes` must be a list", ("resource_changes",))
        if self.explicit_root and not os.path.isdir(self.root):
            raise UserInputError(
                "--tf-root is not a directory",
                location=Location(self.root),
                hint="name the Terraform root module",
            )
        out: list[Change] = []
        for i, rc in enumerate(changes_raw):
            for change in self.resource(rc, ("resource_changes", i), len(out)):
                out.append(change)
        for i, deferred in enumerate(deferred_raw or []):
            at = ("deferred_changes", i)
            if not isinstance(deferred, dict) or not isinstance(deferred.get("resource_change"), dict):
                raise self.fail("each entry of `deferred_changes` must be an object with a `resource_change`", at)
            reason = deferred.get("reason") or "unknown"
            for change in self.resource(deferred["resource_change"], (*at, "resource_change"), len(out), reason):
                out.append(change)
        if not out and (changes_raw or deferred_raw):
            self.notes.append(
                f"{self.path}: none of the plan's resource changes creates, changes or deletes an Entra "
                "user, group or invitation"
            )
        self.incomplete_note(data)
        return self.done(out)

    def incomplete_note(self, data: dict) -> None:
        """`complete: false` (1.x): a targeted plan or one with deferrals; other rounds are other plans."""
        if data.get("complete") is False:
            self.notes.append(
                f"{self.path}: Terraform marked this plan incomplete (`complete: false`: a -target plan or "
                "deferred changes); resources it leaves for a later plan are checked when that plan is"
            )

    # --- one resource change --------------------------------------------------------------

    def resource(self, rc: Any, at: tuple, start: int, deferred: str | None = None) -> list[Change]:
        if not isinstance(rc, dict):
            raise self.fail("each entry of `resource_changes` must be an object", at)
        rtype, mode = rc.get("type"), rc.get("mode", "managed")
        if not isinstance(rtype, str) or not isinstance(mode, str):  # never skip what can't be read
            raise self.fail("a resource change's `type` and `mode` must be strings", at)
        if mode != "managed":
            return []
        if rtype not in RESOURCES:
            self.opaque(rc, rtype, deferred)
            return []
        address = rc.get("address")
        if not isinstance(address, str) or not address:
            raise self.fail("a resource change has no `address`", at)
        change = rc.get("change")
        if not isinstance(change, dict):
            raise self.fail(f"{address}: `change` must be an object", (*at, "change"))
        if change.get("after_unknown") is True:
            self.notes.append(f"{self.path}: {address}: every value is known only after apply "
                              "(`after_unknown: true`), so none of them was checked")  # fmt: skip
        actions = change.get("actions")
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise self.fail(
                f"{address}: `change.actions` must be a list of action names", (*at, "change", "actions")
            )
        steps = KNOWN_ACTIONS.get(tuple(actions))
        if steps is None:
            where = self.at((*at, "change", "actions"))
            self.not_checked(
                f"{address} ({where}): actions {actions} are not an action list Terraform documents "
                "(no-op, create, read, update, delete, forget, or the replaces [delete, create], "
                "[create, delete], [create, forget]); this change was not checked: upgrade dupfix-policy"
            )
            return []
        if "forget" in actions:
            self.notes.append(
                f"{self.path}: {address} is forgotten (a `removed` block): Terraform stops managing the "
                "object, which stays in the directory with its values"
            )
        if not steps:
            return []
        if deferred is not None:
            self.notes.append(
                f"{self.path}: {address} is deferred by Terraform ({deferred}): it is applied in a later "
                "round; judged now on the values the plan already knows"
            )
        for side in ("before", "after"):
            if change.get(side) is not None and not isinstance(change.get(side), dict):
                raise self.fail(f"{address}: `change.{side}` must be an object", (*at, "change", side))
        where, block = self.locate(rc, at)
        out: list[Change] = []
        for step in steps:
            made = self.step(step, rc, change, address, at, where, block, start + len(out))
            if made is not None:
                out.append(made)
        return out

    def step(
        self,
        step: str,
        rc: dict,
        change: dict,
        address: str,
        at: tuple,
        where: Location,
        block: Block | None,
        index: int,
    ) -> Change | None:
        rtype = rc["type"]
        kind, arguments = RESOURCES[rtype]
        marks = self.suppressions(block)
        common: dict[str, Any] = {
            "kind": kind,
            "location": where,
            "index": index,
            "directory": "entra",
            "ref": address,
            "suppressions": marks,
        }
        if step in ("update", "delete"):
            target = self.target(rtype, change.get("before"), address, (*at, "change", "before"))
            if step == "delete":
                return Change(op="delete", target=target, value_locations={("target", ""): where}, **common)
            if rtype == "azuread_invitation":
                return None  # every argument forces a new invitation: Terraform plans a replace instead
            values, locations = self.values(rtype, arguments, change, address, at, block, only_changed=True)
            if not values:
                return None
            locations[("target", "")] = where
            return Change(op="update", target=target, set=values, value_locations=locations, **common)
        values, locations = self.values(rtype, arguments, change, address, at, block, only_changed=False)
        predicted: dict[str, Any] = {}
        if rtype == "azuread_invitation":
            email = values.pop("mail", None)
            if not email:
                self.not_checked(f"{address}: the invited e-mail address is not known until apply; not checked")
                return None
            values.setdefault("userType", "Guest")
            address_value = f"SMTP:{str(email).strip()}"
            predicted["proxyAddresses"] = (address_value,)
            locations[("proxyAddresses", address_value)] = locations.pop(("mail", str(email)), where)
            locations[("proxyAddresses", "")] = locations[("proxyAddresses", address_value)]
            locations.pop(("mail", ""), None)
        elif rtype == "azuread_user":
            upn = values.get("userPrincipalName")
            if not upn:
                self.not_checked(f"{address}: the user principal name is not known until apply; not checked")
                return None
            upn_where = locations.get(("userPrincipalName", ""), where)
            if "mailNickname" not in values and "@" in str(upn):
                predicted["mailNickname"] = str(upn).split("@", 1)[0]
                locations.setdefault(("mailNickname", predicted["mailNickname"]), upn_where)
            if not values.get("mail"):
                proxy = f"SMTP:{str(upn).strip()}"
                predicted["proxyAddresses"] = (proxy,)
                locations.setdefault(("proxyAddresses", proxy), upn_where)
        return Change(op="create", set=values, predicted=predicted, value_locations=locations, **common)

    def target(self, rtype: str, before: Any, address: str, at: tuple) -> Target:
        before = before if isinstance(before, dict) else {}
        keys = ("user_id",) if rtype == "azuread_invitation" else ("object_id", "id")
        for key in keys:
            value = before.get(key)
            if isinstance(value, str) and value.strip():
                tail = _ID_TAIL.search(value.strip())
                return Target("id", tail.group(1) if tail else value.strip())
        raise self.fail(
            f"{address}: `change.before` has no {' or '.join(keys)} to name the object it changes",
            at,
            "export the plan with `terraform show -json` from a plan made with refresh enabled",
        )

    def values(
        self,
        rtype: str,
        arguments: dict[str, str],
        change: dict,
        address: str,
        at: tuple,
        block: Block | None,
        *,
        only_changed: bool,
    ) -> tuple[dict[str, Any], dict[tuple[str, str], Location]]:
        after = change.get("after") or {}
        before = change.get("before") or {}
        marks = change.get("after_unknown")
        values: dict[str, Any] = {}
        locations: dict[tuple[str, str], Location] = {}
        for argument, attribute in arguments.items():
            if _unknown(marks, argument):
                if self.configured(rtype, argument, block, at):
                    self.not_checked(
                        f"{address}: {argument} is known only after apply (it is computed from another "
                        "value); not checked"
                    )
                continue
            if argument not in after:
                continue
            value = after[argument]
            if only_changed and before.get(argument) == value:
                continue
            if _sensitive(change.get("after_sensitive"), argument) or _sensitive(
                change.get("before_sensitive"), argument
            ):
                self.not_checked(
                    f"{address}: {argument} is marked sensitive in the plan, so it was not checked "
                    "(dupfix never prints sensitive values)"
                )
                continue
            pointer = (*at, "change", "after", argument)
            here = self.argument_location(block, argument, pointer)
            if attribute in LISTS and isinstance(value, list):
                value = self.known_elements(value, marks, address, argument)
            clean = self.clean(attribute, value, address, argument, pointer)
            if clean in (None, ()) and not only_changed:
                continue
            values[attribute] = clean
            locations[(attribute, "")] = here
            for item in clean if isinstance(clean, tuple) else (clean,):
                if isinstance(item, str):
                    locations[(attribute, item)] = here
        self.unread_addresses(rtype, arguments, after, before, address)
        return values, locations

    def known_elements(self, value: list, marks: Any, address: str, argument: str) -> list:
        """A list whose elements are partly unknown (`null` in `after`, `true` at that index in
        `after_unknown`): the known elements, with a note naming the unknown ones' places."""
        flags = marks.get(argument) if isinstance(marks, dict) else None
        unknown = [
            i for i, item in enumerate(value)
            if item is None and isinstance(flags, list) and i < len(flags) and flags[i] is True
        ]  # fmt: skip
        if not unknown:
            return value
        places = ", ".join(f"{argument}[{i}]" for i in unknown)
        self.not_checked(
            f"{address}: {places} known only after apply; not checked (the other elements of {argument} were)"
        )
        return [item for i, item in enumerate(value) if i not in unknown]

    def configured(self, rtype: str, argument: str, block: Block | None, at: tuple) -> bool:
        """Does the configuration set this argument (so an unknown value hides a real one)?

        From the plan's `configuration` expressions, else the `.tf` block; when neither says, an
        argument Entra fills by default (`COMPUTED_DEFAULTS`) is taken as left out, any other as set.
        """
        expressions = self._expressions(at)
        if expressions is not None:
            return argument in expressions
        if block is not None:
            return argument in block.arguments
        return argument not in COMPUTED_DEFAULTS.get(rtype, frozenset())

    def _expressions(self, at: tuple) -> dict | None:
        rc = self.data
        for step in at:
            rc = rc[step] if isinstance(rc, (dict, list)) else None
        if not isinstance(rc, dict):
            return None
        module = _mapping(_mapping(self.data.get("configuration")).get("root_module"))
        for name in re.findall(r"module\.([A-Za-z0-9_-]+)", str(rc.get("module_address") or "")):
            module = _mapping(_mapping(_mapping(module.get("module_calls")).get(name)).get("module"))
        wanted = f"{rc.get('type')}.{rc.get('name')}"
        resources = module.get("resources")
        for resource in resources if isinstance(resources, list) else []:
            if isinstance(resource, dict) and resource.get("address") == wanted:
                expressions = resource.get("expressions")
                return expressions if isinstance(expressions, dict) else None
        return None

    def unread_addresses(
        self, rtype: str, arguments: dict[str, str], after: dict, before: dict, address: str
    ) -> None:
        """An address-like argument the checker does not read (a newer provider's), set by this change."""
        for name, value in after.items():
            if name in arguments or name in NOT_ADDRESSES or not _ADDRESS_ARGUMENT.search(name):
                continue
            if value in (None, "", [], {}) or before.get(name) == value:
                continue
            self.not_checked(
                f"{address}: {rtype} argument {name} looks like it carries an address, and dupfix does "
                "not read it; not checked"
            )

    def opaque(self, rc: dict, rtype: str, deferred: str | None) -> None:
        """An azuread resource the checker does not model: a note when it would set identities."""
        change: dict[str, Any] = rc["change"] if isinstance(rc.get("change"), dict) else {}
        actions = change.get("actions")
        if not isinstance(actions, list) or not any(a in ("create", "update") for a in actions):
            return
        address = rc.get("address") or rtype
        why = OPAQUE_RESOURCES.get(rtype)
        if why is not None:
            self.not_checked(f"{address}: {rtype} {why}; not checked")
            return
        if not rtype.startswith("azuread_"):
            return
        after: dict[str, Any] = change["after"] if isinstance(change.get("after"), dict) else {}
        before: dict[str, Any] = change["before"] if isinstance(change.get("before"), dict) else {}
        named = sorted(
            n for n, v in after.items()
            if _ADDRESS_ARGUMENT.search(n) and n not in NOT_DIRECTORY_ADDRESSES and v not in (None, "", [], {}) and before.get(n) != v
        )  # fmt: skip
        if named:
            self.not_checked(
                f"{address}: dupfix does not read {rtype}, and it sets {', '.join(named)}; not checked"
            )

    def clean(self, attribute: str, value: Any, address: str, argument: str, pointer: tuple) -> Any:
        if value is None or value == "":
            return () if attribute in LISTS else None
        if attribute in BOOLEANS:
            if not isinstance(value, bool):
                raise self.fail(f"{address}: {argument} must be true or false", pointer)
            return value
        if attribute in LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail(f"{address}: {argument} must be a list of strings", pointer)
            return tuple(value)
        if not isinstance(value, str):
            raise self.fail(f"{address}: {argument} must be a string", pointer)
        return value

    # --- where it is written ----------------------------------------------------------------

    def locate(self, rc: dict, at: tuple) -> tuple[Location, Block | None]:
        directory = module_directory(
            self.root, str(rc.get("module_address") or ""), self.data.get("configuration")
        )
        if directory is not None and directory not in self._blocks:
            self._blocks[directory] = blocks_in(directory) if has_tf_files(directory) else {}
        block = self._blocks.get(directory or "", {}).get((str(rc.get("type")), str(rc.get("name"))))
        if block is None:
            return self.at(at), None
        return Location(self.display(block.path), block.line, 1), block

    def display(self, path: str) -> str:
        """A .tf path as the report shows it (relative to the working directory), worked out once."""
        shown = self._display.get(path)
        if shown is None:
            shown = self._display[path] = _display(path)
        return shown

    def argument_location(self, block: Block | None, argument: str, pointer: tuple) -> Location:
        if block is None:
            return self.at(pointer)
        line = block.arguments.get(argument)
        return Location(self.display(block.path), line or block.line, 1)

    def suppressions(self, block: Block | None) -> dict[str, tuple[str, Location]]:
        if block is None:
            return {}
        return suppression.collect((text, Location(self.display(block.path), n, 1)) for n, text in block.comments)


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _display(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel
