"""The check catalogue (spec/checks.py) is the one declaration of the checks: everything that names
checks agrees with it, and every check a lowering produces is in it."""

from __future__ import annotations

import json
import re

from ircheck.api import compile_source
from ircheck.promela import SAFETY_EXPORTED
from ircheck.spec import checks
from ircheck.spec.resolve import SUPPORTED_CHECKS
from tests.conftest import MODELS, ROOT


def test_every_check_is_described_once() -> None:
    names = [c.name for c in checks.CATALOGUE]
    assert len(names) == len(set(names))
    for c in checks.CATALOGUE:
        assert c.short and c.full.endswith(".") and not c.full.startswith("The model's check"), c.name
    assert set(checks.ALL_CHECKS) == SUPPORTED_CHECKS
    assert checks.IMPLICIT_CHECKS == ("counter_range",)
    assert set(checks.DEFAULT_CHECKS) == set(checks.ALL_CHECKS) - {"max_nesting", "invariant"}


def test_the_editor_grammar_lists_exactly_the_checks() -> None:
    grammar = json.loads((ROOT / "editors" / "irq.tmLanguage.json").read_text())
    text = json.dumps(grammar)
    m = re.search(r"no_lost_irq\|[a-z_|]+", text)
    assert m is not None
    assert set(m.group(0).split("|")) == set(checks.ALL_CHECKS)


def test_the_promela_export_reads_the_catalogue() -> None:
    assert SAFETY_EXPORTED == {c.name for c in checks.CATALOGUE if c.exported}
    assert not any(c.exported for c in checks.CATALOGUE if c.kind in (checks.Kind.LIVENESS, checks.Kind.FACTS))


def test_every_check_a_bundled_model_produces_is_catalogued_with_its_kind() -> None:
    seen: dict[str, set[str]] = {}
    for p in sorted(MODELS.glob("*.irq")):
        ts = compile_source(p.read_text(), str(p))
        for sp in ts.state_props:
            seen.setdefault(sp.check, set()).add("state")
        for t in ts.transitions:
            for check, _msg in t.violates:
                if check not in (ts.bound_check, ts.fact_check):
                    seen.setdefault(check, set()).add("transition")
        for r in ts.requests:
            seen.setdefault(r.check, set()).add("request")
        assert set(ts.checks) <= set(checks.BY_NAME), p.name
    for name, how in seen.items():
        info = checks.BY_NAME[name]
        if "request" in how:
            assert info.kind is checks.Kind.LIVENESS, name
        else:
            assert info.kind is not checks.Kind.LIVENESS, name
