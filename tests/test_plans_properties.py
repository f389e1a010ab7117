"""Every plan loader, fed random bytes and near-valid files, gives a Plan or a clean UserInputError.

Nothing else: no traceback, no internal error, and an error always names the file. The near-valid
files are the realistic fixtures with random edits (cut, insert structural characters, duplicate
or swap lines, truncate), which is where hand-written parsers break. A Plan a loader returns must
also survive the engine. The profile keeps the run short and the same on every machine.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Plan
from dupfix_policy.plans import entra_csv, ldif, native, onprem_csv, terraform
from dupfix_policy.testing import run

settings.register_profile(
    "dupfix-plans",
    max_examples=60,
    derandomize=True,  # the same examples on every run and machine: CI never flakes on a new seed
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile("dupfix-plans")

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
NATIVE_SEED = (Path(__file__).resolve().parents[1] / "examples" / "plans" / "clean" / "new-hires.yaml").read_bytes()

# loader, file name it reads, seed files for near-valid input
LOADERS: dict[str, tuple[Any, str, list[bytes]]] = {
    "entra-csv": (entra_csv, "bulk.csv", [(FIXTURES / n).read_bytes() for n in
                                          ("entra-bulk-create.csv", "entra-bulk-invite.csv", "entra-bulk-delete.csv")]),
    "csv": (onprem_csv, "import.csv", [(FIXTURES / n).read_bytes() for n in ("csvde.csv", "new-aduser.csv")]),
    "ldif": (ldif, "changes.ldf", [(FIXTURES / "ldifde.ldf").read_bytes()]),
    "terraform": (terraform, "plan.json", [(FIXTURES / "terraform" / "plan.json").read_bytes()]),
    "native": (native, "plan.yaml", [NATIVE_SEED]),
}
STRUCTURE = ',;"\n\r\t:-#[]{} =\\|' + "\x00\ufeff"


@st.composite
def near_valid(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed file with a few random edits."""
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        op = draw(st.sampled_from(["cut", "insert", "duplicate", "swap", "truncate", "flip"]))
        at = draw(st.integers(0, max(size - 1, 0)))
        if op == "cut":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif op == "insert":
            text = draw(st.text(alphabet=STRUCTURE, min_size=1, max_size=6))
            data = data[:at] + text.encode("utf-8") + data[at:]
        elif op == "truncate":
            data = data[:at]
        elif op == "flip":
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        else:
            lines = data.split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if op == "duplicate":
                lines.insert(i, lines[j])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
    return data


def outcome(loader: Any, path: Path, data: bytes) -> Plan | UserInputError:
    path.write_bytes(data)
    try:
        result = loader.load(str(path), {})
    except UserInputError as exc:
        assert exc.location is not None and exc.location.path == str(path), f"error without the file: {exc}"
        assert str(exc).strip()
        return exc
    assert isinstance(result, Plan)
    return result


def _check(name: str, data: bytes, workdir: Path) -> None:
    loader, filename, _ = LOADERS[name]
    result = outcome(loader, workdir / filename, data)
    if isinstance(result, Plan) and result.changes:
        run(list(result.changes))  # whatever a loader accepts, the engine must judge


@PROFILE
@given(data=st.binary(max_size=3000))
def test_random_bytes_as_entra_csv(data, tmp_path_factory):
    _check("entra-csv", data, _dir(tmp_path_factory))


@PROFILE
@given(data=st.binary(max_size=3000))
def test_random_bytes_as_onprem_csv(data, tmp_path_factory):
    _check("csv", data, _dir(tmp_path_factory))


@PROFILE
@given(data=st.binary(max_size=3000))
def test_random_bytes_as_ldif(data, tmp_path_factory):
    _check("ldif", data, _dir(tmp_path_factory))


@PROFILE
@given(data=st.binary(max_size=3000))
def test_random_bytes_as_terraform_plan(data, tmp_path_factory):
    _check("terraform", data, _dir(tmp_path_factory))


@PROFILE
@given(data=near_valid(LOADERS["entra-csv"][2]))
def test_near_valid_entra_csv(data, tmp_path_factory):
    _check("entra-csv", data, _dir(tmp_path_factory))


@PROFILE
@given(data=near_valid(LOADERS["csv"][2]))
def test_near_valid_onprem_csv(data, tmp_path_factory):
    _check("csv", data, _dir(tmp_path_factory))


@PROFILE
@given(data=near_valid(LOADERS["ldif"][2]))
def test_near_valid_ldif(data, tmp_path_factory):
    _check("ldif", data, _dir(tmp_path_factory))


@PROFILE
@given(data=near_valid(LOADERS["terraform"][2]))
def test_near_valid_terraform_plan(data, tmp_path_factory):
    _check("terraform", data, _dir(tmp_path_factory))


@PROFILE
@given(data=near_valid(LOADERS["native"][2]))
def test_near_valid_native_yaml_with_comments(data, tmp_path_factory):
    _check("native", data, _dir(tmp_path_factory))


_DIRS: dict[int, Path] = {}


def _dir(factory: Any) -> Path:
    """One scratch directory per session: each example overwrites the same file in it."""
    key = id(factory)
    if key not in _DIRS:
        _DIRS[key] = factory.mktemp("hypothesis-plans")
    return _DIRS[key]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
TERRAFORM_SEED = json.loads((FIXTURES / "terraform" / "plan.json").read_text(encoding="utf-8"))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


TERRAFORM_PATHS = [p for p in _paths(TERRAFORM_SEED) if p]


@st.composite
def mutated_plan(draw: st.DrawFn) -> bytes:
    """The fixture plan with a few of its values (anywhere in the tree) replaced by other JSON."""
    data = copy.deepcopy(TERRAFORM_SEED)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(TERRAFORM_PATHS))
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
    return json.dumps(data).encode("utf-8")


@PROFILE
@given(data=mutated_plan())
def test_structurally_mutated_terraform_plan(data, tmp_path_factory):
    _check("terraform", data, _dir(tmp_path_factory))
