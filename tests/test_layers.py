"""The layers, read off the source: every import statement of the project's packages (at module
level or inside a function) is an edge. The runtime (``kws``) imports nothing above it, training
and the simulator import only the runtime, the command line (``kws_cli``) puts them together,
and no module imports, through any chain, a module that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kws", "kws_cli", "training", "firmware_sim")
# package -> the packages it may import (besides itself)
ALLOWED = {
    "kws": set(),
    "training": {"kws"},
    "firmware_sim": {"kws"},
    "kws_cli": {"kws", "training", "firmware_sim"},
}
# `python -m kws` starts the command line: the entry point, never imported by the runtime
ENTRY_POINTS = {"kws.__main__"}


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports (``from p import sub`` names the submodule)."""

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [t for t in named if t in modules] or [node.module]
            else:
                continue
            edges[name].update(m for t in targets if (m := owner(t)) not in (None, name))
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_each_layer_imports_only_the_layers_below_it() -> None:
    edges = _imports(_modules())
    upward = sorted(
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if module not in ENTRY_POINTS
        and target.split(".")[0] != module.split(".")[0]
        and target.split(".")[0] not in ALLOWED[module.split(".")[0]]
    )
    assert upward == []


def test_no_module_imports_itself_back_through_a_chain() -> None:
    assert _cycles(_imports(_modules())) == []


def test_the_walk_sees_the_imports_it_checks() -> None:
    """The walk is not vacuous: it finds imports inside functions and the command line's."""
    edges = _imports(_modules())
    assert "kws.loading" in edges["kws_cli.commands.detect"]  # imported inside run()
    assert "training.pipeline" in edges["kws_cli.commands.train"]
    assert "kws.cascade" in edges["training.evaluate"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
