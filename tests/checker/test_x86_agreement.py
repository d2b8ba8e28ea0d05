"""The explicit engine agrees with the naive BFS on generated x86 models.

`test_engine_agreement.py` generates bare-metal models on one 8259A; this generator adds what the
x86 layer (docs/semantics.md X1-X9) brought: a slave 8259A on a cascade with its two EOIs, the special
fully nested and special mask modes, automatic rotation, spurious IR7 (`may_drop`, `if in_service`),
a local APIC with TPR and vector classes, NMIs, software interrupts through gates with a DPL (#GP
from CPL 3), faults with and without their gate (#NP, #DF, triple fault). Each model is held to the
same promises as there (`agree`): the naive state count, safety verdicts with shortest traces, the
deadlock verdict, and the same verdict for each check run alone.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.checker.test_engine_agreement import agree, small_enough

CHECKS = ("no_lost_irq", "no_starvation", "no_deadlock", "no_reentry", "eoi_balanced", "no_gp", "no_double_fault")
SYSCALL, PF, DF, GP = 0x80, 14, 8, 13

# what the generator must produce, each at least once in a derandomized run (the coverage test)
CONCEPTS = {"cascade master.2", "eoi slave", "eoi master", "special_fully_nested", "special_mask",
            "rotate automatic", "may_drop", "if in_service", "apic lapic", "tpr", "nmi raises",
            "int 0x80", "dpl 3", "cpl 3", "fault 14", "trap_gate", "level", "mask ", "unmask ",
            "sti", "cli", "eoi auto"}


@st.composite
def x86_models(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["pic", "pic", "cascade", "apic"]))
    out: list[str] = []
    devices: list[tuple[str, str, int, str]] = []  # (name, line for mask/eoi, vector, pic)
    if kind == "apic":
        out.append(f"apic lapic {{ tpr {draw(st.sampled_from([0, 0, 0x30, 0x50]))} }}")
        for i, vec in enumerate(draw(st.lists(st.sampled_from([0x31, 0x41, 0x42, 0x61]), min_size=1, max_size=2,
                                                unique=True))):
            out.append(f"device a{i} {{ irq vector {vec:#x} edge raises {draw(st.integers(1, 2))} }}")
            devices.append((f"a{i}", "", vec, ""))
    else:
        opts = draw(st.sampled_from(["", "", "  mode special_fully_nested", "  mode special_mask",
                                     "  rotate automatic", "  eoi auto"]))
        if kind == "cascade" and opts in ("  rotate automatic", "  eoi auto"):
            opts = ""
        out.append(f"pic master : i8259 {{ base 0x20{opts} }}")
        lines = [("master", n) for n in (0, 3, 5, 7)]
        if kind == "cascade":
            out.append("pic slave  : i8259 { base 0x28  cascade master.2 }")
            lines += [("slave", n) for n in (0, 6)]
        chosen = draw(st.lists(st.sampled_from(lines), min_size=1, max_size=3, unique=True))
        if kind == "cascade" and not any(p == "slave" for p, _n in chosen):
            chosen[0] = ("slave", draw(st.sampled_from([0, 6])))
        for i, (pic, n) in enumerate(chosen):
            trig = draw(st.sampled_from(["edge", "level"]))
            drop = "  may_drop" if pic == "master" and n == 7 and trig == "level" and draw(st.booleans()) else ""
            out.append(f"device d{i} {{ irq {pic}.{n} {trig} raises {draw(st.integers(1, 2))}{drop} }}")
            devices.append((f"d{i}", f"{pic}.{n}", (0x20 if pic == "master" else 0x28) + n, pic))
    nmi = draw(st.integers(0, 3)) == 0
    if nmi:
        out.append("device wdt { nmi raises 1 }")
    # the soft interrupt and the fault each have a gate, or not (#GP / #NP / #DF)
    soft = draw(st.booleans())
    fault = draw(st.integers(0, 3)) == 0
    gates = []
    for name, _line, vec, _pic in devices:
        gate = draw(st.sampled_from(["interrupt_gate", "interrupt_gate", "trap_gate"]))
        gates.append(f"{vec:#x} -> h_{name} {gate} dpl 0")
    if nmi:
        gates.append("2 -> h_nmi interrupt_gate dpl 0")
    if soft:
        gates.append(f"{SYSCALL:#x} -> h_sys {draw(st.sampled_from(['interrupt_gate', 'trap_gate']))} "
                     f"dpl {draw(st.sampled_from([0, 3]))}")
    if fault:
        for vec in draw(st.sampled_from([[PF], [PF, GP], [DF], [], [PF, DF, GP]])):
            gates.append(f"{vec} -> h_exc{vec} interrupt_gate dpl 0")
    if soft and draw(st.booleans()) and not any(g.startswith(f"{GP} ->") for g in gates):
        gates.append(f"{GP} -> h_exc{GP} interrupt_gate dpl 0")
    out.append("idt { " + "\n      ".join(gates) + " }")
    out.append("flag f0")
    out.append("data buf")

    def stmt(own: tuple[str, str, int, str] | None, depth: int) -> str:
        kinds = ["nop", "write buf", "set f0", "clear f0", "sti", "cli"]
        if own is not None and kind != "apic" and own[1]:
            kinds += ["eoi", "eoi", "mask", "unmask", "ack"]
            if own[3] == "slave":
                kinds += ["eoi master", "eoi slave"]
        if own is not None and kind == "apic":
            kinds += ["eoi", "eoi"]
        if own is not None and own[1] == "master.7" and depth == 0:
            kinds.append("if in_service")
        if own is None and soft:
            kinds.append("int 0x80")
        if own is None and fault:
            kinds.append("fault 14")
        k = draw(st.sampled_from(kinds))
        if k in ("mask", "unmask"):
            return f"{k} {own[1]}"  # type: ignore[index]
        if k == "ack":
            return f"ack {own[0]}"  # type: ignore[index]
        if k == "if in_service":
            return f"if in_service {{ ack {own[0]}; eoi }}"  # type: ignore[index]
        return k

    def body(own: tuple[str, str, int, str] | None, lo: int, hi: int) -> str:
        return "; ".join(stmt(own, 0) for _ in range(draw(st.integers(lo, hi))))

    for dev in devices:
        out.append(f"handler h_{dev[0]} {{ {body(dev, 1, 3)} }}")
    if nmi:
        out.append(f"handler h_nmi {{ {draw(st.sampled_from(['nop', 'write buf', 'sti; nop']))} }}")
    if soft:
        out.append("handler h_sys { write buf }")
    for vec in (PF, DF, GP):
        if any(g.startswith(f"{vec} ->") for g in gates):
            out.append(f"handler h_exc{vec} {{ nop }}")
    if soft or fault or draw(st.booleans()):
        cpl = " cpl 3" if draw(st.booleans()) else ""
        tbody = body(None, 1, 3)
        if soft and "int 0x80" not in tbody:
            tbody += "; int 0x80"
        if cpl and ("cli" in tbody.split("; ") or "sti" in tbody.split("; ")):
            tbody = "; ".join(s for s in tbody.split("; ") if s not in ("cli", "sti")) or "nop"
        out.append(f"thread t on cpu0{cpl} {{ {tbody} }}")
    out.append("check " + ", ".join(CHECKS))
    if draw(st.booleans()):
        out.append(f"check max_nesting {draw(st.integers(0, 2))}")
    return "\n".join(out) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x86_models())
def test_x86_models_agree_with_naive_bfs(text: str) -> None:
    assume(small_enough(text, 4000))
    agree(text)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x86_models())
def test_x86_models_agree_with_naive_bfs_many(text: str) -> None:
    assume(small_enough(text, 30000))
    agree(text)


def _examples(n: int) -> list[str]:
    """n generated models, the same on every run."""
    out: list[str] = []

    @settings(max_examples=n, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(x86_models())
    def collect(text: str) -> None:
        out.append(text)
    collect()
    return out


def test_generator_covers_every_x86_concept() -> None:
    out = _examples(300)
    seen = {c for c in CONCEPTS if any(c in ex for ex in out)}
    assert seen == CONCEPTS, sorted(CONCEPTS - seen)


def test_generated_models_are_well_formed() -> None:
    """Every generated model compiles (the generator stays inside the language, so agreement
    failures are about the engine, not about refused models)."""
    import ircheck
    for text in _examples(150):
        r = ircheck.check_source(text, max_states=1)
        assert not r.errors, (text, [d.render() for d in r.errors])
