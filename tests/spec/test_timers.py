"""R7 timers and hrtimers (docs/semantics.md R7, D0): each rule in both directions, the resolution
errors, the repairs, fmt, and every engine on the bundled models.

Sources (torvalds/linux): kernel/time/timer.c `__timer_delete_sync` (`do { ret =
__try_to_del_timer_sync(timer, shutdown); ... cpu_relax(); } while (ret < 0)` and
`WARN_ON(in_hardirq() && !(timer->flags & TIMER_IRQSAFE))`), `__try_to_del_timer_sync` (-1 while
`base->running_timer == timer`), `timer_delete` (no wait), `__mod_timer` (a running timer keeps its
base), `expire_timers` (TIMER_SOFTIRQ); kernel/time/hrtimer.c `hrtimer_try_to_cancel` (-1 while
`hrtimer_callback_running`), `hrtimer_cancel` (loops on it: `hrtimer_cancel_wait_running`),
`hrtimer_interrupt` (hard IRQ) and HRTIMER_MODE_SOFT (HRTIMER_SOFTIRQ); include/linux/timer.h.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.grammar.parser import parse
from ircheck.grammar.printer import model_text
from ircheck.promela import to_promela
from ircheck.spec.ts import evaluate
from ircheck.suggest import suggest
from tests.conftest import MODELS
from tests.support.naive import Naive, reachable
from tests.support.spin import needs_spin, spin_violates

TWO = "cpus 2\n"


def verdict(text: str, check: str, **kw: object) -> str:
    report = ircheck.check_source(text, **kw)
    assert not report.errors, [d.render() for d in report.errors]
    return report.check(check).status


# ---- where a callback runs: softirq on the arming CPU, hard IRQ for a plain hrtimer ---------------------

def test_a_timer_callback_runs_on_the_cpu_that_armed_it() -> None:
    text = TWO + "timer tm { nop }\nthread a on cpu1 { mod_timer tm }\n"
    _, states = reachable(text)
    assert {s["tm.running"] for s in states} == {0, 2}  # only ever on cpu1
    assert {s["tm.pending"] for s in states} == {0, 2}


def test_rearming_a_running_timer_keeps_it_on_the_callbacks_cpu() -> None:
    """`__mod_timer`: a timer whose callback runs does not change base."""
    text = TWO + "timer tm { nop; nop }\nthread a on cpu1 { mod_timer tm }\nthread b on cpu0 { nop; mod_timer tm }\n"
    _, states = reachable(text)
    assert any(s["tm.running"] == 2 and s["tm.pending"] == 2 for s in states)
    assert not any(s["tm.running"] == 2 and s["tm.pending"] == 1 for s in states)


_SHARED = "data x\n{decl} cb {{ write x }}\nthread app {{ {arm} cb; {take}; write x; {drop} }}\ncheck no_data_race\n"


@pytest.mark.parametrize(("decl", "arm", "take", "drop", "want"), [
    ("timer", "mod_timer", "nop", "nop", "violated"),                     # softirq over the task
    ("timer", "mod_timer", "local_bh_disable", "local_bh_enable", "holds"),
    ("hrtimer", "hrtimer_start", "local_bh_disable", "local_bh_enable", "violated"),  # hard IRQ: BH off is not enough
    ("hrtimer", "hrtimer_start", "local_irq_save", "local_irq_restore", "holds"),
    ("hrtimer NAME soft", "hrtimer_start", "local_bh_disable", "local_bh_enable", "holds"),
])
def test_the_callbacks_context_decides_what_excludes_it(decl: str, arm: str, take: str, drop: str, want: str) -> None:
    kind = decl.replace(" NAME", "")
    text = _SHARED.format(decl=kind.split()[0], arm=arm, take=take, drop=drop)
    if "soft" in decl:
        text = text.replace("hrtimer cb {", "hrtimer cb soft {")
    assert verdict(text, "no_data_race") == want, text


def test_an_hrtimer_callback_is_a_hardirq_usage_for_lockdep() -> None:
    base = "spinlock l\nhrtimer hr {{ spin_lock l; spin_unlock l }}\nthread app {{ hrtimer_start hr; {t} l; {u} l }}\n"
    assert verdict(base.format(t="spin_lock_bh", u="spin_unlock_bh"), "lockdep") == "violated"
    assert verdict(base.format(t="spin_lock_irqsave", u="spin_unlock_irqrestore"), "lockdep") == "holds"
    soft = base.replace("hrtimer hr {", "hrtimer hr soft {")
    assert verdict(soft.format(t="spin_lock_bh", u="spin_unlock_bh"), "lockdep") == "holds"


# ---- del_timer_sync / hrtimer_cancel wait for a running callback; del_timer, try_to_cancel never wait ----

@pytest.mark.parametrize(("wait", "want"), [("del_timer_sync tm", "violated"), ("del_timer tm", "holds")])
def test_del_timer_sync_from_the_callback_itself(wait: str, want: str) -> None:
    text = f"timer tm {{ {wait} }}\nthread a {{ mod_timer tm }}\ncheck no_deadlock\n"
    report = ircheck.check_source(text)
    assert report.check("no_deadlock").status == want
    if want == "violated":
        assert "the callback waits for its own end" in report.check("no_deadlock").message


@pytest.mark.parametrize(("wait", "want"), [("hrtimer_cancel hr", "violated"), ("hrtimer_try_to_cancel hr", "holds")])
def test_hrtimer_cancel_from_the_callback_itself(wait: str, want: str) -> None:
    text = f"hrtimer hr {{ {wait} }}\nthread a {{ hrtimer_start hr }}\ncheck no_deadlock\n"
    assert verdict(text, "no_deadlock") == want


def test_hrtimer_try_to_cancel_leaves_a_timer_whose_callback_runs() -> None:
    text = TWO + "hrtimer hr { hrtimer_start hr; nop }\nthread a on cpu1 { hrtimer_start hr }\n" \
        "thread b on cpu0 { hrtimer_try_to_cancel hr }\n"
    ts, _ = reachable(text)
    naive = Naive(ts)
    names = [v.name for v in ts.vars]
    after = [dict(zip(names, s, strict=True)) for s in naive.dist]
    assert any(s["hr.running"] == 2 and s["hr.pending"] == 2 and s["b.pc"] != 0 for s in after)


@pytest.mark.parametrize(("model", "want"), [
    ("kernel_timer_del_sync_under_lock", "violated"), ("kernel_timer_del_sync_after_unlock", "holds"),
    ("kernel_timer_del_sync_in_callback", "violated"), ("kernel_timer_del_sync_in_hardirq", "violated"),
    ("kernel_hrtimer_stats_spin_lock", "violated"), ("kernel_hrtimer_stats_irqsave", "holds"),
    ("kernel_hrtimer_soft", "holds"),
])
def test_the_bundled_timer_models_under_every_engine(model: str, want: str) -> None:
    text = (MODELS / f"{model}.irq").read_text()
    for kw in ({}, {"reduction": "none"}, {"engine": "smt"}):
        assert verdict(text, "no_deadlock", **kw) == want, (model, kw)


def test_the_wait_for_story_of_del_timer_sync_under_the_callbacks_lock() -> None:
    report = ircheck.check_source((MODELS / "kernel_timer_del_sync_under_lock.irq").read_text())
    msg = report.check("no_deadlock").message
    # judged where the callback spins on the lock: the holder's del_timer_sync is still ahead of it
    assert "cpu1 timer watchdog waits for spinlock priv_lock, held by thread remove" in msg
    # once the remover is at del_timer_sync, its own wait tells the whole cycle
    ts = compile_source((MODELS / "kernel_timer_del_sync_under_lock.irq").read_text())
    wait = next(w for w in ts.waits if w.who == "thread remove" and "timer watchdog" in w.message)
    stuck = [st for st in Naive(ts).dist if evaluate(wait.blocked, st)]
    assert stuck and wait.explain is not None
    assert wait.explain(stuck[0]) == (
        "deadlock (circular wait): thread remove waits for timer watchdog's callback to return "
        "(del_timer_sync/hrtimer_cancel), which runs as cpu1 timer watchdog; cpu1 timer watchdog waits for "
        "spinlock priv_lock, held by thread remove")


def test_the_wait_for_story_from_hard_irq_names_the_interrupted_callback() -> None:
    report = ircheck.check_source((MODELS / "kernel_timer_del_sync_in_hardirq.irq").read_text())
    assert "interrupted on its CPU by cpu0 irq 3 nic_isr" in report.check("no_deadlock").message


def test_del_timer_sync_from_hard_irq_on_the_other_cpu_only_waits() -> None:
    """The callback runs on cpu1, the handler on cpu0: an ordinary wait, no deadlock."""
    text = TWO + ("pic master : i8259 { base 0x20 }\ndevice nic { irq master.3 edge raises 1 on cpu0 }\n"
                  "request_irq 3 isr\nhandler isr { del_timer_sync tm }\ntimer tm { nop }\n"
                  "thread a on cpu1 { mod_timer tm }\ncheck no_deadlock\n")
    assert verdict(text, "no_deadlock") == "holds"


# ---- resolution, repairs, fmt, SPIN -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "code", "msg"), [
    ("timer t soft { nop }\n", "IRQ301", "`soft` applies to hrtimers"),
    ("timer t { nop }\nthread a { hrtimer_start t }\n", "IRQ10", "'t' is a timer, not a hrtimer"),
    ("hrtimer h { nop }\nthread a { mod_timer h }\n", "IRQ10", "'h' is a hrtimer, not a timer"),
    ("thread a { del_timer_sync nosuch }\n", "IRQ10", "nosuch"),
])
def test_timer_errors_have_a_code_and_position(text: str, code: str, msg: str) -> None:
    report = ircheck.check_source(text, "m.irq")
    assert report.errors
    d = report.errors[0]
    assert d.code.startswith(code) and msg in d.message and d.line >= 1 and d.column >= 1, d.render()


@pytest.mark.parametrize(("model", "key", "now"), [
    ("kernel_timer_del_sync_under_lock", "unlocked:remove:33", "spin_unlock_bh priv_lock\n    del_timer_sync watchdog"),
    ("kernel_timer_del_sync_in_callback", "nowait:poll:16", "del_timer poll"),
    ("kernel_timer_del_sync_in_hardirq", "nowait:nic_isr:20", "del_timer stats_timer"),
])
def test_suggest_moves_or_unwaits_del_timer_sync(model: str, key: str, now: str) -> None:
    path = MODELS / f"{model}.irq"
    s = suggest(path.read_text(), str(path))
    assert [[c.key for c in f.repairs] for f in s.fixes] == [[key]]
    assert now in s.fixes[0].source
    assert ircheck.check_source(s.fixes[0].source).verdict == "holds"


def test_fmt_keeps_timers() -> None:
    text = "hrtimer hr soft { hrtimer_cancel hr }\ntimer tm { del_timer_sync tm }\n" \
        "thread a { mod_timer tm; hrtimer_start hr; del_timer tm; hrtimer_try_to_cancel hr }\n"
    model = parse(text)
    out = model_text(model)
    assert "hrtimer hr soft {" in out and "timer tm {" in out and "hrtimer_try_to_cancel hr" in out
    assert parse(out).decls == model.decls


@needs_spin
def test_spin_agrees_on_the_timer_models(tmp_path: Path) -> None:
    for model, want in (("kernel_timer_del_sync_in_callback", True), ("kernel_timer_del_sync_in_hardirq", True),
                        ("kernel_timer_del_sync_after_unlock", False), ("kernel_hrtimer_soft", False)):
        (tmp_path / model).mkdir()
        ts = compile_source((MODELS / f"{model}.irq").read_text())
        assert spin_violates(to_promela(ts), tmp_path / model) == want, model
