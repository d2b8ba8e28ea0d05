"""The kernel layer under differential testing: explicit engine vs the naive reference search.

Generated models mix SMP, spinlocks in every flavour, mutexes, genirq lines
(edge and level, threaded), softirqs, tasklets, work items, wait queues and
the genirq calls. For each, the explicit engine (generated code, packed
states, parent links, liveness analyses) must find exactly the reachable
states of a plain BFS over the reference step function, the same safety
verdicts with the same shortest trace lengths, and the same lockdep verdict
from the same set of reachable facts.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ircheck
from ircheck.api import compile_source
from tests.checker.test_engine_agreement import Naive, small_enough

CHECKS = ("no_lost_irq", "no_deadlock", "no_reentry", "eoi_balanced", "no_sleep_in_atomic", "no_data_race",
          "lockdep", "no_lost_wakeup")
LIVENESS = ("no_deadlock", "no_lost_wakeup", "no_starvation")
LOCKS = ("l0", "l1")
CONCEPTS = {"cpus 2", "spin_lock", "spin_lock_irqsave", "spin_lock_irq", "spin_lock_bh", "mutex_lock",
            "local_irq_save", "local_bh_disable", "request_irq", "thread", "oneshot", "softirq", "tasklet", "work",
            "wait_event", "sleep_on", "wake_up", "disable_irq", "disable_irq_nosync", "enable_irq", "sleep",
            "raise_softirq", "tasklet_schedule", "queue_work", "return none", "on cpu1", "level", "raises any",
            "busy on cpu", "mutex_lock m }", "local_irq_save; local_irq_save; local_irq_save; local_irq_save",
            "local_bh_disable; local_bh_disable; local_bh_disable; local_bh_disable",
            "disable_irq_nosync 3; disable_irq_nosync 3; disable_irq_nosync 3"}


@st.composite
def critical(draw: st.DrawFn, process: bool) -> str:
    lk = draw(st.sampled_from(LOCKS))
    kind = draw(st.sampled_from(["spin_lock", "spin_lock_irqsave", "spin_lock_irq", "spin_lock_bh"]
                                + (["mutex_lock"] if process else [])))
    unlock = {"spin_lock": "spin_unlock", "spin_lock_irqsave": "spin_unlock_irqrestore",
              "spin_lock_irq": "spin_unlock_irq", "spin_lock_bh": "spin_unlock_bh", "mutex_lock": "mutex_unlock"}[kind]
    if kind == "mutex_lock":
        lk = "m"
    inner = draw(st.sampled_from(["write x", "read x", "set f", f"spin_lock {LOCKS[1 - LOCKS.index(lk)]}; write x; "
                                  f"spin_unlock {LOCKS[1 - LOCKS.index(lk)]}" if lk in LOCKS else "write x"]))
    return f"{kind} {lk}; {inner}; {unlock} {lk}"


@st.composite
def stmt(draw: st.DrawFn, process: bool, irq_ctx: bool) -> str:
    opts = ["write x", "read x", "set f", "clear f", "crit", "raise_softirq s", "tasklet_schedule tk",
            "queue_work w", "wake_up q"]
    if process:
        opts += ["local_irq_save; write x; local_irq_restore", "local_bh_disable; write x; local_bh_enable", "sleep",
                 "wait_event q until f", "if not f { sleep_on q }", "disable_irq 3; enable_irq 3",
                 "disable_irq_nosync 3; enable_irq 3", "enable_irq 3", "mutex_lock m",
                 # nesting past every former clamp (issue 23): the counters must stay exact
                 "local_irq_save; " * 4 + "local_irq_restore; " * 3 + "write x; local_irq_restore",
                 "local_bh_disable; " * 4 + "local_bh_enable; " * 3 + "write x; local_bh_enable",
                 "disable_irq_nosync 3; " * 3 + "enable_irq 3; " * 3 + "enable_irq 3"]
    else:
        opts += ["sleep", "disable_irq_nosync 3"]
    if irq_ctx:
        opts += ["return none"]
    k = draw(st.sampled_from(opts))
    return draw(critical(process)) if k == "crit" else k


@st.composite
def block(draw: st.DrawFn, process: bool, irq_ctx: bool = False) -> str:
    return "; ".join(draw(stmt(process, irq_ctx)) for _ in range(draw(st.integers(1, 2))))


@st.composite
def kernel_models(draw: st.DrawFn) -> str:
    cpus = draw(st.integers(1, 2))
    level = draw(st.booleans())
    threaded = draw(st.booleans())
    out = [f"cpus {cpus}", "pic master : i8259 { base 0x20 }",
           f"device nic {{ irq master.3 {'level' if level else 'edge'} "
           f"raises {draw(st.sampled_from(['1', '2', 'any']))}"
           + (" on cpu1" if cpus == 2 and draw(st.booleans()) else "") + " }",
           "spinlock l0", "spinlock l1", "mutex m", "data x", "flag f", "waitqueue q"]
    if threaded:
        out.append("request_irq 3 isr thread it" + (" oneshot" if level or draw(st.booleans()) else ""))
        out.append(f"irq_thread it {{ {draw(block(True))}{'; ack nic' if level else ''} }}")
        body = draw(block(False, True)) + "; return wake_thread"
    else:
        out.append("request_irq 3 isr")
        body = draw(block(False, True)) + ("; ack nic" if level else "")
    out.append(f"handler isr {{ {body} }}")
    out.append(f"softirq s {{ {draw(block(False))} }}")
    out.append(f"tasklet tk {{ {draw(block(False))} }}")
    out.append(f"work w {{ {draw(block(True))} }}")
    for k in range(draw(st.integers(1, cpus))):
        out.append(f"thread t{k} on cpu{k} {{ {draw(block(True))} }}")
    if draw(st.booleans()):  # unrelated activity that must not hide a context blocked for ever (issue 22)
        out += ["flag g", f"thread busy on cpu{cpus - 1} {{ loop {{ set g; clear g }} }}"]
    out.append("check " + ", ".join(CHECKS))
    return "\n".join(out) + "\n"


def agree(text: str) -> None:
    report = ircheck.check_source(text)
    assert not report.errors, (text, [d.render() for d in report.errors])
    ts = compile_source(text)
    naive = Naive(ts)
    status = {c.name: c.status for c in report.checks}
    assert not naive.bound_hit() or not report.stats.complete
    if naive.bound_hit():
        return
    assert report.stats.states == len(naive.dist), text
    shortest = naive.shortest_safety()
    # lockdep: the same facts reached, the same judgement, the same witness depth
    facts: dict[str, int] = {}
    for s, d in naive.dist.items():
        for ti, _t in naive.succ[s]:
            for check, key in ts.transitions[ti].violates:
                if check == ts.fact_check and (key not in facts or d + 1 < facts[key]):
                    facts[key] = d + 1
    if ts.judge is not None:
        for fv in ts.judge(frozenset(facts)):
            if fv.check not in shortest or facts[fv.witness] < shortest[fv.check]:
                shortest.setdefault(fv.check, facts[fv.witness])
    for name, verdict in status.items():
        if name in LIVENESS or name == "counter_range":
            continue
        if name in shortest:
            assert verdict == "violated", (text, name)
            if name != "lockdep":  # lockdep: a state property (recursion) or the judged witness, whichever came first
                assert len(report.check(name).trace) == shortest[name], (text, name)
        else:
            assert verdict == "holds", (text, name)
    if "no_deadlock" in status:  # state properties first (found during the search), then quiet, then waits
        props = shortest.get("no_deadlock")
        quiet, waits = naive.deadlock(), naive.blocked_forever()
        after = [d for d in (quiet, waits) if d is not None]  # judged after the search: the shallower
        want = props if props is not None else min(after) if after else None
        if want is None:
            assert status["no_deadlock"] == "holds", text
        else:
            assert status["no_deadlock"] == "violated", (text, props, quiet, waits)
            assert len(report.check("no_deadlock").trace) == want, (text, props, quiet, waits)


def test_generator_covers_every_kernel_concept() -> None:
    examples = _examples()
    seen = {c for c in CONCEPTS if any(c in ex for ex in examples)}
    assert seen == CONCEPTS, sorted(CONCEPTS - seen)


def _examples() -> list[str]:
    out: list[str] = []

    @settings(max_examples=400, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(kernel_models())
    def collect(text: str) -> None:
        out.append(text)
    collect()
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_kernel_engine_agrees_with_naive_bfs(text: str) -> None:
    assume(small_enough(text, 1500))
    agree(text)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_kernel_engine_agrees_with_naive_bfs_many(text: str) -> None:
    assume(small_enough(text, 20000))
    agree(text)
