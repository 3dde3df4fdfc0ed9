"""Griffe extension: the package's docstring conventions, read as Google style by mkdocstrings.

The docstrings are Google style with three habits griffe does not know; before mkdocstrings renders
them (the source files are not changed):

* Sphinx roles (``:func:`v2gsim.x.f```, ``:mod:`~.y```) become inline code of their target;
* a paragraph ending in ``::`` (reST's "literal block follows") ends in ``:``; the indented block
  after it renders as code anyway;
* grouped parameters, ``eta_c, eta_d: charge and discharge efficiencies.`` in an ``Args:``
  section, become one entry per name with the shared description (griffe would report
  "Parameter 'eta_c, eta_d' does not appear in the function signature").
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const|ref):`~?\.?([^`]+)`")
_LITERAL = re.compile(r"(\S)::$", re.MULTILINE)
_PARAM_SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters|Other Parameters|Keyword Args):\s*$")
_GROUPED = re.compile(r"^(\s+)(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)+)(\s*(?:\([^)]*\))?:\s.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _continues(lines: list[str], k: int, indent: int) -> bool:
    """Line ``k`` belongs to the entry above it: indented deeper, or blank before a deeper line."""
    if lines[k].strip():
        return _indent(lines[k]) > indent
    return k + 1 < len(lines) and bool(lines[k + 1].strip()) and _indent(lines[k + 1]) > indent


def split_grouped_params(text: str) -> str:
    """Expand ``a, b: text`` entries of parameter sections into ``a: text`` and ``b: text``."""
    lines = text.split("\n")
    out: list[str] = []
    k = 0
    section_indent: int | None = None
    while k < len(lines):
        line = lines[k]
        header = _PARAM_SECTION.match(line)
        if header:
            section_indent = len(header.group(1))
            out.append(line)
            k += 1
            continue
        if section_indent is not None and line.strip() and _indent(line) <= section_indent:
            section_indent = None
        match = _GROUPED.match(line) if section_indent is not None else None
        if not match:
            out.append(line)
            k += 1
            continue
        indent, names, rest = match.groups()
        body = []
        k += 1
        while k < len(lines) and _continues(lines, k, len(indent)):
            body.append(lines[k])
            k += 1
        for name in (n.strip() for n in names.split(",")):
            out += [f"{indent}{name}{rest}", *body]
    return "\n".join(out)


def rewrite(text: str) -> str:
    """The docstring text with the three conventions above rewritten."""
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    text = _LITERAL.sub(r"\1:", text)
    return split_grouped_params(text)


class DocstringConventions(griffe.Extension):
    """Rewrite every docstring once, when its object is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
