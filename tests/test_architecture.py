"""The house rules of the code base (docs/architecture.md): imports only go down, modules stay small.

* The import graph of ``v2gsim/`` (every ``import`` statement, including those inside functions and
  under ``TYPE_CHECKING``) has no cycle. Importing ``a.b.c`` also imports the packages ``a`` and
  ``a.b``, so such an import is an edge to those packages too (except to the importer's own
  ancestors, which Python always initializes first).
* Every package has a layer (:data:`LAYERS`, the diagram of docs/architecture.md); a module imports
  only from its own layer or below.
* The pure layers (``core/``, ``behavior/``, ``market/``, ``optimize/``, ``game/``) never import
  ``v2gsim.config``, ``pydantic`` or ``mesa``; the schema (``config/``) imports only pydantic, the
  standard library and itself.
* No module over 500 lines, no function over 80 lines.
* The module table of docs/architecture.md lists exactly the package's modules.
* ``v2gsim validate`` does not import cvxpy.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import v2gsim

PKG = Path(v2gsim.__file__).resolve().parent
ARCHITECTURE = PKG.parent / "docs" / "architecture.md"
PURE_PREFIXES = ("v2gsim.core", "v2gsim.behavior", "v2gsim.market", "v2gsim.optimize", "v2gsim.game")
FORBIDDEN_IN_PURE = ("v2gsim.config", "pydantic", "mesa")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

#: package -> layer (docs/architecture.md): a module imports only from its own layer or below
LAYERS = {
    "core": 0,
    "market": 1, "game": 1,
    "behavior": 2,
    "optimize": 3,
    "policies": 4,
    "config": 4,
    "specs": 5,
    "sim": 6,
    "studies": 7, "reporting": 7,
    "experiments": 8,
    "view": 9,
    "cli": 10,
    "__main__": 11,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Absolute names of everything module ``name`` imports (any depth in the file)."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        ancestors = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        edges = set()
        for imp in _imports(name, path):
            parts = imp.split(".")
            for k in range(1, len(parts) + 1):
                target = ".".join(parts[:k])
                if target in mods and target != name and target not in ancestors:
                    edges.add(target)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_import_graph_has_no_cycle():
    assert _cycles(_graph()) == []


def _is_pure(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PURE_PREFIXES)


def _package(name: str) -> str:
    """The top-level package of module ``name`` under ``v2gsim`` (``v2gsim.sim.model`` -> ``sim``)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_package_has_a_layer():
    packages = {_package(n) for n in _modules()} - {""}
    assert packages == set(LAYERS), "add new packages to LAYERS and to docs/architecture.md"


def test_imports_only_go_down():
    up = []
    for name, targets in _graph().items():
        here = LAYERS.get(_package(name), max(LAYERS.values()) + 1)
        for target in sorted(targets):
            pkg = _package(target)
            if pkg and LAYERS[pkg] > here:
                up.append(f"{name} (layer {here}) imports {target} (layer {LAYERS[pkg]})")
    assert up == []


def test_a_planted_upward_import_is_found(monkeypatch):
    graph = {"v2gsim.core.rng": {"v2gsim.sim.model"}, "v2gsim.sim.model": set()}
    monkeypatch.setattr(sys.modules[__name__], "_graph", lambda: graph)
    with pytest.raises(AssertionError):
        test_imports_only_go_down()


def test_pure_layers_do_not_import_the_schema_or_mesa():
    bad = []
    for name, path in _modules().items():
        if not _is_pure(name):
            continue
        for imp in _imports(name, path):
            if any(imp == f or imp.startswith(f + ".") for f in FORBIDDEN_IN_PURE):
                bad.append(f"{name} imports {imp}")
    assert bad == []


def test_the_schema_imports_only_pydantic_and_the_standard_library():
    allowed_roots = set(sys.stdlib_module_names) | {"pydantic", "pydantic_core", "__future__"}
    bad = []
    for name, path in _modules().items():
        if _package(name) != "config":
            continue
        for imp in _imports(name, path):
            root = imp.split(".")[0]
            if imp == "v2gsim.config" or imp.startswith("v2gsim.config."):
                continue
            if root == "v2gsim" or root not in allowed_roots:
                bad.append(f"{name} imports {imp}")
    assert bad == []


def _table_entries() -> list[str]:
    """The paths of the fenced module table under ``## Modules`` of docs/architecture.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("\n## Modules", 1)[1]
    block = section.split("```", 2)[1]
    return [line.split()[0] for line in block.splitlines()[1:]
            if line.strip() and not line[0].isspace()]


def _covered(module: Path, entries: set[str]) -> bool:
    rel = module.relative_to(PKG).as_posix()
    return rel in entries or any(e.endswith("/") and rel.startswith(e) for e in entries)


def test_architecture_module_table_equals_the_package():
    entries = _table_entries()
    assert len(entries) == len(set(entries)), "an entry is listed twice"
    listed = set(entries)
    modules = [p for p in sorted(PKG.rglob("*.py"))
               if p.name != "__init__.py" or p.parent == PKG]
    missing = [p.relative_to(PKG).as_posix() for p in modules if not _covered(p, listed)]
    stale = [e for e in entries if not (PKG / e).exists()]
    stale += [e for e in entries if e.endswith("/") and not (PKG / e / "__init__.py").is_file()]
    assert missing == [], "modules missing from the table in docs/architecture.md"
    assert stale == [], "entries in docs/architecture.md that are not modules or subpackages"


def test_modules_and_functions_are_small():
    big_modules, big_functions = [], []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        n_lines = text.count("\n") + 1
        if n_lines > MAX_MODULE_LINES:
            big_modules.append(f"{name}: {n_lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    big_functions.append(f"{name}.{node.name}: {length} lines")
    assert big_modules == []
    assert big_functions == []


@pytest.mark.parametrize("command", ["validate"])
def test_validate_does_not_import_cvxpy(command):
    tiny = PKG / "scenarios" / "tiny.toml"
    code = (
        "import sys\n"
        "from v2gsim.cli import main\n"
        f"rc = main([{command!r}, {str(tiny)!r}])\n"
        "heavy = sorted(m for m in ('cvxpy', 'mesa', 'scipy', 'matplotlib', 'pandas') "
        "if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr
