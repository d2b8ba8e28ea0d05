"""The kernel benchmark family (bench/gen_kernel.py) stays a correct design with a known state space.

bench/README.md's "Kernel designs" table is only meaningful if every check holds (so the whole space
is explored) and the counts are what the generator produces today: a change to the kernel lowering
that adds or loses states, or a generator edit that breaks the design, fails here first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ircheck
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from gen_kernel import CHECKS, kernel_family  # noqa: E402

ALL_CHECKS = [c.strip() for c in CHECKS.split(",")]


def _holds(cpus: int, devices: int, raises: int, reduction: str = "none") -> int:
    report = ircheck.check_source(kernel_family(cpus, devices, raises), reduction=reduction)
    assert not report.errors, [d.render() for d in report.errors]
    assert sorted(c.name for c in report.checks) == sorted(ALL_CHECKS)
    assert {c.name: c.status for c in report.checks} == dict.fromkeys(ALL_CHECKS, "holds")
    assert report.exit_code == 0 and report.stats.complete
    # the default: the CPUs' symmetry and POR serve every check (deadlock and liveness on the
    # annotated quotient, under POR's graph conditions)
    assert report.stats.reductions == (() if reduction == "none" else ("por", "symmetry"))
    return report.stats.states


def test_two_cpus_one_nic_once_exact_states() -> None:
    assert _holds(2, 1, 1) == 508
    assert _holds(2, 1, 1, "por,symmetry") == 260  # the default: one representative per pair of mirror states


def test_one_size_up_has_strictly_more_states() -> None:
    small = _holds(2, 1, 1)
    assert _holds(2, 1, 2) == 9_362 > small  # a second raise (it waits in the masked IRR during a run: L0)
    assert _holds(2, 2, 1) == 19_199 > small  # a second NIC (a tasklet next to the softirq)


def test_the_design_is_not_vacuously_correct() -> None:
    """The bottom half taking the ring lock with plain spin_lock (hard IRQs on) is the classic bug:
    lockdep must object, so the family's "holds" means the locking is right, not that nothing runs."""
    text = kernel_family(2, 1, 1)
    bad = text.replace("spin_lock_irqsave ring0_lock", "spin_lock ring0_lock").replace(
        "spin_unlock_irqrestore ring0_lock", "spin_unlock ring0_lock")
    assert bad != text
    report = ircheck.check_source(bad)
    assert report.check("lockdep").status == "violated"
    assert report.check("no_data_race").status == "holds"


def test_bench_run_gives_spin_the_checks_the_export_carries(tmp_path: Path) -> None:
    """Issue 18 item 6: bench/run.py's kernel table compares ircheck with SPIN on the same checks -
    those the Promela export carries (its first line names them; the liveness checks and lockdep stay
    ircheck's) - and keeps the limit that stopped a run in the verdict it prints."""
    from run import _verdict, spin_checks
    p = tmp_path / "k.irq"
    p.write_text(kernel_family(2, 1, 1))
    assert spin_checks(p) == ["no_deadlock", "no_sleep_in_atomic", "no_data_race"]
    assert _verdict({"verdict": "inconclusive", "stopped_by": "--timeout 120s"}) == "inconclusive (--timeout 120s)"
    assert _verdict({"verdict": "holds", "stopped_by": ""}) == "holds"
