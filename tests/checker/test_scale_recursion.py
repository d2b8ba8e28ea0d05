"""Issue 21 items 4/7: the recursion check of `resolve` walks call chains with an explicit stack,
so a chain of thousands of `call`s is resolved (it raised RecursionError past ~990 levels), and
a cycle at the end of a long chain is still reported as IRQ306 naming the cycle."""

from __future__ import annotations

import pytest

from ircheck.grammar.diagnostics import IrcheckError
from ircheck.grammar.parser import parse
from ircheck.spec.resolve import resolve


def chain(n: int, cycle: bool = False) -> str:
    out = ["pic master : i8259 { base 0x20 }", "device nic { irq master.3 edge raises 1 }",
           "idt { 0x23 -> isr interrupt_gate dpl 0 }", "handler isr { call f0; eoi }", "data buf"]
    for k in range(n):
        nxt = f"call f{k + 1}" if k + 1 < n else ("call f0" if cycle else "read buf")
        out.append(f"function f{k} {{ {nxt} }}")
    return "\n".join(out) + "\n"


def test_three_thousand_calls_resolve() -> None:
    d = resolve(parse(chain(3000)))
    assert len([c for c in d.code.values() if c.kind == "function"]) == 3000


def test_cycle_after_a_long_chain_is_reported() -> None:
    with pytest.raises(IrcheckError) as e:
        resolve(parse(chain(3000, cycle=True)))
    msgs = [d.message for d in e.value.diagnostics if d.code == "IRQ306"]
    assert len(msgs) == 1
    assert msgs[0].startswith("recursive calls: f0 -> f1 -> f2 ->") and msgs[0].endswith("f2999 -> f0")


@pytest.mark.parametrize("src, expected", [
    ("function a { call b }\nfunction b { call a }", ["recursive calls: a -> b -> a"]),
    ("function a { call a }", ["recursive calls: a -> a"]),
    ("function a { call b; call c }\nfunction b { call c }\nfunction c { call b }",
     ["recursive calls: b -> c -> b"]),
])
def test_small_cycles_as_before(src: str, expected: list[str]) -> None:
    with pytest.raises(IrcheckError) as e:
        resolve(parse("thread t { call a }\n" + src + "\n"))
    assert [d.message for d in e.value.diagnostics if d.code == "IRQ306"] == expected
