"""The package reads as the pipeline: no import cycles, small modules, and only the CLI layer prints."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "seqcast"
CLI_LAYER = {"cli", "console", "report", "helptext", "__main__"}  # helptext: how --help shows the commands


def modules() -> dict[str, ast.Module]:
    found = {p.stem: ast.parse(p.read_text()) for p in sorted(SRC.glob("*.py"))}
    assert {"cli", "pipeline", "fit", "forecast"} <= set(found), f"no package found under {SRC}"
    return found


def imported(tree: ast.Module, names: set[str]) -> set[str]:
    """seqcast modules a module imports anywhere (module level and inside functions), and top-level packages."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                out.add(parts[1] if parts[0] == "seqcast" and len(parts) > 1 else parts[0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] != "seqcast":
                out.add(parts[0])
            elif len(parts) > 1:
                out.add(parts[1])
            else:  # from seqcast import engine, rundir
                out |= {a.name for a in node.names if a.name in names}
    return out


def test_no_import_cycle_anywhere() -> None:
    mods = modules()
    graph = {name: imported(tree, set(mods)) & set(mods) - {name} for name, tree in mods.items()}
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_modules_are_small_enough_to_read_in_one_sitting() -> None:
    sizes = {p.stem: len(p.read_text().splitlines()) for p in SRC.glob("*.py")}
    total = sum(sizes.values())
    for name, n in sizes.items():
        assert n <= 450, f"{name}.py has {n} lines"
        assert n <= total / 5, f"{name}.py holds {n} of the package's {total} lines"


def test_only_the_cli_layer_prints() -> None:
    mods = modules()
    for name, tree in mods.items():
        if name in CLI_LAYER:
            continue
        used = imported(tree, set(mods))
        assert not used & {"rich", "typer", "console", "cli"}, (
            f"{name}.py imports {sorted(used & {'rich', 'typer', 'console', 'cli'})}"
        )
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"]
        assert not calls, f"{name}.py calls print()"
