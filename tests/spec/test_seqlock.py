"""Sequence counters and sequential locks (R2; issue 17 item 5), each rule in both directions.

Sources: torvalds/linux include/linux/seqlock.h - `__read_seqcount_begin` (spins while the sequence
is odd), `read_seqcount_retry`/`read_seqretry` (`s->sequence != start`), `raw_write_seqcount_begin`/
`_end` (`s->sequence++`), `write_seqlock` (`spin_lock(&sl->lock); write_seqcount_begin(...)`) and its
`_irqsave`/`_irq`/`_bh` variants; Documentation/locking/seqlock.rst (a write side section "must never
be preempted or interrupted by read side sections ... the kernel will livelock"; seqcount_t "does not
protect against multiple writers"; hardirq/softirq readers need the writer's IRQs/BH off)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.grammar.parser import parse
from ircheck.grammar.printer import format_source
from ircheck.promela import to_promela
from ircheck.spec.repairs import candidates, combine
from tests.support.naive import reachable
from tests.support.spin import needs_spin, spin_violates

LIVELOCK = """pic master : i8259 { base 0x20 }
device timer { irq master.0 edge raises 1 }
request_irq 0 tick
seqcount stats_seq
data stats
handler tick { read_seq stats_seq { read stats } }
thread upd on cpu0 { BEGIN write_seqcount_begin stats_seq; write stats; write_seqcount_end stats_seq END }
check no_deadlock, no_data_race
"""
PLAIN = LIVELOCK.replace("BEGIN ", "").replace(" END", "")
IRQ_OFF = LIVELOCK.replace("BEGIN", "local_irq_save;").replace("END", "; local_irq_restore")


def result(text: str, check: str, engine: str = "explicit") -> ircheck.CheckResult:
    r = ircheck.check_source(text, engine=engine)
    assert not r.errors, [d.render() for d in r.errors]
    return r.check(check)


def test_r2_a_reader_interrupting_its_writer_on_its_cpu_livelocks_and_the_trace_shows_it() -> None:
    """The counterexample: the writer's begin, the timer's interrupt, the reader that never proceeds."""
    res = result(PLAIN, "no_deadlock")
    assert res.status == "violated"
    assert "retries read_seqbegin stats_seq for ever" in res.message
    assert "waits for stats_seq's sequence to be even" in res.message and "written by thread upd" in res.message
    actions = [s.action for s in res.trace]
    assert actions[0] == "write_seqcount_begin stats_seq"
    assert any("take IRQ 0" in a for a in actions)
    assert res.blocked is not None and "read_seqbegin stats_seq" in res.blocked.action


def test_r2_the_writer_with_irqs_off_holds_and_its_reads_are_no_race() -> None:
    assert result(IRQ_OFF, "no_deadlock").status == "holds"
    assert result(IRQ_OFF, "no_data_race").status == "holds"


def test_r2_a_softirq_reader_needs_the_writer_s_bh_off() -> None:
    text = """seqcount s
data d
softirq rx { read_seq s { read d } }
thread w on cpu0 { BEGIN write_seqcount_begin s; raise_softirq rx; write d; write_seqcount_end s END }
check no_deadlock
"""
    assert result(text.replace("BEGIN ", "local_irq_enable; ").replace(" END", ""), "no_deadlock").status == "violated"
    bh = text.replace("BEGIN", "local_bh_disable;").replace("END", "; local_bh_enable")
    assert result(bh, "no_deadlock").status == "holds"


READER_ELSEWHERE = """cpus 2
seqcount s
data d
thread r on cpu1 { read_seq s { read d } }
thread w on cpu0 { write_seqcount_begin s; write d; write_seqcount_end s }
check no_deadlock, no_data_race
"""


def test_r2_a_reader_on_another_cpu_retries_and_finishes_and_is_no_race() -> None:
    assert result(READER_ELSEWHERE, "no_deadlock").status == "holds"
    assert result(READER_ELSEWHERE, "no_data_race").status == "holds"
    ts, states = reachable(READER_ELSEWHERE)
    # the reader saw the sequence change under it on some run, and then retries
    assert any(st["s.reader.r"] == 2 for st in states)
    retries = [t for t in ts.transitions if t.label.action == "read_seqretry s  (true)"]
    assert retries


def test_r2_a_read_under_the_retry_loop_still_races_with_a_write_outside_any_writer() -> None:
    text = READER_ELSEWHERE.replace("write_seqcount_begin s; write d; write_seqcount_end s",
                                    "write d; write_seqcount_begin s; write_seqcount_end s")
    assert result(text, "no_data_race").status == "violated"
    plain = READER_ELSEWHERE.replace("read_seq s { read d }", "read d")
    assert result(plain, "no_data_race").status == "violated"  # no retry loop: an ordinary race


def test_r2_two_writers_of_a_seqcount_race_on_the_sequence_and_a_seqlock_serializes_them() -> None:
    text = """cpus 2
seqcount s
thread a on cpu0 { write_seqcount_begin s; nop; write_seqcount_end s }
thread b on cpu1 { write_seqcount_begin s; nop; write_seqcount_end s }
check no_data_race
"""
    res = result(text, "no_data_race")
    assert res.status == "violated" and "data race on s" in res.message and "the sequence itself races" in res.message
    locked = text.replace("seqcount s", "seqlock s").replace("write_seqcount_begin", "write_seqlock") \
        .replace("write_seqcount_end", "write_sequnlock")
    assert result(locked, "no_data_race").status == "holds"
    one = text.replace("thread b on cpu1 { write_seqcount_begin s; nop; write_seqcount_end s }\n", "")
    assert result(one, "no_data_race").status == "holds"


JIFFIES = """pic master : i8259 { base 0x20 }
device timer { irq master.0 edge raises 1 }
request_irq 0 tick
seqlock jl
data j
handler tick { write_seqlock jl; write j; write_sequnlock jl }
thread settime on cpu0 { TAKE jl; write j; DROP jl }
check no_deadlock, lockdep
"""


def test_r2_a_seqlock_writer_holds_its_spinlock_so_k3_and_lockdep_apply() -> None:
    plain = JIFFIES.replace("TAKE", "write_seqlock").replace("DROP", "write_sequnlock")
    res = result(plain, "no_deadlock")
    assert res.status == "violated" and "spins for ever on jl" in res.message
    ld = result(plain, "lockdep")
    assert ld.status == "violated" and "{IN-HARDIRQ-W} -> {HARDIRQ-ON-W}" in ld.message


@pytest.mark.parametrize("lock, unlock", [("write_seqlock_irqsave", "write_sequnlock_irqrestore"),
                                          ("write_seqlock_irq", "write_sequnlock_irq")])
def test_r2_a_seqlock_writer_with_irqs_off_holds(lock: str, unlock: str) -> None:
    text = JIFFIES.replace("TAKE", lock).replace("DROP", unlock)
    assert result(text, "no_deadlock").status == "holds"
    assert result(text, "lockdep").status == "holds"


def test_r2_write_seqlock_bh_does_not_keep_a_hardirq_writer_out() -> None:
    text = JIFFIES.replace("TAKE", "write_seqlock_bh").replace("DROP", "write_sequnlock_bh")
    assert result(text, "no_deadlock").status == "violated"


def test_r2_the_sequence_is_odd_exactly_inside_a_writer() -> None:
    _ts, states = reachable(PLAIN.replace("raises 1", "raises 0"))
    odd = {st["upd.pc"] for st in states if st["stats_seq.seq"] == 1}
    even = {st["upd.pc"] for st in states if st["stats_seq.seq"] == 0}
    assert odd and even and not odd & even


def test_r2_read_seq_inside_its_own_read_seq_is_refused_with_its_position() -> None:
    r = ircheck.check_source("seqcount s\ndata d\nthread t on cpu0 { read_seq s { read_seq s { read d } } }\n")
    assert r.errors and r.errors[0].code == "IRQ319"
    assert (r.errors[0].line, r.errors[0].column) == (3, 33)


def test_r2_operands_of_the_wrong_kind_are_refused() -> None:
    r = ircheck.check_source("seqcount s\nthread t on cpu0 { write_seqlock s; write_sequnlock s }\n")
    assert r.errors and r.errors[0].code == "IRQ103" and "'s' is a seqcount, not a seqlock" in r.errors[0].message
    r = ircheck.check_source("spinlock s\ndata d\nthread t on cpu0 { read_seq s { read d } }\n")
    assert r.errors and r.errors[0].code == "IRQ103"


def test_r2_suggest_turns_the_seqcount_writer_s_irqs_off_and_the_seqlock_writer_irqsave() -> None:
    """--suggest (R2, seqlock.rst): IRQs off around a seqcount's writer whose reader is a handler (BH off
    for a softirq reader); a seqlock's writer gets the `_irqsave` flavour of its spinlock (K1)."""
    model = parse(PLAIN, "p.irq")
    fixes = {c.key: combine(model.source, (c,)) for c in candidates(model)}
    fixed = next(v for k, v in fixes.items() if k.startswith("seq_off:upd:stats_seq"))
    assert "local_irq_save; write_seqcount_begin stats_seq" in fixed and "stats_seq; local_irq_restore }" in fixed
    assert ircheck.check_source(fixed).check("no_deadlock").status == "holds"
    soft = parse(PLAIN.replace("handler tick", "softirq tick"), "s.irq")
    assert any("local_bh_disable" in c.description for c in candidates(soft))
    jiffies = parse(JIFFIES.replace("TAKE", "write_seqlock").replace("DROP", "write_sequnlock"), "j.irq")
    fixes = {c.key: combine(jiffies.source, (c,)) for c in candidates(jiffies)}
    fixed = fixes["irqsave:settime:jl"]
    assert "write_seqlock_irqsave jl; write j; write_sequnlock_irqrestore jl" in fixed
    assert ircheck.check_source(fixed).check("no_deadlock").status == "holds"
    assert ircheck.check_source(fixed).check("lockdep").status == "holds"


ENGINE_MODELS = [PLAIN, IRQ_OFF, READER_ELSEWHERE, JIFFIES.replace("TAKE", "write_seqlock").replace("DROP", "write_sequnlock")]


@pytest.mark.parametrize("text", ENGINE_MODELS)
def test_r2_z3_agrees_and_fmt_keeps_the_statements(text: str) -> None:
    for check in ("no_deadlock", "no_data_race") if "no_data_race" in text else ("no_deadlock",):
        explicit = result(text, check).status
        assert result(text, check, "smt").status == explicit, check
    assert parse(format_source(text), "f.irq") == parse(text, "f.irq")


@needs_spin
@pytest.mark.parametrize("text", ENGINE_MODELS)
def test_r2_spin_agrees_on_the_export(text: str, tmp_path: Path) -> None:
    for check in ("no_deadlock", "no_data_race") if "no_data_race" in text else ("no_deadlock",):
        explicit = result(text, check).status
        pml = to_promela(compile_source(text, checks=[check]))
        assert spin_violates(pml, tmp_path) == (explicit == "violated"), check
