"""Issue 24 item 5, issue 21 item 4: `shared` sharers of one line compile in size linear in the
sharers (the flow end used to enumerate 2^(actions+1) return-value combinations), and the end
of the flow that does not name each woken thread (more than NAMED_WAKES threads on a line)
explores exactly the states of the one that does."""

from __future__ import annotations

import time

import pytest

from ircheck.api import check_source, compile_source
from ircheck.codegen import Packing, compile_ts
from ircheck.spec.prims import genirq_flow


def sharers(n: int, kind: str = "level", threads: int = 0, oneshot: bool = False, raises: int = 1) -> str:
    out = ["pic master : i8259 { base 0x20 }"]
    out += [f"device d{k} {{ irq master.3 {kind} raises {raises if k < 2 else 0} shared }}" for k in range(n)]
    for k in range(n):
        thr = f" thread t{k}{' oneshot' if oneshot else ''}" if k < threads else ""
        out.append(f"request_irq 3 h{k} shared dev_id d{k}{thr}")
    for k in range(n):
        ack = f"ack d{k}" if kind == "level" else "set f"
        ret = "; return wake_thread" if k < threads else ("; return none" if k % 2 else "")
        out.append(f"handler h{k} {{ {ack}{ret} }}")
        if k < threads:
            out.append(f"irq_thread t{k} {{ clear f }}")
    out.append("flag f")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("n", [14, 20, 40, 80])
def test_many_sharers_compile_small(n: int) -> None:
    t0 = time.perf_counter()
    ts = compile_source(sharers(n))
    assert len(ts.transitions) < 10 * n + 50  # was 2^(n+1) flow ends
    assert ts.vars[ts.var_index("irq3.ret")].size == 2  # handled or not: no thread on the line
    src = compile_ts(ts, Packing.of(ts)).source
    # linear in the sharers: ~4,300 characters each from 14 to 80 sharers (a wired-OR ack that ORed
    # every other sharer's `asserting` made it quadratic: 360,686 characters at 40, 1.2 MB at 80)
    assert len(src) < 5000 * n
    assert time.perf_counter() - t0 < 20


def test_twenty_sharers_check_answers() -> None:
    r = check_source(sharers(20), max_states=20000)
    assert not r.errors
    assert r.stats is not None and r.stats.states > 0


@pytest.mark.parametrize("src", [
    sharers(4, "level", threads=4),
    sharers(4, "level", threads=4, oneshot=True),
    sharers(5, "edge", threads=4),
    sharers(4, "edge", threads=4, oneshot=True),
])
def test_unnamed_wakes_same_states(src: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flow end that tests the wake bits explores the same graph as the one that names them."""
    named = check_source(src, engine="explicit", reduction="none")
    monkeypatch.setattr(genirq_flow, "NAMED_WAKES", 0)
    unnamed = check_source(src, engine="explicit", reduction="none")
    assert not named.errors and not unnamed.errors
    assert named.stats is not None and unnamed.stats is not None
    assert (named.stats.states, named.stats.transitions) == (unnamed.stats.states, unnamed.stats.transitions)
    assert [(c.name, c.status) for c in named.checks] == [(c.name, c.status) for c in unnamed.checks]
