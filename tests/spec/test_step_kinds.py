"""Every transition's label says structurally (spec/step_kind.py) what its English says: the kind
and target agree with the text that readers used to parse, on every bundled model."""

from __future__ import annotations

import re

from ircheck.api import compile_source
from ircheck.spec.checks import ALL_CHECKS, PARAM_CHECKS
from ircheck.spec.step_kind import StepKind
from ircheck.spec.ts import CPU_CONTEXTS, Label
from tests.conftest import MODELS

_ENTERS = re.compile(r"-> (\w+) \(")  # what pictures.py parsed before labels carried a target


def _labels() -> list[tuple[str, Label]]:
    out = []
    for p in sorted(MODELS.glob("*.irq")):
        ts = compile_source(p.read_text(), str(p), [c for c in ALL_CHECKS if c not in PARAM_CHECKS])
        out += [(p.name, t.label) for t in ts.transitions]
    return out


def test_kind_and_target_agree_with_the_label_text() -> None:
    labels = _labels()
    kinds = {lab.kind for _, lab in labels}
    for need in (StepKind.RAISE, StepKind.DELIVER, StepKind.RETURN, StepKind.EOI, StepKind.WAKE_UP, StepKind.LOCK,
                 StepKind.UNLOCK, StepKind.SWITCH, StepKind.TRAP, StepKind.FLOW, StepKind.RUN):
        assert need in kinds, need
    for name, lab in labels:
        where = f"{name}: {lab.action}"
        m = _ENTERS.search(lab.action)
        assert lab.kind.enters_handler == (m is not None), where
        if m is not None:
            assert lab.target == m.group(1), where
        if lab.action.startswith("take IRQ"):
            assert lab.kind is StepKind.DELIVER and lab.target, where
        assert (lab.kind is StepKind.RAISE) == (lab.context == "device"), where
        if lab.kind is StepKind.RAISE:
            assert lab.actor == f"device {lab.target}", where
        assert lab.actor.startswith("device") == (lab.kind is StepKind.RAISE), where
        assert (lab.kind is StepKind.WAKE_UP) == lab.action.startswith("wake_up"), where
        assert (lab.kind is StepKind.RETURN) == lab.action.startswith("iret"), where
        if lab.kind in (StepKind.LOCK, StepKind.UNLOCK, StepKind.WAKE_UP, StepKind.SWITCH, StepKind.RUN):
            assert lab.target, where
        if lab.cpu is not None:  # checker/export.py names the CPU unless the actor is the CPU
            assert lab.actor.startswith("cpu") == (lab.context in CPU_CONTEXTS), where
        if lab.context in ("entry", "switch", "device", "sync", "halt"):
            assert lab.kind is not StepKind.STATEMENT, where
