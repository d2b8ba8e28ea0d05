"""docs/semantics.md is where every rule ID points, and the docs' links stay inside the repository.

(a) every rule ID (P1, X8, L3b, D0, K6, ...) cited in spec/, checker/, grammar/, models/, docs/,
    README.md or ARCHITECTURE.md has a heading (and its anchor) in docs/semantics.md;
(b) every markdown link in README.md and docs/*.md points to a file of this repository that
    exists, and to an anchor that exists in it - no web address, no path outside the checkout;
(c) README.md and the other docs/*.md pages link the rule IDs their prose tells
    (`[L6](semantics.md#l6)`), so a reader can follow every one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

SEMANTICS = ROOT / "docs" / "semantics.md"
RULE = re.compile(r"\b[PXLDKWRCA][0-9]+[a-z]?\b")
CITING = ["spec", "checker", "grammar", "models", "docs"]
CITING_FILES = ["README.md", "ARCHITECTURE.md"]
DOC_PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

# Tokens that look like rule IDs but are not rules (file, token): reason.
NOT_RULES = {
    ("checker/por.py", "C0"): "the ample-set conditions C0-C3 of partial-order reduction",
    ("checker/por.py", "C3"): "the ample-set conditions C0-C3 of partial-order reduction",
    ("checker/pictures.py", "P0"): "a Mermaid participant id",
    ("spec/resolve_scope.py", "X86"): "the name of the x86 milestone constant",
}
_NOQA = re.compile(r"noqa:\s*[A-Z]+[0-9]+(\s*,\s*[A-Z]+[0-9]+)*")  # flake8/ruff codes (C901)
_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def citing_files() -> list[Path]:
    out = [ROOT / f for f in CITING_FILES]
    for d in CITING:
        out += [p for p in (ROOT / d).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                and p.suffix not in (".pyc", ".png", ".svg")]
    return sorted(out)


def cited_rules() -> dict[str, list[str]]:
    """rule ID -> where it is cited (file:line)."""
    found: dict[str, list[str]] = {}
    for p in citing_files():
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for no, line in enumerate(text.splitlines(), 1):
            for m in RULE.finditer(_NOQA.sub("", line)):
                if (rel(p), m.group()) not in NOT_RULES:
                    found.setdefault(m.group(), []).append(f"{rel(p)}:{no}")
    return found


def strip_code(text: str) -> str:
    """Markdown prose only: fenced blocks and inline code spans blanked out (line numbers kept)."""
    text = _FENCE.sub(lambda m: "\n" * m.group().count("\n"), text)
    return _CODE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, lower case, punctuation dropped, spaces -> '-'."""
    text = _LINK.sub(lambda m: m.group(2), heading)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    out = set(_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for m in _HEADING.finditer(_FENCE.sub(lambda f: "\n" * f.group().count("\n"), text)):
        s = slug(m.group(2))
        n = seen.get(s, 0)
        out.add(s if n == 0 else f"{s}-{n}")
        seen[s] = n + 1
    return out


def rule_headings() -> set[str]:
    """The rule IDs that head a heading of docs/semantics.md and have their `<a id>` anchor."""
    text = SEMANTICS.read_text(encoding="utf-8")
    ids = set(_ANCHOR.findall(text))
    out = set()
    for m in _HEADING.finditer(text):
        first = m.group(2).split()[0] if m.group(2).split() else ""
        if RULE.fullmatch(first) and first.lower() in ids:
            out.add(first)
    return out


def test_every_cited_rule_has_a_heading() -> None:
    have = rule_headings()
    missing = {r: where for r, where in cited_rules().items() if r not in have}
    assert not missing, "rule IDs cited without a heading `### ID ...` (and `<a id=\"id\">`) in docs/semantics.md:\n" + \
        "\n".join(f"  {r}: cited at {', '.join(w[:5])}{' ...' if len(w) > 5 else ''}" for r, w in sorted(missing.items()))


def test_the_new_rules_are_there() -> None:
    assert {"D0", "K6", "L3b", "X10"} <= rule_headings()


def links(page: Path) -> list[tuple[int, str]]:
    text = strip_code(page.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for rx, grp in ((_LINK, 3), (_REF_DEF, 1)):
        for m in rx.finditer(text):
            out.append((text.count("\n", 0, m.start()) + 1, m.group(grp)))
    return out


def broken(page: Path, target: str) -> str | None:
    """Why `target` (a link on `page`) does not resolve inside the repository, or None."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
        return "points outside the repository (a web or other URL)"
    path, _, anchor = target.partition("#")
    dest = (page.parent / path).resolve() if path else page
    try:
        dest.relative_to(ROOT.resolve())
    except ValueError:
        return "points outside the repository"
    if not dest.exists():
        return "no such file"
    if anchor:
        if dest.suffix != ".md":
            return "an anchor into a file that is not markdown"
        if anchor not in anchors(dest):
            return f"no anchor #{anchor} in {rel(dest)}"
    return None


@pytest.mark.parametrize("page", DOC_PAGES, ids=rel)
def test_links_resolve_inside_the_repository(page: Path) -> None:
    bad = [f"  {rel(page)}:{no}: ({target}) {why}" for no, target in links(page)
           if (why := broken(page, target)) is not None]
    assert not bad, "broken links:\n" + "\n".join(bad)


@pytest.mark.parametrize("page", DOC_PAGES, ids=rel)
def test_no_reference_to_the_design_workspace(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "../shared/" not in text and "/work/shared" not in text, \
        f"{rel(page)} refers to files outside the repository; link docs/semantics.md or docs/reference.md instead"


@pytest.mark.parametrize("page", [p for p in DOC_PAGES if p != SEMANTICS], ids=rel)
def test_rule_ids_in_prose_are_links(page: Path) -> None:
    text = strip_code(page.read_text(encoding="utf-8"))
    target = "semantics.md" if page.parent == SEMANTICS.parent else "docs/semantics.md"

    def linked(m: re.Match[str]) -> str:
        label, dest = m.group(2), m.group(3)
        if RULE.fullmatch(label) and dest == f"{target}#{label.lower()}":
            return ""
        return m.group()
    rest = _LINK.sub(linked, text)
    bad = [f"  {rel(page)}:{rest.count(chr(10), 0, m.start()) + 1}: {m.group()}" for m in RULE.finditer(rest)]
    assert not bad, f"rule IDs not linked to {target}#<id>:\n" + "\n".join(bad)


def test_semantics_anchors_are_lower_case_ids() -> None:
    """Each rule heading's anchor is its ID in lower case, right above the heading."""
    lines = SEMANTICS.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^#{2,6}\s+(\S+)", line)
        if m and RULE.fullmatch(m.group(1)):
            assert i > 0 and lines[i - 1].strip() == f'<a id="{m.group(1).lower()}"></a>', \
                f"docs/semantics.md:{i + 1}: `{line}` needs `<a id=\"{m.group(1).lower()}\"></a>` on the line above"
