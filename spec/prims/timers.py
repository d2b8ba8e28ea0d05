"""Timers and hrtimers (R7): arming, deactivating, waiting for a running callback, hard-IRQ expiry.

Per timer or hrtimer T (variables.KernelVars): `T.pending` (0, or 1 + the CPU whose timer base holds
it) and `T.running` (0, or 1 + the CPU its callback runs on: the base's `running_timer`). Time is not
modelled (D6): an armed timer expires at any later moment the environment chooses. Guarded commands
at `here`, pc moving on, the rest unchanged:

* `mod_timer T` / `hrtimer_start T`: `T.pending := T.running` if the callback runs (a running timer
  stays on its base: kernel/time/timer.c `__mod_timer`, hrtimer.c `switch_hrtimer_base`), else
  `1 + this CPU` (re-arming a pending timer moves it to this CPU's base);
* `del_timer T` (`timer_delete`): `T.pending := 0`, never waits;
* `hrtimer_try_to_cancel T`: `T.pending := 0` unless the callback runs (then it returns -1 and leaves
  it: `if (!hrtimer_callback_running(timer)) remove_hrtimer(...)`), never waits;
* `del_timer_sync T` / `hrtimer_cancel T`: guard `T.running = 0`: `T.pending := 0`. While the callback
  runs the caller spins at the statement (`__try_to_del_timer_sync` returns -1 while
  `base->running_timer == timer`, `__timer_delete_sync` retries; `hrtimer_cancel` loops on
  `hrtimer_try_to_cancel` with `hrtimer_cancel_wait_running`): a wait of spec/waits.py, so a caller
  that the callback can never finish for - the callback itself, a hard IRQ above it on its CPU, the
  holder of a lock it takes - is a `no_deadlock` violation (D0);
* expiry of a timer_list or `soft` hrtimer callback: a softirq-context run at depth 0
  (prims/deferred.py `lower_soft_entries`, as a tasklet);
* expiry of a plain hrtimer (`lower_hrtimer_entries`, `hrtimer_interrupt` from the local APIC timer):
  guard IF = 1 (and no STI shadow, X1), `T.pending = 1 + cpu`, `T.running = 0`: push its frame at any
  depth through an interrupt gate (IF := 0; frames.entry_transitions, the nesting bound a tagged
  bound), `T.pending := 0`, `T.running := 1 + cpu`; its IRET clears `T.running`
  (frames.frame_exit_updates). Each CPU's expiry of T is a strong-fairness group like an interrupt
  acknowledge: an armed timer that can fire again and again does fire.
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.grammar import ast
from ircheck.spec.cfg import Node
from ircheck.spec.context import Context, CpuState
from ircheck.spec.delivery import maskable
from ircheck.spec.frames import entry_transitions
from ircheck.spec.language import CANCEL_WAITS
from ircheck.spec.model import Model
from ircheck.spec.step_kind import StepKind
from ircheck.spec.tags import acknowledge
from ircheck.spec.ts import And, C, Eq, Expr, Ite, Label, Not, V


def _this_cpu(ctx: Context) -> int:
    return ctx.task.cpu if ctx.task is not None else ctx.cpu.index


def lower_timer_op(m: Model, ctx: Context, st: ast.Simple) -> None:
    """mod_timer, hrtimer_start, del_timer, hrtimer_try_to_cancel, del_timer_sync, hrtimer_cancel."""
    assert isinstance(st.arg, ast.Name)
    pending, run = m.timer[st.arg.name]
    ups = dict(ctx.nxt)
    guard: Expr = ctx.here
    busy = Not(Eq(V(run), C(0)))
    if st.op in ("mod_timer", "hrtimer_start"):
        ups[pending] = Ite(busy, V(run), C(_this_cpu(ctx) + 1))
    elif st.op == "hrtimer_try_to_cancel":
        ups[pending] = Ite(busy, V(pending), C(0))
    else:  # del_timer; del_timer_sync and hrtimer_cancel once the callback is not running
        ups[pending] = C(0)
        if st.op != "del_timer":
            guard = And(guard, Not(busy))
    m.b.add(ctx.label(ctx.node.text), guard, ups, ctx.group)


def lower_hrtimer_entries(m: Model, cpu: CpuState) -> None:
    """The hard-IRQ expiry of each plain hrtimer armed on `cpu` (module docstring)."""
    for inc in m.incs:
        if inc.kind != "hrtimer":
            continue
        assert inc.code is not None
        name = inc.code.name
        pending, run = m.timer[name]
        label = Label(f"cpu{cpu.index}", f"hrtimer {name} expires: hrtimer_interrupt -> {name} (hard IRQ, "
                      "interrupt gate, IF=0)", inc.code.line, cpu.index, "entry", StepKind.DELIVER, name)
        guard = And(maskable(cpu), Eq(V(pending), C(cpu.index + 1)), Eq(V(run), C(0)))
        entry_transitions(m, cpu, label, guard, {pending: C(0), run: C(cpu.index + 1)}, inc,
                          acknowledge(cpu.index, f"hrtimer {name}"))


def cancel_of(name: str) -> Callable[[Node], bool]:
    """The CFG locations of a `del_timer_sync NAME` / `hrtimer_cancel NAME` (where spec/waits.py's waits are)."""
    def hit(nd: Node) -> bool:
        st = nd.stmt
        return nd.kind == "stmt" and isinstance(st, ast.Simple) and st.op in CANCEL_WAITS and \
            isinstance(st.arg, ast.Name) and st.arg.name == name
    return hit


def callback_slots(m: Model, name: str, s: tuple[int, ...]) -> tuple[int, int] | None:
    """In state `s`: (the owner slot of the frame running timer `name`'s callback, the slot of the top
    frame on that CPU), None when no frame runs it; for the wait-for story of spec/waits.py."""
    cpu_index = s[m.timer[name][1]] - 1
    inc = next(i for i in m.incs if i.code is not None and i.code.name == name)
    cpu = m.layout.cpus[cpu_index]
    base, depth = m.frame_owner_base(cpu_index), s[cpu.depth_var]
    for k in range(1, depth + 1):
        pc = s[cpu.pc_var] if k == depth else s[cpu.saved_pc_vars[k - 1]]
        if inc.base <= pc < inc.base + len(inc.body.nodes):
            return base + k - 1, base + depth - 1
    return None
