"""The Promela export keeps every constant's meaning (issue 21, item 5): SPIN computes in a 32-bit
int, so `c < 2147483648` would be `c < -2147483648` and `c < 4294967297` would be `c < 1`. The
export folds what the variables' ranges decide and refuses (IRQ903, at the line) what it cannot;
SPIN's verdict on the export equals ircheck's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.grammar.diagnostics import IrcheckError
from ircheck.promela import to_promela
from ircheck.spec.ts import TRUE, Bin, C, Label, StateProp, Transition, TransitionSystem, V, Var
from tests.support import cli
from tests.support.generators import (
    Shape,
    call_chain,
    long_invariant,
    long_sum_if,
    wide_constant,
    wide_if,
    wide_sum,
)
from tests.support.spin import needs_spin, spin_violates

SPIN1 = """counter c max 3
thread t { inc c; inc c }
check invariant c < 2147483648
"""

SPIN2 = """counter c max 3
flag f
thread t { inc c; if c < 4294967297 { set f } }
check invariant not f
"""


def agree(text: str, tmp_path: Path) -> str:
    """ircheck's verdict on the exported checks, asserted equal to SPIN's on the export."""
    r = ircheck.check_source(text, engine="explicit")
    assert not r.errors, [d.render() for d in r.errors]
    statuses = {c.name: c.status for c in r.checks}
    assert "inconclusive" not in statuses.values()
    violated = "violated" in statuses.values()
    assert spin_violates(to_promela(compile_source(text)), tmp_path) == violated, (text, statuses)
    return "violated" if violated else "holds"


@needs_spin
def test_invariant_below_two_to_the_31_holds_for_spin(tmp_path: Path) -> None:
    """Exported as is, SPIN read 2147483648 as -2147483648 and found the invariant false at depth 0."""
    assert agree(SPIN1, tmp_path) == "holds"
    assert "2147483648" not in code(to_promela(compile_source(SPIN1)))


@needs_spin
def test_condition_against_two_to_the_32_plus_one_is_violated_for_spin(tmp_path: Path) -> None:
    """Exported as is, 4294967297 wrapped to 1: `c < 1` is false when c = 1, f is never set, SPIN
    missed the violation ircheck reports."""
    assert agree(SPIN2, tmp_path) == "violated"


@needs_spin
@pytest.mark.parametrize("shape", [
    wide_constant(2**31, "<"), wide_constant(2**31 - 1, ">="), wide_constant(2**32 + 1, "=="),
    wide_constant(2**64, "!="), wide_if(2**32 + 1), wide_if(3), wide_sum(2**32), wide_sum(2**300),
    call_chain(60), long_sum_if(1000, 3), long_invariant(201, 603), long_invariant(201, 604),
], ids=lambda s: s.name)
def test_spin_agrees_on_deep_shapes(shape: Shape, tmp_path: Path) -> None:
    assert agree(shape.text, tmp_path) == shape.expect["invariant"]


def test_what_the_ranges_cannot_decide_is_refused_with_its_line() -> None:
    """(c << 40) < 2**40 + 1 leaves 32 bits on the way (c << 40 is up to 3 * 2**40): IRQ903 at the
    property's line, naming the constant, never a silently wrapped export."""
    ts = TransitionSystem([Var("c", 4)], [Transition(Label("cpu0", "nop", 2), TRUE, ((0, C(1)),), group="cpu0")],
                          [StateProp("invariant", Bin("<", Bin("<<", V(0), C(40)), C(2**40 + 1)), "m", line=7)],
                          checks=["invariant"])
    with pytest.raises(IrcheckError) as err:
        to_promela(ts)
    d = err.value.diagnostics[0]
    assert d.code == "IRQ903" and d.line == 7 and str(2**40 + 1) in d.message


def test_cli_export_of_a_wide_constant(tmp_path: Path) -> None:
    m = tmp_path / "m.irq"
    m.write_text(SPIN2)
    p = cli.ircheck("export", "--promela", str(m))
    assert p.returncode == 0 and "Traceback" not in p.stderr
    assert "4294967297" not in code(p.stdout) and "d_step" in p.stdout


def code(promela: str) -> str:
    """The Promela without its comments (transition comments quote the model's statements)."""
    return re.sub(r"/\*.*?\*/", "", promela, flags=re.S)
