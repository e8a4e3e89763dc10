"""The import structure of ``sim``: no circle between modules, and mechanisms import no tool.

Every ``import sim.x``, ``from sim.x import ...`` and ``from sim import x`` anywhere in a file
counts, inside functions too: an import deferred into a function is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"

#: The tools: command line, figures and reports, dashboard, experiments (designs, sweeps, their
#: storage, analysis). Every other module (but ``__init__``/``__main__``) is part of the model or
#: its scenarios and must not import one, so the model runs (and is read) without them.
TOOL_PACKAGES = ("sim.cli", "sim.report", "sim.dashboard", "sim.experiments")


def _is_tool(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in TOOL_PACKAGES)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SIM.parent).with_suffix("").parts)
    if parts[-1] == "__init__":  # a package's __init__ is the package
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The ``sim`` modules a file imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from sim import x`` imports the module sim.x when there is one
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            names = [n for n in names[:-1] if n in modules] or [node.module]
        else:
            continue
        found.update(n for n in names if n in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``sim`` modules it imports (itself excluded).

    Importing ``sim.a.b`` also runs the package ``sim.a``, so that counts as an import of it;
    the top package ``sim`` is the exception (every module is inside it, and its
    ``__init__`` only names the public API), counted only where a file names it.
    """
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        own_packages = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        targets = set()
        for target in _imports(path, set(modules)):
            targets.add(target)
            parts = target.split(".")
            # the packages a dotted import runs first, but not the importer's own (a package
            # running its submodules while it initialises is how packages work)
            implied = {".".join(parts[:k]) for k in range(2, len(parts))}
            targets.update(implied - own_packages)
        graph[name] = targets - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (as a list of modules, first = last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def _short(name: str) -> str:
    return name.removeprefix("sim.")


def test_the_graph_sees_function_level_imports_and_packages():
    graph = import_graph()
    # sim.scenario.loading imports sim.core.network inside check_data_files
    assert "sim.core.network" in graph["sim.scenario.loading"]
    # a package's __init__ is the package; its submodules are nodes of their own
    assert {"sim.scenario.schema", "sim.scenario.loading"} <= graph["sim.scenario"]
    assert "sim.abm.model" in graph["sim"]  # `from sim.abm.model import` inside sim.__getattr__


def test_find_cycle_names_the_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_circle_between_sim_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(_short(m) for m in cycle)


def test_mechanism_modules_import_no_tool():
    graph = import_graph()
    tools = {m for m in graph if _is_tool(m)}
    mechanisms = sorted(m for m in graph if m not in tools and m not in ("sim", "sim.__main__"))
    assert {"sim.abm.model", "sim.core.network", "sim.scenario", "sim.scenario.schema"} <= set(
        mechanisms
    )
    wrong = {
        _short(m): sorted(_short(t) for t in graph[m] & tools)
        for m in mechanisms
        if graph[m] & tools
    }
    assert not wrong, f"mechanism modules importing a tool: {wrong}"
