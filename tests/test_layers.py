"""The import layers of the package: a module imports only from its own layer or the ones below it.

Bottom to top: the base (errors, rules of thumb, the engine connection, statistics), reading the data (config,
presets, identity rules, file formats, time parsing), sources, the unit table and segments, the analyses, the
session and what it shows, the outputs (reports, notebooks), and the face (CLI, package). An AST walk over
every module and notebook, function-level imports included, ``if TYPE_CHECKING:`` blocks excluded (a type
is not a dependency).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "segworkshop"

LAYERS = [
    ("base", {"errors", "worksheet", "version", "masking", "sanitize", "engine", "stats"}),
    ("reading", {"config", "identity", "presets", "delivered", "nested", "timeparse", "traitrules"}),
    ("sources", {"sources"}),
    ("units", {"unit_table", "population", "segments", "workshop", "profile", "memo"}),
    (
        "analyses",
        {
            "compare",
            "privacy",
            "changes",
            "discover",
            "explore",
            "hypotheses",
            "ledger",
            "prioritize",
            "unsuccessful",
            "validate",
            "upload",
            "checklists",
            "demo",
        },
    ),
    ("session", {"charts", "show", "journal", "session", "widgets", "steps"}),
    ("outputs", {"report", "scaffold", "datasets", "lab", "notebooks", "room"}),
    ("face", {"cli", "__main__", "__init__"}),
]
LEVEL = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    """The layer key of a module path inside the package: ``demo.ecomm`` is ``demo``."""
    return module.split(".")[0] or "__init__"


def _imports(tree: ast.AST, package: list[str]) -> set[str]:
    """The package modules a tree imports (relative and absolute), outside ``if TYPE_CHECKING:`` blocks."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                parts = [*base, *(node.module.split(".") if node.module else [])]
                if node.module is None:
                    found.update(".".join([*parts, a.name]) for a in node.names)
                else:
                    found.add(".".join(parts))
            elif node.module and node.module.split(".")[0] == "segworkshop":
                rest = node.module.split(".")[1:]
                found.update([".".join(rest)] if rest else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("segworkshop."):
                    found.add(alias.name.split(".", 1)[1])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {f for f in found if f}


def _modules() -> dict[str, set[str]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        module = ".".join(parts)
        package = parts[:-1]
        out[module] = _imports(ast.parse(path.read_text()), package)
    return out


def _notebooks() -> dict[str, set[str]]:
    from segworkshop.report import NOTEBOOKS

    out = {}
    for book in sorted(Path(NOTEBOOKS).glob("*.ipynb")):
        cells = json.loads(book.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        out[f"notebooks/{book.name}"] = _imports(ast.parse(code), [])
    return out


def test_every_module_has_a_layer():
    missing = sorted({_top(m) for m in _modules()} - set(LEVEL))
    assert not missing, f"give these modules a layer in tests/test_layers.py: {missing}"


def test_nothing_imports_upward():
    upward = []
    for module, imported in {**_modules(), **_notebooks()}.items():
        level = LEVEL["notebooks"] if module.startswith("notebooks/") else LEVEL[_top(module)]
        for target in imported:
            top = _top(target)
            if top in LEVEL and LEVEL[top] > level and top != _top(module):
                upward.append(f"{module} ({LAYERS[level][0]}) imports {target} ({LAYERS[LEVEL[top]][0]})")
    assert not upward, "imports against the layers:\n" + "\n".join(sorted(upward))


def test_the_walk_sees_function_level_and_absolute_imports():
    tree = ast.parse(
        "def f():\n    from .cli import main\nimport segworkshop.report\nfrom segworkshop import session\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .workshop import Workshop\n"
    )
    assert _imports(tree, []) == {"cli", "report", "session"}
