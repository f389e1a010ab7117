"""Third-party plugins are found from `entry_points.txt` without importlib.metadata, exactly as
importlib.metadata would find them: one distribution of a name, the first on the path."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from dupfix_policy.entrypoints import entry_points


def dist(site: Path, folder: str, text: str) -> None:
    (site / folder).mkdir(parents=True)
    (site / folder / "entry_points.txt").write_text(text, encoding="utf-8")


def test_an_entry_point_of_the_group_is_found_with_its_distribution(tmp_path):
    dist(tmp_path, "dupfix_acme-1.2.0.dist-info", "[console_scripts]\nacme = acme:main\n\n[dupfix_policy]\nacme = acme.plugin\n")
    (ep,) = entry_points("dupfix_policy", [str(tmp_path)])
    assert (ep.name, ep.value, ep.folder_name, ep.dist_version) == ("acme", "acme.plugin", "dupfix_acme", "1.2.0")
    (tmp_path / "dupfix_acme-1.2.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: dupfix-acme\n")
    assert ep.dist_name == "dupfix-acme"


def test_the_first_distribution_of_a_name_on_the_path_wins(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    dist(first, "dupfix_acme-2.0.dist-info", "[dupfix_policy]\nacme = acme.v2\n")
    dist(second, "dupfix_acme-1.0.dist-info", "[dupfix_policy]\nacme = acme.v1\n")
    assert [ep.value for ep in entry_points("dupfix_policy", [str(first), str(second)])] == ["acme.v2"]


def test_it_finds_what_importlib_metadata_finds_in_this_environment():
    ours = sorted((ep.name, ep.value) for ep in entry_points("console_scripts"))
    theirs = sorted((ep.name, ep.value) for ep in metadata.entry_points(group="console_scripts"))
    assert ours == theirs
