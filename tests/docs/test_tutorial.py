"""docs/tutorial.md cannot go stale: every `ircheck` command it shows is run and its output (and
exit status, where shown) must be what the page says; every model file and diff it shows must be
the file in docs/tutorial/. Timings are normalised away (the page uses --no-timings anyway).

To refresh the page after a deliberate change of the output:
    python -m tests.docs.test_tutorial --write docs/tutorial.md
"""

from __future__ import annotations

import difflib
import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.cli import ircheck

PAGES = [ROOT / "docs" / "tutorial.md", ROOT / "docs" / "coming-from.md"]

_FENCE = re.compile(r"```(console|irq|diff)\n(.*?)```", re.S)
_MARK = re.compile(r"<!-- (file|diff): ([^>]*?) -->\s*$")
_TIMINGS = re.compile(r", [\d.]+ s, [\d,]+ states/s, peak \d+ MB")


def run(command: str) -> tuple[str, int]:
    """Run one `ircheck ...` command line from the page in the repository root."""
    argv = shlex.split(command)
    assert argv[0] == "ircheck", f"the page may only run ircheck, not {argv[0]!r}"
    p = ircheck(*argv[1:], timeout=300)
    return _TIMINGS.sub("", p.stdout), p.returncode


def console(body: str) -> str:
    """The block as it should read: each `$ ircheck ...` followed by its real output, each
    `$ echo $?` by the exit status of the command before it."""
    out: list[str] = []
    code = 0
    for line in body.splitlines():
        if not line.startswith("$ "):
            continue
        cmd = line[2:]
        out.append(line)
        if cmd == "echo $?":
            out.append(str(code))
        else:
            text, code = run(cmd)
            out.append(text.rstrip("\n"))
    return "\n".join(out) + "\n"


def expected(kind: str, body: str, mark: tuple[str, str] | None) -> str:
    if kind == "console":
        return console(body)
    if mark is None:
        return body
    what, arg = mark
    if what == "file":
        return (ROOT / arg).read_text()
    a, b = arg.split()
    return "".join(difflib.unified_diff(_model_lines(ROOT / a), _model_lines(ROOT / b), a, b, n=1))


def _model_lines(path: Path) -> list[str]:
    """A step file without its leading comment block (the `# expect:` header and the story): the
    diffs on the page show what changed in the model."""
    lines = path.read_text().splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return lines


def blocks(page: str) -> list[tuple[int, int, str, str, tuple[str, str] | None]]:
    """(start, end, kind, body, marker) of every fenced block the test owns."""
    out = []
    for m in _FENCE.finditer(page):
        before = page[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mk = _MARK.search(before)
        out.append((m.start(2), m.end(2), m.group(1), m.group(2), (mk.group(1), mk.group(2)) if mk else None))
    return out


def refreshed(page: str) -> str:
    parts, pos = [], 0
    for start, end, kind, body, mark in blocks(page):
        parts += [page[pos:start], expected(kind, body, mark)]
        pos = end
    return "".join(parts + [page[pos:]])


def _cases() -> list[tuple[str, int]]:
    return [(p.name, i) for p in PAGES if p.exists() for i in range(len(blocks(p.read_text())))]


@pytest.mark.parametrize(("page", "index"), _cases())
def test_block_matches_what_it_shows(page: str, index: int) -> None:
    text = (ROOT / "docs" / page).read_text()
    _, _, kind, body, mark = blocks(text)[index]
    if kind == "irq" and mark is None:
        return  # an illustrative fragment, not a file: covered by the console blocks that run it
    assert body == expected(kind, body, mark)


def test_the_tutorial_runs_every_step_and_shows_the_exit_statuses() -> None:
    page = (ROOT / "docs" / "tutorial.md").read_text()
    shown = [b for b in blocks(page) if b[2] == "console"]
    commands = [ln for b in shown for ln in b[3].splitlines() if ln.startswith("$ ircheck")]
    for step in range(1, 7):
        assert any(f"docs/tutorial/step{step}.irq" in c for c in commands), step
        assert f"<!-- file: docs/tutorial/step{step}.irq -->" in page or \
            f"docs/tutorial/step{step}.irq -->" in page
    assert sum("$ echo $?" in b[3] for b in shown) >= 3
    assert any("--suggest" in c for c in commands)


def test_a_stale_block_is_caught() -> None:
    body = "$ ircheck --no-timings -q docs/tutorial/step5.irq\ndocs/tutorial/step5.irq: violated\n"
    assert console(body) != body


if __name__ == "__main__":  # pragma: no cover - maintenance: rewrite the generated blocks in place
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        path = Path(sys.argv[2])
        path.write_text(refreshed(path.read_text()))
    else:
        print(__doc__)


@pytest.mark.parametrize("step", sorted((ROOT / "docs" / "tutorial").glob("step*.irq")), ids=lambda p: p.name)
def test_each_step_keeps_its_expect_header(step: Path) -> None:
    """The `# expect:` line of each step file is what the checker says (the page's story)."""
    import ircheck
    from tests.conftest import expectations
    r = ircheck.check_file(step)
    assert {c.name: c.status for c in r.checks} == expectations(step)
