"""The ci/ templates: valid for their platform (SchemaStore schemas shipped inside check-jsonschema,
so this works offline), every `dupfix` command in them uses flags that exist, and versions pinned."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dupfix_policy import __version__
from dupfix_policy.cli import DupfixUsage, build_parser

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "ci" / "github" / "dupfix.yml"
AZURE = ROOT / "ci" / "azure-pipelines" / "dupfix.yml"
GITLAB = ROOT / "ci" / "gitlab" / "dupfix.gitlab-ci.yml"
# template -> check-jsonschema options (the ones check-jsonschema's own pre-commit hooks use)
SCHEMAS = {
    GITHUB: ["--builtin-schema", "vendor.github-workflows"],
    AZURE: ["--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "nonunicode",
            "--data-transform", "azure-pipelines"],
    GITLAB: ["--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci"],
}


def validate(path: Path, options: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *options, str(path)],
        capture_output=True, text=True, timeout=120,
    )


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("template", list(SCHEMAS), ids=lambda p: p.parent.name)
def test_template_is_valid_against_its_schemastore_schema(template):
    done = validate(template, SCHEMAS[template])
    assert done.returncode == 0, done.stdout + done.stderr


def test_github_workflow_sets_a_job_timeout():
    done = validate(GITHUB, ["--builtin-schema", "custom.github-workflows-require-timeout"])
    assert done.returncode == 0, done.stdout + done.stderr


BREAKAGES = {
    GITHUB: lambda d: d["jobs"]["check"].update({"runs-on": 5}),
    AZURE: lambda d: d["jobs"][0].update({"steps": [{"task": 17}]}),
    GITLAB: lambda d: d["dupfix-check"].update({"artifacts": {"when": "sometimes"}}),
}


@pytest.mark.parametrize("template", list(SCHEMAS), ids=lambda p: p.parent.name)
def test_schema_check_catches_a_broken_template(template, tmp_path):
    data = load(template)
    BREAKAGES[template](data)
    broken = tmp_path / template.name
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert validate(broken, SCHEMAS[template]).returncode == 1


# --- the dupfix commands in them ---------------------------------------------------------------------


def scripts(node) -> list[str]:
    """Every string in the template (run:, script:, inlineScript: ...), one shell text each."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in scripts(v)]
    if isinstance(node, list):
        return [s for v in node for s in scripts(v)]
    return [node] if isinstance(node, str) else []


def dupfix_commands(path: Path) -> list[list[str]]:
    """The argument lists of every `dupfix ...` command line, continuation lines joined."""
    commands = []
    for text in scripts(load(path)):
        for line in text.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if len(words) > 1 and words[0] == "dupfix":  # not a bare name such as `job: dupfix`
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("template", list(SCHEMAS), ids=lambda p: p.parent.name)
def test_every_dupfix_command_uses_flags_that_exist(template, registry):
    commands = dupfix_commands(template)
    assert commands, f"{template.name} runs no dupfix command"
    parser = build_parser()
    for args in commands:
        try:
            parsed = parser.parse_args(args)
        except DupfixUsage as exc:  # the parser's one-line usage error
            pytest.fail(f"{template.name}: dupfix {' '.join(args)}: {exc}")
        for item in parsed.format or ():
            assert item.partition("=")[0] in {*registry.reporters, "auto"}, item
        assert parsed.hook, "a template checks the changed files in --hook mode"


def test_flag_check_rejects_a_flag_that_does_not_exist():
    with pytest.raises(DupfixUsage):
        build_parser().parse_args(["check", "plans/", "--sourse", "graph"])


@pytest.mark.parametrize("template", list(SCHEMAS), ids=lambda p: p.parent.name)
def test_template_installs_this_release(template):
    text = template.read_text(encoding="utf-8")
    assert re.findall(r'DUPFIX_VERSION: "([^"]+)"', text) == [__version__]
    assert re.search(r"dupfix-policy(\[[a-z,]+\])?==", text)


# --source spec -> the extra it needs (docs/sources.md "Installing the live sources")
EXTRA_OF = {"graph": "graph", "ldap": "ldap", "ldaps": "ldap"}


@pytest.mark.parametrize("template", list(SCHEMAS), ids=lambda p: p.parent.name)
def test_template_installs_the_extra_of_every_live_source_it_uses(template):
    """The core install has no Graph or LDAP client: a template that reads a live source without
    installing its extra would fail every run with exit 3."""
    needed = set()
    for args in dupfix_commands(template):
        specs = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--source"]
        needed |= {EXTRA_OF[s.split(":", 1)[0]] for s in specs if s.split(":", 1)[0] in EXTRA_OF}
    assert needed, f"{template.name} reads no live source"
    installs = re.findall(r"pip install [^\n]*?dupfix-policy(?:\[([a-z,]+)\])?==", template.read_text(encoding="utf-8"))
    assert installs, f"{template.name} installs no pinned dupfix-policy"
    extras = {e for group in installs for e in group.split(",") if e}
    assert needed <= extras or "all" in extras, (template.name, needed, extras)


def test_github_actions_are_pinned_to_release_tags():
    uses = [s["uses"] for s in load(GITHUB)["jobs"]["check"]["steps"] if "uses" in s]
    assert uses and all(re.search(r"@v\d+\.\d+\.\d+$", u) for u in uses), uses


def test_azure_tasks_and_gitlab_image_are_pinned():
    steps = load(AZURE)["jobs"][0]["steps"]
    assert all(re.search(r"@\d+$", s["task"]) for s in steps if "task" in s)
    assert load(AZURE)["pool"]["vmImage"] != "ubuntu-latest"
    assert re.fullmatch(r"python:3\.\d+-[a-z-]+", load(GITLAB)["dupfix-check"]["image"])


# --- what each one promises ----------------------------------------------------------------------------


def test_github_runs_only_for_same_repository_pull_requests_with_least_permissions():
    workflow = load(GITHUB)
    job = workflow["jobs"]["check"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"]["id-token"] == "write" and job["permissions"]["security-events"] == "write"


def test_github_uploads_sarif_and_restores_the_state_cache():
    steps = load(GITHUB)["jobs"]["check"]["steps"]
    by_action = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    check = next(s for s in steps if "dupfix check" in s.get("run", ""))
    assert by_action["github/codeql-action/upload-sarif"]["with"]["sarif_file"] in check["run"]
    assert by_action["actions/cache/restore"]["with"]["path"] == ".dupfix/state.db"
    assert check["env"]["DUPFIX_GRAPH_AUTH"] == "github-oidc"


def test_azure_signs_in_with_azure_pipelines_credential_and_publishes_junit():
    steps = load(AZURE)["jobs"][0]["steps"]
    check = next(s for s in steps if s.get("task") == "AzureCLI@2")
    assert check["env"]["DUPFIX_GRAPH_AUTH"] == "azure-pipelines"
    assert check["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
    cache = next(s for s in steps if s.get("task") == "Cache@2")
    assert f'{cache["inputs"]["path"]}/state.db" .dupfix/state.db' in check["inputs"]["inlineScript"]
    publish = next(s for s in steps if s.get("task") == "PublishTestResults@2")
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    assert publish["inputs"]["testResultsFiles"].split("/")[-1] in check["inputs"]["inlineScript"]


def test_gitlab_publishes_the_junit_report_the_command_writes():
    job = load(GITLAB)["dupfix-check"]
    junit = job["artifacts"]["reports"]["junit"]
    (args,) = dupfix_commands(GITLAB)
    assert f"junit={junit}" in args
    assert job["id_tokens"]["AZURE_ID_TOKEN"]["aud"] == "api://AzureADTokenExchange"
    assert any(".dupfix/state.db" in c["paths"] for c in job["cache"])


def test_credential_choices_are_ones_the_graph_source_knows():
    graph_auth = pytest.importorskip("dupfix_policy.sources.graph.auth")
    used = set()
    for template in SCHEMAS:
        used |= set(re.findall(r"DUPFIX_GRAPH_AUTH[:=] ?([a-z-]+)", template.read_text(encoding="utf-8")))
    assert used == {"github-oidc", "azure-pipelines", "workload-identity", "azure-cli"}
    assert used <= set(graph_auth.CHOICES)
