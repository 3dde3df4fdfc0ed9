"""The generators of the docs site's reference pages (``docs/hooks/``) and the site's structure.

The full site is built by ``mkdocs build --strict`` in ``.ci/run``; these tests check, without
MkDocs, that the generated scenario reference lists every field of the schema, that the CLI
reference has every subcommand, that the benchmark tables agree with their JSON, that the griffe
extension rewrites the docstring conventions, and that every package has its API page in the nav.
"""

from __future__ import annotations

import json
import re
import typing

import pytest
from conftest import REPO, load_script

reference = load_script("docs/hooks/reference.py")
roles = load_script("docs/hooks/griffe_roles.py")


def _section(markdown: str, anchor: str) -> str:
    """The text of the section whose heading carries ``{#anchor}``, up to the next heading."""
    m = re.search(rf"^## .*\{{#{re.escape(anchor)}\}}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert m, f"no section #{anchor}"
    return m.group(1)


def test_scenario_reference_lists_every_field_of_every_section() -> None:
    from v2gsim.config import Scenario

    page = reference.scenario_reference()
    sections: list[tuple[str, type, str]] = []
    reference._walk(Scenario, "", "table", sections)
    assert len({m for _, m, _ in sections}) >= 20  # top level, network, drivers, platform.*, market, ...
    first: dict[type, str] = {}
    for path, model, _ in sections:
        first.setdefault(model, path)
    for model, path in first.items():
        text = _section(page, reference._slug(path))
        for name in model.model_fields:
            assert re.search(rf"^\| `{name}` \|", text, re.M), f"{path or 'top level'}: {name} missing"


def test_scenario_reference_shows_types_defaults_ranges_and_literals() -> None:
    page = reference.scenario_reference()
    drivers = _section(page, "drivers")
    count = next(line for line in drivers.splitlines() if line.startswith("| `count` |"))
    assert "integer" in count and "`200`" in count and "≥ 1" in count and "5,000,000" in count
    dist = next(line for line in drivers.splitlines() if line.startswith("| `distribution` |"))
    assert '`"extremal"`' in dist and '`"normal"`' in dist
    models = _section(page, "drivers-models")
    assert "| `share` | number | **required** |" in models
    assert "(kWh)" in models  # units come with the descriptions
    assert "[table](#drivers-models)" in drivers  # nested sections are linked
    assert "`[[drivers.models]]`" in page and "`[market.energy]`" in page


def test_scenario_reference_names_the_registered_policies() -> None:
    from v2gsim.config import POLICY_NAMES

    page = reference.scenario_reference()
    for name in POLICY_NAMES:
        assert f"`{name}`" in page.splitlines()[0]


def test_type_names() -> None:
    assert reference.type_name(int, {}) == "integer"
    assert reference.type_name(list[float], {}) == "array of numbers"
    assert reference.type_name(float | None, {}) == "number (optional)"
    assert reference.type_name(tuple[int, int], {}) == "array [integer, integer]"
    assert reference.type_name(typing.Literal["a", "b"], {}) == "string"
    assert reference.type_name(dict[str, float], {}) == "table (string -> number)"


def test_cli_reference_has_every_subcommand() -> None:
    from v2gsim.cli import build_parser

    page = reference.cli_reference()
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert len(subparsers.choices) >= 12
    for name in subparsers.choices:
        assert f"## `v2gsim {name}`" in page
        assert re.search(rf"^usage: v2gsim {name} ", page, re.M), name
    assert "## `v2gsim`\n" in page


def test_bilevel_hard_tables_agree_with_the_json() -> None:
    data = json.loads(reference.BILEVEL_HARD_JSON.read_text())
    text = reference.bilevel_hard_tables()
    summary = data["hard_summary"]
    assert f"{summary['proven']} of {summary['instances']} proven" in text
    shares = {r["share"] for r in data["hard_set"]}
    chargers = {r["charger_kw"] for r in data["hard_set"]}
    rows = [line for line in text.splitlines() if re.match(r"^\| \d", line)]
    assert len(rows) == len(shares) + len(chargers)
    assert "| 0.7 | 24 | 24 | 0.44 | 29.4 |" in text  # the slowest composition


@pytest.mark.parametrize(("text", "expected"), [
    ("see :func:`v2gsim.game.basins.basin`.", "see `v2gsim.game.basins.basin`."),
    ("the :mod:`~.extremal` sampler", "the `extremal` sampler"),
    ("Usage::\n\n    python x.py", "Usage:\n\n    python x.py"),
])
def test_griffe_extension_rewrites_roles_and_literal_blocks(text: str, expected: str) -> None:
    assert roles.rewrite(text) == expected


def test_griffe_extension_splits_grouped_parameters() -> None:
    doc = ("Cost.\n\n    Args:\n        spec: the settings.\n        eta_c, eta_d: (M,) efficiencies\n"
           "            of the EVs (-).\n        connected: mask.\n\n    Returns:\n        a, b: not args.\n")
    out = roles.split_grouped_params(doc)
    assert "        eta_c: (M,) efficiencies\n            of the EVs (-).\n" in out
    assert "        eta_d: (M,) efficiencies\n            of the EVs (-).\n" in out
    assert "        a, b: not args." in out  # only parameter sections are split
    assert "connected: mask." in out


def test_every_package_has_an_api_page_in_the_nav() -> None:
    packages = sorted(p.name for p in (REPO / "v2gsim").iterdir()
                      if (p / "__init__.py").is_file() and p.name != "cli")  # cli: reference/cli.md
    pages = sorted(p.stem for p in (REPO / "docs" / "reference" / "api").glob("*.md"))
    assert pages == packages
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    for name in packages:
        assert f"reference/api/{name}.md" in nav
        page = (REPO / "docs" / "reference" / "api" / f"{name}.md").read_text().strip()
        assert page == f"::: v2gsim.{name}"
    for page in ("architecture.md", "models.md", "migration.md", "performance.md",
                 "reference/scenario.md", "reference/cli.md"):
        assert f" {page}" in nav, page


def test_the_site_is_built_offline_and_strict() -> None:
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^strict: true$", config, re.M)
    assert re.search(r"^  font: false$", config, re.M)  # no web fonts
    assert "import:" not in config  # no remote object inventories
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "mkdocs build --strict" in ci
