"""`ircheck --suggest`: for bundled bug models, the search finds the textbook repair, the repaired
model really holds every check, and the CLI / JSON show it."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import jsonschema
import pytest

import ircheck
from ircheck.cli import main
from ircheck.suggest import suggest, suggestions_text
from tests.conftest import MODELS, ROOT

SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())

# model -> the keys of the fixes found, best first (all of the smallest size)
FIXED: dict[str, list[str]] = {
    "lang_deadlock_spin_lock": ["irqsave:app:rx_lock"],
    "kernel_isr_thread_spin_lock": ["irqsave:app:rx_lock"],
    "kernel_softirq_spin_lock": ["bh:app:stats_lock", "irqsave:app:stats_lock"],
    "lang_starvation_no_eoi": ["eoi:kbd_isr"],
    "x86_cascade_disk_missing_master_eoi": ["eoi_master:ide_isr"],
    "lang_trap_gate_reentry": ["interrupt_gate:tick"],
    "early_eoi_sti_self_reentry": ["late_eoi_no_sti:serial_isr"],
    "lang_lost_wakeup": ["wait_event:app:rx_wait"],
    "kernel_epoll_lost_wakeup": ["wait_event:app:ep_wait"],
    "kernel_disable_irq_in_handler": ["nosync:nic_isr:3"],
    "kernel_mutex_in_hardirq": ["threaded:sensor_isr"],
    "kernel_tasklet_sleeps": ["work:refill"],
    "kernel_request_irq_handler_eoi": ["no_eoi:nic_isr"],
    "level_no_ack_storm": ["ack:uart_isr:uart"],
    "x86_spurious_irq7_unconditional_eoi": ["in_service:lpt_isr"],
    "kernel_enable_irq_unbalanced": ["drop_enable:resume:3"],
    "double_eoi": ["drop_eoi:uart_isr"],
    "kernel_abba_two_cpus": ["order:submit:queue_lock", "order:reset:dev_lock"],
    "kernel_sleep_under_spinlock": ["unlocked:app:17"],
    "kernel_synchronize_irq_under_lock": ["unlocked:remove:35"],
    "kernel_spin_unlock_irq_reenables": ["irqsave:update_cfg:cfg_lock", "irqsave:app:rx_lock"],
    "x86_syscall_gate_dpl0": ["dpl3:sys_entry"],
    "kernel_race_isr_thread": ["lock_data:rx_stats"],
    "kernel_race_local_irq_save_smp": ["lock_data:rx_stats"],
    "kernel_stats_softirq_two_cpus": ["lock_data:rx_stats"],
    "kernel_wake_before_set": ["set_first:nic_isr:rx_ready"],
    "kernel_waitq_test_before_prepare": ["prepare_first:app:ep_wait:27"],
    "kernel_completion_reinit_after_submit": ["reinit_first:loader:fw_done:20"],
    # R7: del_timer_sync after the unlock; del_timer in the own callback and in hard IRQ; irqsave vs an hrtimer
    "kernel_timer_del_sync_under_lock": ["unlocked:remove:33"],
    "kernel_timer_del_sync_in_callback": ["nowait:poll:16"],
    "kernel_timer_del_sync_in_hardirq": ["nowait:nic_isr:20"],
    "kernel_hrtimer_stats_spin_lock": ["irqsave:app:stats_lock"],
}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_suggest_finds_the_known_fix_and_it_holds(name: str) -> None:
    path = MODELS / f"{name}.irq"
    source = path.read_text()
    assert ircheck.check_source(source, str(path)).verdict == "violated"  # a bug model to begin with
    s = suggest(source, str(path))
    assert [[c.key for c in f.repairs] for f in s.fixes] == [[k] for k in FIXED[name]]
    for f in s.fixes:
        r = ircheck.check_source(f.source, str(path))
        assert r.verdict == "holds", (f.description, [(c.name, c.status) for c in r.checks])
        assert r.checks  # the same checks ran, not none
        name = str(path).lstrip("/")
        assert f.diff.startswith(f"--- a/{name}\n+++ b/{name}\n")
        assert f.diff.count("\n-") >= 1 or f.diff.count("\n+") >= 1


def test_diff_names_an_absolute_path_with_one_slash() -> None:
    from ircheck.suggest import unified_diff
    assert unified_diff("/tmp/m.irq", "a\n", "b\n").splitlines()[:2] == ["--- a/tmp/m.irq", "+++ b/tmp/m.irq"]


def test_no_suggestions_for_a_model_that_holds_or_does_not_parse() -> None:
    ok = MODELS / "nic_single_raise.irq"
    assert suggest(ok.read_text(), str(ok)).fixes == []
    assert suggest("pic p : i8259 {", "bad.irq").fixes == []


def test_a_bug_the_catalogue_cannot_fix_says_none_found() -> None:
    path = MODELS / "lang_lost_irq.irq"  # `raises 2` is the environment, not the design
    s = suggest(path.read_text(), str(path))
    assert s.fixes == [] and s.tried == 0
    assert suggestions_text(s) == "Suggested fixes: none found (0 candidates tried)"


def test_two_repairs_are_combined_only_when_no_single_one_works() -> None:
    # two independent bugs: a missing EOI in one handler, a trap gate (with early EOI) in another
    src = ("pic master : i8259 { base 0x20 }\n"
           "device kbd { irq master.1 edge raises 1 }\ndevice timer { irq master.0 edge raises 2 }\n"
           "device uart { irq master.3 edge raises 1 }\n"
           "idt { 0x21 -> kbd_isr interrupt_gate dpl 0\n      0x20 -> tick trap_gate dpl 0\n"
           "      0x23 -> uart_isr interrupt_gate dpl 0 }\n"
           "data jiffies\nhandler kbd_isr { nop }\nhandler tick { eoi; write jiffies }\nhandler uart_isr { eoi }\n"
           "check no_starvation, no_reentry\n")
    s = suggest(src, "two.irq")
    assert [sorted(c.key for c in f.repairs) for f in s.fixes] == [["eoi:kbd_isr", "interrupt_gate:tick"]]
    assert suggestions_text(s).splitlines()[1:3] == [
        "  1. handler kbd_isr: add the missing `eoi` at its end  [line 9]",
        "     and idt 0x20 -> tick: trap_gate -> interrupt_gate  [line 6]"]
    assert ircheck.check_source(s.fixes[0].source, "two.irq").verdict == "holds"


def test_the_overall_budget_stops_the_search() -> None:
    path = MODELS / "kernel_abba_two_cpus.irq"
    s = suggest(path.read_text(), str(path), total_timeout=1e-9)
    assert s.fixes == [] and s.budget_hit
    assert "stopped at the suggestion budget" in suggestions_text(s)


def test_a_candidate_that_hits_its_state_budget_is_not_a_fix() -> None:
    path = MODELS / "lang_deadlock_spin_lock.irq"
    s = suggest(path.read_text(), str(path), max_states=3)
    assert s.fixes == []  # inconclusive candidates are never reported as fixes


def test_cli_text_prints_the_report_then_the_diffs(capsys: pytest.CaptureFixture[str]) -> None:
    path = MODELS / "lang_starvation_no_eoi.irq"
    assert main(["--suggest", "--no-timings", str(path)]) == 1  # the verdict is the model's own
    out = capsys.readouterr().out
    report, fixes = out.split("Suggested fixes (every check holds after each):\n")
    assert "no_starvation        VIOLATED" in report
    assert fixes.splitlines()[0] == "  1. handler kbd_isr: add the missing `eoi` at its end  [line 16]"
    assert "     -handler kbd_isr  { nop }\n     +handler kbd_isr  { nop; eoi }\n" in fixes


def test_cli_without_suggest_or_on_a_holding_model_prints_no_fixes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-timings", str(MODELS / "lang_starvation_no_eoi.irq")]) == 1
    assert main(["--suggest", "--no-timings", str(MODELS / "nic_single_raise.irq")]) == 0
    assert "Suggested fixes" not in capsys.readouterr().out


def test_cli_json_has_a_valid_suggestions_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--suggest", "--format", "json", str(MODELS / "kernel_mutex_in_hardirq.irq"),
                 str(MODELS / "lang_lost_irq.irq"), str(MODELS / "nic_single_raise.irq")]) == 1
    docs = json.loads(capsys.readouterr().out)
    for d in docs:
        jsonschema.validate(d, SCHEMA)
    assert [s["repairs"][0]["key"] for s in docs[0]["suggestions"]] == ["threaded:sensor_isr"]
    assert "+irq_thread sensor_isr {" in docs[0]["suggestions"][0]["diff"]
    assert docs[1]["suggestions"] == []      # asked, none found
    assert "suggestions" not in docs[2]      # holds: nothing to suggest


def test_cli_bad_input_with_suggest_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    from pathlib import Path
    bad = Path(str(tmp_path)) / "bad.irq"
    bad.write_text("pic p : i8259 {")
    assert main(["--suggest", str(bad)]) == 2
    err = capsys.readouterr().err
    assert re.search(r"IRQ0\d\d", err) and "Traceback" not in err


def test_suggest_is_fast_on_the_bundled_bug_models() -> None:
    t0 = time.monotonic()
    for name in ("lang_deadlock_spin_lock", "kernel_abba_two_cpus", "kernel_lockdep_safe_to_unsafe"):
        path = MODELS / f"{name}.irq"
        assert suggest(path.read_text(), str(path)).fixes
    assert time.monotonic() - t0 < 30


def test_ctrl_c_stops_the_search_and_an_engine_error_skips_a_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    import ircheck.suggest as sg
    from ircheck.api import InternalError
    from ircheck.result import Report, Stats

    path = MODELS / "kernel_softirq_spin_lock.irq"  # four candidates
    calls: list[str] = []

    def interrupted(text: str, p: str, checks: object, **kw: object) -> Report:
        calls.append(text)
        return Report(p, stats=Stats(complete=False, stopped_by="interrupted (Ctrl-C)"))

    monkeypatch.setattr(sg, "check_source", interrupted)
    s = sg.suggest(path.read_text(), str(path), original=ircheck.check_file(path))
    assert len(calls) == 1 and s.fixes == [] and s.budget_hit == "an interrupt (Ctrl-C)"

    def broken(text: str, p: str, checks: object, **kw: object) -> Report:
        raise InternalError("engine disagrees")

    monkeypatch.setattr(sg, "check_source", broken)
    s = sg.suggest(path.read_text(), str(path), original=ircheck.check_file(path))
    assert s.fixes == [] and s.tried > 4 and not s.budget_hit  # every single and pair tried, none a fix


def test_the_runs_timeout_bounds_the_suggestions_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 21 item 7: --timeout holds in every phase, --suggest included. The deadlock model plus three
    busy nesting lines is violated in a fraction of a second, but each candidate repair needs a full
    search (about half a second): without the run's --timeout the suggestion search takes ~2 s."""
    extra = (0, 1, 2)
    text = (MODELS / "lang_deadlock_spin_lock.irq").read_text()
    text = text.replace("device nic { irq master.3 edge raises 1 }", "device nic { irq master.3 edge raises 1 }\n"
                        + "\n".join(f"device d{i} {{ irq master.{i} edge raises 2 }}" for i in extra))
    text = text.replace("idt { 0x23 -> nic_isr interrupt_gate dpl 0 }",
                        "idt { 0x23 -> nic_isr interrupt_gate dpl 0\n"
                        + "\n".join(f"0x2{i} -> h{i} interrupt_gate dpl 0" for i in extra) + " }\n"
                        + "\n".join(f"handler h{i} {{ nop; sti; eoi }}" for i in extra))
    path = tmp_path / "slow_fix.irq"
    path.write_text(text)
    t0 = time.monotonic()
    code = main(["--suggest", "--timeout", "0.8", "--no-timings", str(path)])
    took = time.monotonic() - t0
    out = capsys.readouterr().out
    assert code == 1 and "no_deadlock" in out
    assert re.search(r"Suggested fixes: none found \(\d+ candidates? tried; stopped at --timeout 0.8 s\)", out), out
    assert took < 0.8 * 1.1 + 0.3, took  # the check's and the suggestions' time together (+ parsing)
