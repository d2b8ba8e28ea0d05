"""The TextMate grammar stays in step with the parser's keywords and its regexes compile."""

from __future__ import annotations

import json
import re

from ircheck.grammar.parser import keywords
from tests.conftest import ROOT


def test_every_keyword_is_highlighted() -> None:
    g = json.loads((ROOT / "editors" / "irq.tmLanguage.json").read_text())
    assert g["scopeName"] == "source.irq"
    pats = [re.compile(p["match"]) for p in g["patterns"]]
    for kw in keywords():
        assert any(p.fullmatch(kw) for p in pats[1:]), kw
    assert pats[0].fullmatch("# a comment")
