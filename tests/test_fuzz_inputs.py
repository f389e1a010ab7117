"""Fuzzing every loader and state reader: whatever the bytes, the exit code is 0, 1, 2 or 3.

Exit 4 means a bug: a crash on hostile input. Each test mutates a valid file (splices of random
bytes and of tokens known to hurt parsers: NULs, lone surrogates, huge integers, quotes, cut
lines) and runs the real CLI on it. Derandomized, with modest example counts, so the suite stays
fast and a failure reproduces on every machine.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout, suppress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dupfix_policy import cli
from dupfix_policy.sources.cache.sync import sync
from dupfix_policy.sources.snapshot.source import SnapshotSource
from dupfix_policy.sources.snapshot.writer import write_snapshot

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "examples" / "plans" / "formats"
TENANT = ROOT / "examples" / "tenant.json"
PLAN = "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: alice@contoso.com}}\n"
NASTY = [
    b"\x00", b"\x01", b"\xff", b"\xc3", b"\\ud800", b"\\u0000", b"9" * 4400, b'"', b"'", b"\n", b"\r",
    b"\r\n", b" ", b"\t", b",", b";", b":", b"::", b"{", b"}", b"[", b"]}", b"-", b"\n-\n", b"\n \n",
    b"#", b"&a *a", b"!!python/object:os.system", b"null", b"true", b"1e999", b"-0", b"\xef\xbb\xbf",
    b"\xff\xfe", b'"id":"x",', b"##vso[", b"dn: ", b"changetype: modify\n", b"sep=;\n",
]  # fmt: skip
SETTINGS = settings(
    derandomize=True, max_examples=25, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
ALLOWED = {0, 1, 2, 3}


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with a few splices: random bytes, nasty tokens, deletions, a cut, a repeated line."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "token", "delete", "cut", "repeat"]))
        if op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif op == "token":
            data[at:at] = draw(st.sampled_from(NASTY))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "cut":
            del data[at:]
        else:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            end = len(data) if end < 0 else end + 1
            data[end:end] = data[start:end]
    return bytes(data)


@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="dupfix-fuzz-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(*args: str) -> int:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(args))
    assert code in ALLOWED, (code, err.getvalue())
    assert "internal error" not in err.getvalue()
    return code


LOADERS = {
    "native-yaml": ("plan.yaml", (ROOT / "examples" / "plans" / "clean" / "new-hires.yaml").read_bytes(), "native"),
    "native-json": ("plan.json", b'{"version": 1, "changes": [{"op": "create", "kind": "user", '
                    b'"set": {"userPrincipalName": "a@contoso.com", "proxyAddresses": ["SMTP:a@contoso.com"]}}]}', "native"),
    "csvde": ("import.csv", (FORMATS / "duplicates" / "csvde.csv").read_bytes(), "csv"),
    "new-aduser": ("import.csv", (FORMATS / "duplicates" / "new-aduser.csv").read_bytes(), "csv"),
    "entra-csv": ("bulk.csv", (FORMATS / "duplicates" / "entra-bulk-create.csv").read_bytes(), "entra-csv"),
    "ldif": ("change.ldf", (FORMATS / "duplicates" / "ldifde.ldf").read_bytes(), "ldif"),
    "terraform": ("plan.json", (FORMATS / "duplicates" / "terraform" / "plan.json").read_bytes(), "terraform"),
}  # fmt: skip


def _plan_format(name: str) -> str:
    from dupfix_policy.plugins import load_registry

    known = set(load_registry().plan_formats)
    assert name in known, f"plan format {name!r} is not one of {sorted(known)}"
    return name


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_every_plan_loader_exits_0_to_3_on_mutated_input(loader: str) -> None:
    name, seed, fmt = LOADERS[loader]
    fmt = _plan_format(fmt)

    @SETTINGS
    @given(mutated(seed))
    def check(data: bytes) -> None:
        with workdir() as here:
            path = here / name
            path.write_bytes(data)
            run("check", str(path), "--source", "none", "--plan-format", fmt,
                "--format", f"json={here / 'r.json'}", "--fail-on", "never")  # fmt: skip

    check()


@pytest.mark.parametrize("layout", ["jsonl", "json"])
def test_snapshot_reader_exits_0_to_3_on_mutated_snapshots(tmp_path: Path, layout: str) -> None:
    source = SnapshotSource(str(TENANT))
    seed_path = tmp_path / f"seed.{layout}"
    write_snapshot(str(seed_path), list(source.scan()), source.tenant, source.as_of, source.directories)
    seed = seed_path.read_bytes()

    @SETTINGS
    @given(mutated(seed))
    def check(data: bytes) -> None:
        with workdir() as here:
            (here / "plan.yaml").write_text(PLAN, encoding="utf-8")
            snap = here / f"tenant.{layout}"
            snap.write_bytes(data)
            run("check", str(here / "plan.yaml"), "--source", f"snapshot:{snap}", "--format", f"json={here / 'r.json'}")
            run("snapshot", "--source", f"snapshot:{snap}", "--output", str(here / "copy.jsonl"))

    check()


@pytest.fixture(scope="module")
def cache_seed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    here = tmp_path_factory.mktemp("cache-seed")
    source = SnapshotSource(str(TENANT))
    sync(str(here / "state.db"), [source], out=io.StringIO())
    return (here / "state.db").read_bytes()


SQL_DAMAGE = st.sampled_from([
    "UPDATE objects SET record = substr(record, 1, length(record) / 2)",
    "UPDATE objects SET record = replace(record, '\"kind\"', '\"kin\"')",
    "UPDATE objects SET record = '[]'",
    "UPDATE objects SET record = NULL",
    "UPDATE objects SET record = 42",
    "UPDATE meta SET value = '[]' WHERE name = 'tenant'",
    "UPDATE sources SET directories = '[\"mars\"]'",
    "UPDATE sources SET synced_at = '9999-01-01T00:00:00Z'",
    "UPDATE sources SET synced_at = NULL",
    "DELETE FROM sources",
    "DROP TABLE objects",
    "DROP TABLE meta",
    "PRAGMA user_version = 7",
])  # fmt: skip


def test_cache_reader_exits_0_to_3_on_damaged_caches(cache_seed: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUPFIX_NOW", "2099-01-01T00:00:00Z")

    @SETTINGS
    @given(st.one_of(mutated(cache_seed).map(lambda b: ("bytes", b)), st.lists(SQL_DAMAGE, min_size=1, max_size=3).map(lambda s: ("sql", s))))
    def check(damage: tuple[str, object]) -> None:
        with workdir() as here:
            (here / "plan.yaml").write_text(PLAN, encoding="utf-8")
            db = here / "state.db"
            kind, what = damage
            if kind == "bytes":
                db.write_bytes(what)  # type: ignore[arg-type]
            else:
                db.write_bytes(cache_seed)
                conn = sqlite3.connect(db)
                for sql in what:  # type: ignore[attr-defined]
                    with suppress(sqlite3.Error):
                        conn.execute(sql)
                conn.commit()
                conn.close()
            run("check", str(here / "plan.yaml"), "--source", f"cache:{db}", "--max-age", "100000d",
                "--format", f"json={here / 'r.json'}")  # fmt: skip
            run("audit", "--source", f"cache:{db}", "--max-age", "100000d", "--format", f"json={here / 'a.json'}", "--quiet")

    check()
