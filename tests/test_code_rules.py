"""Rules of the package's code that a reader cannot see at a glance (issue 15 items 4 and 5).

- No check name in checker/: engines and output read what they need from the catalogue
  (spec/checks.py) or the transition system, so a check is added or renamed in spec/ alone.
- No import inside a function in checker/, spec/ or grammar/, but for the commented allow-list
  below: such an import would hide an import cycle, or make a module's dependencies invisible.
- No import cycle between the package's modules, and every module imports on its own.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from ircheck.spec.checks import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"checker": "ircheck", "spec": "ircheck.spec", "grammar": "ircheck.grammar"}

# (file, module imported inside a function): each kept lazy for a reason that is not a cycle
LAZY_IMPORTS = {
    ("checker/api.py", "ircheck.smt"): "z3 is loaded only when --engine smt runs (start-up time, memory)",
    ("checker/engine_choice.py", "ircheck.smt"): "z3 is loaded only on --engine auto's fallback",
    ("checker/explicit_run.py", "ircheck.ray_run"): "Ray, an optional dependency (ircheck[cluster]), only when asked for",
    ("checker/progress.py", "rich.console"): "rich (~50 ms to import) only when a progress line is drawn",
    ("checker/progress.py", "rich.text"): "rich only when a progress line is drawn",
    ("checker/progress.py", "rich.live"): "rich only when a progress line is drawn",
    ("checker/lsp.py", "ircheck.lsp_server"): "pygls, an optional dependency (ircheck[lsp]), only when serving",
    ("checker/cli.py", "ircheck.export"): "networkx (~0.1 s to import) only for `ircheck export`",
    ("spec/waits.py", "networkx"): "networkx (~0.1 s to import) only for models with lock cycles to look for",
}


def _files() -> dict[str, Path]:
    """module name -> file, for every module of the package as it installs."""
    out: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder)
            if rel.parts[0] in FOLDERS or any(p.startswith(".") for p in rel.parts):
                continue  # a worktree's symlinks to spec/ and grammar/ inside checker/
            parts = [package, *rel.with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def check_names_in(source: str) -> list[tuple[int, str]]:
    """(line, check) for every check name in the code and comments of `source` (docstrings are prose
    for the reader and may cite a check). A name with an underscore counts anywhere as a whole word;
    a plain word (lockdep, invariant) is English too and counts as a name or a string equal to it."""
    tree = ast.parse(source)
    skip = _docstring_lines(tree)
    compound = [(c.name, re.compile(rf"(?<![\w]){re.escape(c.name)}(?![\w])")) for c in CATALOGUE if "_" in c.name]
    plain = {c.name for c in CATALOGUE if "_" not in c.name}
    out: list[tuple[int, str]] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.NAME, tokenize.STRING, tokenize.COMMENT) or tok.start[0] in skip:
            continue
        for name, pattern in compound:
            if pattern.search(tok.string):
                out.append((tok.start[0], name))
        if tok.string in plain or (tok.type == tokenize.STRING and tok.string.strip("\"'") in plain):
            out.append((tok.start[0], tok.string.strip("\"'")))
    return out


def test_no_check_name_in_checker() -> None:
    bad = [f"checker/{p.name}:{line}: {name}" for p in sorted((ROOT / "checker").glob("*.py"))
           for line, name in check_names_in(p.read_text(encoding="utf-8"))]
    assert not bad, "read it from spec/checks.py (the catalogue) or the transition system:\n" + "\n".join(bad)


def test_the_check_name_rule_sees_what_it_must() -> None:
    found = check_names_in('"""no_deadlock in a docstring is prose"""\nx = "no_deadlock"\n# no_starvation\n'
                           'y = "lockdep"\nz = "the lockdep facts"\nif c == no_lost_irq: pass\n')
    assert found == [(2, "no_deadlock"), (3, "no_starvation"), (4, "lockdep"), (6, "no_lost_irq")]


def _function_imports(path: Path) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom):
                    out.append((node.lineno, node.module or ""))
                elif isinstance(node, ast.Import):
                    out.extend((node.lineno, a.name) for a in node.names)
    return out


def test_no_import_inside_a_function() -> None:
    bad, used = [], set()
    for path in _files().values():
        rel = path.relative_to(ROOT).as_posix()
        for line, module in _function_imports(path):
            if (rel, module) in LAZY_IMPORTS:
                used.add((rel, module))
            else:
                bad.append(f"{rel}:{line}: import {module} inside a function")
    assert not bad, "import at the top of the module (a cycle it would hide must be broken):\n" + "\n".join(bad)
    assert used == set(LAZY_IMPORTS), f"allow-list entries no longer needed: {set(LAZY_IMPORTS) - used}"


def _runtime_imports(tree: ast.Module, modules: set[str]) -> set[str]:
    """The package's modules a module imports when it runs (not under `if TYPE_CHECKING:`)."""
    out: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    out.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            for field in ("body", "orelse", "handlers", "finalbody"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                     ast.ClassDef)):
                    visit([n for n in inner if isinstance(n, ast.stmt)] +
                          [s for h in inner if isinstance(h, ast.ExceptHandler) for s in h.body])
    visit(tree.body)
    return out & modules


def test_no_import_cycle() -> None:
    files = _files()
    graph = {m: _runtime_imports(ast.parse(p.read_text(encoding="utf-8")), set(files)) for m, p in files.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> None:  # white/grey/black: a grey module met again closes a cycle
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if n == m:
                continue
            if state.get(n) == 1:
                cycles.append([*stack[stack.index(n):], n])
            elif n not in state:
                dfs(n)
        stack.pop()
        state[m] = 2
    for m in sorted(graph):
        if m not in state:
            dfs(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.slow  # ~30 s: the package's start-up once per module
def test_each_module_imports_on_its_own() -> None:
    """Each module imported first, in a process where no other module of the package is loaded."""
    code = ("import importlib, sys\n"
            "bad = []\n"
            "for name in sys.argv[1:]:\n"
            "    for m in [m for m in sys.modules if m == 'ircheck' or m.startswith('ircheck.')]:\n"
            "        del sys.modules[m]\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except ModuleNotFoundError as e:\n"
            "        if not (e.name or '').startswith('ircheck'):\n"
            "            continue  # an optional dependency that is not installed (the lsp extra)\n"
            "        bad.append(f'{name}: {type(e).__name__}: {e}')\n"
            "    except Exception as e:\n"
            "        bad.append(f'{name}: {type(e).__name__}: {e}')\n"
            "print('\\n'.join(bad))\n")
    names = sorted(m for m in _files() if m != "ircheck.__main__")  # that one runs the command
    p = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "", p.stdout
