"""Nothing a model says reaches generated Python: only our identifiers and integer literals do."""

from __future__ import annotations

import re

import ircheck
from ircheck.api import compile_source
from ircheck.codegen import Packing, compile_ts

HOSTILE = ["__import__", "exec", "eval", "__builtins__", "os", "s", "out", "vio", "n", "x0", "S0", "True",
           "frozenset", "globals", "__class__", "lambda_", "_"]


def hostile_model() -> str:
    flags = "\n".join(f"flag {n}" for n in HOSTILE)
    sets = "; ".join(f"set {n}" for n in HOSTILE)
    return f"""pic master : i8259 {{ base 0x20 }}
device __init__ {{ irq master.3 edge raises 1 }}
idt {{ 0x23 -> __del__ interrupt_gate dpl 0 }}
{flags}
counter __dict__ max 2
handler __del__ {{ {sets}; inc __dict__; eoi }}
thread system {{ if __import__ and exec {{ call __reduce__ }} }}
function __reduce__ {{ clear os }}
check no_lost_irq, no_reentry
check invariant not (x0 and S0)
"""


def test_generated_source_holds_only_our_identifiers() -> None:
    ts = compile_source(hostile_model())
    src = compile_ts(ts, Packing.of(ts)).source
    idents = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src))
    ours = {"def", "succ", "succ_ids", "props", "unfinished", "s", "out", "vio", "n", "r", "if", "elif", "else",
            "and", "or", "not", "in", "return", "frozenset", "True", "append"}
    ours |= {i for i in idents if re.fullmatch(r"(x|S|pending)\d+", i)}
    assert idents <= ours, sorted(idents - ours)
    for name in ("__import__", "exec", "eval", "__builtins__", "__init__", "__del__", "__dict__", "__reduce__"):
        assert name not in src


def test_hostile_names_check_normally() -> None:
    r = ircheck.check_source(hostile_model())
    assert not r.errors
    assert r.check("invariant").status == "violated"  # the handler sets both x0 and S0
    assert r.check("no_lost_irq").status == "holds"
