"""The fast path never lets an invalid file through: `schema_check.certainly_valid` says "valid"
only where jsonschema agrees, for every schema dupfix ships, on real files and on mutations of
them (hypothesis, derandomized). A "no" costs only speed: jsonschema then words the error."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from dupfix_policy.schema_check import certainly_valid
from dupfix_policy.schemas import load_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ["plan", "policy", "config", "snapshot", "report"]


@functools.cache
def samples(name: str) -> list:
    if name == "plan":
        files = sorted((ROOT / "examples" / "plans").rglob("*.yaml"))
    elif name == "policy":
        files = sorted((ROOT / "policies").glob("*.yaml"))
    elif name == "config":
        files = [ROOT / ".dupfix.yaml", ROOT / "examples" / "sync-scope.dupfix.yaml"]
    elif name == "snapshot":
        return [json.loads((ROOT / "examples" / "tenant.json").read_text(encoding="utf-8"))]
    else:  # a real report of the examples
        import contextlib
        import io

        from dupfix_policy import cli

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli.main(["check", str(ROOT / "examples" / "plans" / "rules"), "--source",
                      f"snapshot:{ROOT / 'examples' / 'tenant.json'}", "--format", "json"])  # fmt: skip
        return [json.loads(out.getvalue())]
    return [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_shipped_valid_file_takes_the_fast_path(name):
    schema = load_schema(name)
    valid = [doc for doc in samples(name) if Draft202012Validator(schema).is_valid(doc)]
    assert valid, f"no valid sample for {name}"
    assert all(certainly_valid(doc, schema) for doc in valid)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=False, width=16),
                    st.text(max_size=6), st.sampled_from(["create", "user", "entra", "ad", "error", "", " x"]))  # fmt: skip
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)  # fmt: skip


def mutate(doc, data):
    """Replace, drop or add one value somewhere in the document."""
    doc = copy.deepcopy(doc)
    node, path = doc, []
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node, key=str)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            break
        path.append((node, key))
        node = node[key]
    if not path:
        return data.draw(VALUES)
    parent, key = path[-1]
    action = data.draw(st.sampled_from(["replace", "drop", "add"]))
    if action == "drop":
        del parent[key]
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.text(max_size=8))] = data.draw(VALUES)
    else:
        parent[key] = data.draw(VALUES)
    return doc


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_path_never_accepts_what_jsonschema_rejects(name, data):
    schema = load_schema(name)
    docs = samples(name)
    doc = mutate(data.draw(st.sampled_from(docs)), data)
    if certainly_valid(doc, schema):
        assert Draft202012Validator(schema).is_valid(doc), f"fast path accepted an invalid {name}: {doc!r:.300}"
