"""MkDocs hook: the generated reference pages (scenario schema and CLI), built at every `mkdocs build`.

* ``reference/scenario.md``: every section and field of :class:`v2gsim.config.Scenario`, walked
  recursively from the pydantic models (type, default, allowed values or range, description with
  its unit). The page holds only the marker ``<!-- generated: scenario -->``; the tables replace it.
* ``reference/cli.md``: the ``--help`` of ``v2gsim`` and of every subcommand, formatted from
  :func:`v2gsim.cli.build_parser` (the marker ``<!-- generated: cli -->``).
* ``performance.md``: the hard-set tables of the exact bilevel search, computed from the recorded
  benchmark JSON ``analysis/benchmarks/results/bilevel_hard_full_issue17.json``
  (the marker ``<!-- generated: bilevel-hard -->``).

Nothing is written to ``docs/``: the text exists only in the built site, so it cannot drift from the
code. The functions are plain (no MkDocs objects) so that ``tests/test_docs_reference.py`` calls them.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import os
import re
import statistics
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

SCENARIO_MARKER = "<!-- generated: scenario -->"
CLI_MARKER = "<!-- generated: cli -->"
BILEVEL_MARKER = "<!-- generated: bilevel-hard -->"

REPO = Path(__file__).resolve().parents[2]
BILEVEL_HARD_JSON = REPO / "analysis" / "benchmarks" / "results" / "bilevel_hard_full_issue17.json"

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc|const):`~?([^`]+)`")


def clean_text(text: str) -> str:
    """Docstring text as Markdown: Sphinx roles become code, ``x`` stays code, no line breaks."""
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    text = text.replace("``", "`")
    return " ".join(text.split())


def _cell(text: str) -> str:
    """One table cell: cleaned, ``|`` escaped, ``<`` and ``>`` escaped outside code spans."""
    parts = clean_text(text).replace("|", "\\|").split("`")
    for k in range(0, len(parts), 2):
        parts[k] = parts[k].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


# --------------------------------------------------------------------------- scenario schema


def _is_model(tp: Any) -> bool:
    from pydantic import BaseModel

    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _strip_annotated(tp: Any) -> tuple[Any, list[Any]]:
    meta: list[Any] = []
    while typing.get_origin(tp) is typing.Annotated:
        args = typing.get_args(tp)
        tp, meta = args[0], meta + list(args[1:])
    return tp, meta


def _constraints(meta: list[Any]) -> list[str]:
    """``>= 0``, ``< 1``, ``length >= 1`` ... from annotated-types / pydantic metadata."""
    out = []
    names = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "length ≥",
             "max_length": "length ≤", "multiple_of": "multiple of"}
    for m in meta:
        for attr, sym in names.items():
            value = getattr(m, attr, None)
            if value is not None and not callable(value):
                out.append(f"{sym} {_num(value)}")
        pattern = getattr(m, "pattern", None)
        if isinstance(pattern, str):
            out.append(f"matches `{pattern}`")
        # a FieldInfo nested in Annotated[...] (e.g. NonNeg = Annotated[float, Field(ge=0)])
        inner = getattr(m, "metadata", None)
        if isinstance(inner, list) and inner is not meta:
            out += _constraints(inner)
    return list(dict.fromkeys(out))


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _literal_values(tp: Any) -> list[Any] | None:
    tp, _ = _strip_annotated(tp)
    if typing.get_origin(tp) is Literal:
        return list(typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [e.value for e in tp]
    return None


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return None


def type_name(tp: Any, anchor: dict[type, str]) -> str:
    """A reader's name of a field type (models link to their section)."""
    tp, _ = _strip_annotated(tp)
    lits = _literal_values(tp)
    if lits is not None:
        kinds = {type(v) for v in lits}
        return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
            kinds.pop(), "value") if len(kinds) == 1 else "value"
    args = _union_args(tp)
    if args is not None:
        names = [type_name(a, anchor) for a in args if a is not type(None)]
        text = " or ".join(dict.fromkeys(names))
        return f"{text} (optional)" if type(None) in args else text
    origin = typing.get_origin(tp)
    if origin in (list, tuple, set, frozenset):
        items = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if origin is tuple and len(items) > 1 and Ellipsis not in typing.get_args(tp):
            inner = ", ".join(type_name(a, anchor) for a in items)
            return f"array [{inner}]"
        inner = type_name(items[0], anchor) if items else "value"
        plural = {"number": "numbers", "integer": "integers", "string": "strings",
                  "boolean": "booleans", "table": "tables"}
        return f"array of {plural.get(inner, inner)}"
    if origin is dict:
        k, v = typing.get_args(tp) or (str, Any)
        return f"table ({type_name(k, anchor)} -> {type_name(v, anchor)})"
    if _is_model(tp):
        return f"[table](#{anchor[tp]})" if tp in anchor else "table"
    if tp is Any:
        return "any"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp, getattr(
        tp, "__name__", str(tp)))


def _fmt_value(v: Any) -> str:
    from pydantic import BaseModel

    if isinstance(v, BaseModel):
        return "(table below)"
    if isinstance(v, enum.Enum):
        v = v.value
    if isinstance(v, list) and v and all(isinstance(x, BaseModel) for x in v):
        names = [getattr(x, "name", None) for x in v]
        label = f"{len(v)} table{'s' if len(v) > 1 else ''}"
        return f"{label} ({', '.join(str(n) for n in names)})" if all(names) else label
    if isinstance(v, dict) and any(isinstance(x, BaseModel) for x in v.values()):
        v = {k: x.model_dump(mode="json") if isinstance(x, BaseModel) else x for k, x in v.items()}
    if isinstance(v, str):
        return '`""`' if v == "" else f"`{json.dumps(v)}`"
    if isinstance(v, bool):
        return f"`{str(v).lower()}`"
    if isinstance(v, float):
        return f"`{v:g}`"
    if isinstance(v, list | tuple | dict):
        text = json.dumps(v, default=str)
        return f"`{text}`" if len(text) <= 160 else f"`{text[:157]}...`"
    if v is None:
        return "unset"
    return f"`{v}`"


def _default(field: Any) -> str:
    from pydantic_core import PydanticUndefined

    if field.default_factory is not None:
        try:
            return _fmt_value(field.default_factory())
        except TypeError:  # a factory that takes the validated data
            return "computed"
    if field.default is PydanticUndefined:
        return "**required**"
    return _fmt_value(field.default)


def _allowed(field: Any) -> str:
    tp, meta = _strip_annotated(field.annotation)
    parts = _constraints(list(field.metadata) + meta)
    lits = _literal_values(tp)
    args = _union_args(tp)
    if lits is None and args is not None:
        for a in args:
            lits = _literal_values(a) or lits
            parts += _constraints(_strip_annotated(a)[1])
    if typing.get_origin(tp) in (list, tuple) or (args and any(
            typing.get_origin(_strip_annotated(a)[0]) in (list, tuple) for a in args)):
        for a in (args or (tp,)):
            a = _strip_annotated(a)[0]
            if typing.get_origin(a) in (list, tuple):
                for item in typing.get_args(a):
                    if item is Ellipsis:
                        continue
                    item_lits = _literal_values(item)
                    if item_lits:
                        parts.append("items: " + ", ".join(f"`{x}`" for x in item_lits))
                    item_c = _constraints(_strip_annotated(item)[1])
                    if item_c:
                        parts.append("items " + ", ".join(item_c))
    if lits:
        parts.insert(0, ", ".join(f"`{json.dumps(x) if isinstance(x, str) else x}`" for x in lits))
    return "; ".join(dict.fromkeys(parts))


def _models_in(tp: Any, kind: str = "table") -> Iterator[tuple[type, str]]:
    """``(model, kind)`` of every pydantic model a field type contains; kind is ``table``,
    ``array`` (a list of tables) or ``dict`` (a table of tables keyed by name)."""
    tp, _ = _strip_annotated(tp)
    if _is_model(tp):
        yield tp, kind
        return
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is dict and len(args) == 2:
        yield from _models_in(args[1], "dict")
        return
    for a in args:
        yield from _models_in(a, "array" if origin in (list, tuple) else kind)


def _walk(model: type, path: str, kind: str, out: list[tuple[str, type, str]]) -> None:
    out.append((path, model, kind))
    for name, field in model.model_fields.items():
        for sub, sub_kind in _models_in(field.annotation):
            sub_path = f"{path}.{name}" if path else name
            _walk(sub, f"{sub_path}.<name>" if sub_kind == "dict" else sub_path, sub_kind, out)


def _slug(path: str) -> str:
    if not path:
        return "top-level"
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _header(path: str, kind: str) -> str:
    return f"`[[{path}]]`" if kind == "array" else f"`[{path}]`"


def _doc_paragraph(model: type) -> str:
    doc = (model.__doc__ or "").strip()
    if not doc or doc.startswith(("Usage docs:", "A base class")):
        return ""
    return _cell(doc.split("\n\n")[0])


def _policy_line() -> str:
    """The registered policy names, as the schema knows them."""
    import v2gsim.config as config

    names = getattr(config, "POLICY_NAMES", None)
    if not names:
        return ""
    return ("`platform.policy` is one of: " + ", ".join(f"`{n}`" for n in names)
            + " (each with its own `[platform.<policy>]` settings table below).\n")


def scenario_reference() -> str:
    """The Markdown of every section and field of :class:`v2gsim.config.Scenario`."""
    from v2gsim.config import Scenario

    sections: list[tuple[str, type, str]] = []
    _walk(Scenario, "", "table", sections)
    anchor: dict[type, str] = {}
    used_at: dict[type, list[str]] = {}
    for path, model, kind in sections:
        anchor.setdefault(model, _slug(path))
        used_at.setdefault(model, []).append(_header(path, kind))
    lines = [_policy_line()]
    done: set[type] = set()
    for path, model, kind in sections:
        if model in done:
            continue
        done.add(model)
        title = "Top level" if not path else _header(path, kind)
        lines += [f"## {title} {{#{_slug(path)}}}", ""]
        intro = _doc_paragraph(model)
        if kind == "array":
            intro += f" Each `[[{path}]]` table is one item of an array."
        elif kind == "dict":
            intro += " A table of these, keyed by name (`<name>`)."
        lines += [f"{intro.strip()} Schema class: `{model.__module__}.{model.__name__}`.", ""]
        if len(used_at[model]) > 1:
            lines += ["The same fields are used at " + ", ".join(used_at[model]) + ".", ""]
        lines += ["| field | type | default | allowed | description |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            lines.append(f"| `{name}` | {type_name(field.annotation, anchor)} | {_default(field)} | "
                         f"{_allowed(field)} | {_cell(field.description or '')} |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def cli_commands() -> list[tuple[str, argparse.ArgumentParser]]:
    """``(command line, parser)`` of ``v2gsim`` and of every subcommand, in registration order."""
    from v2gsim.cli import build_parser

    parser = build_parser()
    out = [("v2gsim", parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out += [(f"v2gsim {name}", sub) for name, sub in action.choices.items()]
    return out


def cli_reference() -> str:
    """The Markdown of ``v2gsim --help`` and every ``v2gsim COMMAND --help``."""
    lines = []
    with _columns(100):
        for command, parser in cli_commands():
            lines += [f"## `{command}`", "", "```text", f"$ {command} --help",
                      parser.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- benchmarks


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def bilevel_hard_tables(path: Path = BILEVEL_HARD_JSON) -> str:
    """The hard set of ``bench_bilevel.py --hard`` grouped by composition and by charger rating."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["hard_set"]
    limit = data["time_limit_s"]

    def groups(key: str) -> list[tuple[float, list[dict]]]:
        out: dict[float, list[dict]] = {}
        for r in rows:
            out.setdefault(r[key], []).append(r)
        return sorted(out.items())

    def stats(g: list[dict]) -> list[str]:
        t = [r["time_to_proof_s"] for r in g]
        proven = sum(r["status"] == "optimal" and r["gap"] <= data["rel_gap"] for r in g)
        return [str(len(g)), str(proven), f"{statistics.median(t):.2f}", f"{max(t):.1f}",
                _pct(max(r["gap_at_2s"] for r in g)), _pct(max(r["gap_at_10s"] for r in g))]

    lim = f"{limit:g}"
    lines = [f"| commuters share | instances | proven <= {lim} s | median s | max s | max gap 2 s "
             "| max gap 10 s | seed, no VI: s (solved) | seed, VI: s (solved) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for share, g in groups("share"):
        seed = g[0]["seed_time_s"]
        lines.append("| " + " | ".join([f"{share:g}", *stats(g),
                                         f"{seed['no_vi']:.2f} ({seed['no_vi_solved_pct']} %)",
                                         f"{seed['vi']:.2f} ({seed['vi_solved_pct']} %)"]) + " |")
    lines += ["", f"| charger kW | instances | proven <= {lim} s | median s | max s | max gap 2 s "
              "| max gap 10 s |", "|---|---|---|---|---|---|---|"]
    for kw, g in groups("charger_kw"):
        lines.append("| " + " | ".join([f"{kw:g}", *stats(g)]) + " |")
    s = data["hard_summary"]
    lines += ["", f"All: {s['proven']} of {s['instances']} proven to a {data['rel_gap']:g} gap within "
              f"{lim} s, median {s['median_time_to_proof_s']:.2f} s, longest {s['max_time_s']:.1f} s, "
              f"gap at 2 s at most {_pct(s['max_gap_at_2s'])}, at 10 s at most "
              f"{_pct(s['max_gap_at_10s'])}; rebates pay in {s['rebates_pay']} of the "
              f"{s['instances']} optima; the whole set takes {data['total_time_s'] / 60:.1f} minutes."]
    return "\n".join(lines)


# --------------------------------------------------------------------------- MkDocs


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Fill the markers of the generated pages."""
    if SCENARIO_MARKER in markdown:
        markdown = markdown.replace(SCENARIO_MARKER, scenario_reference())
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if BILEVEL_MARKER in markdown:
        markdown = markdown.replace(BILEVEL_MARKER, bilevel_hard_tables())
    return markdown
