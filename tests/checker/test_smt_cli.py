"""`--engine smt` and `--engine auto` from the command line and the API: reports, limits, the choice.

- smt: the JSON report validates against the schema and carries the Z3 statistics; the text
  report's statistics line says what the engine did; `--no-timings` output is byte-identical;
- limits: `--timeout` and Ctrl-C make the Z3 engine's checks inconclusive with what it found so
  far, never "holds";
- auto: explicit for every bundled model (same states as `--engine explicit`); the Z3 engine when
  explicit stops at the auto budget, and the report says so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.engine_choice import run_auto
from ircheck.smt_budget import Budget
from tests.conftest import MODELS, ROOT
from tests.support.cli import run

sys.path.insert(0, str(ROOT / "bench"))
from gen_smt import smt_family  # noqa: E402

SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())


def test_smt_json_report_validates_and_has_z3_statistics(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--engine", "smt", "--format", "json", str(MODELS / "lang_lost_irq.irq"))
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert code == 1 and doc["verdict"] == "violated"
    st = doc["stats"]
    assert st["engine"] == "smt" and st["smt"]["z3"] and st["smt"]["bmc_depth"] >= 1
    assert len(doc["checks"][0]["trace"]) == 2  # the explicit engine's shortest counterexample


def test_smt_text_report_says_how_it_was_proved(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--engine", "smt", str(MODELS / "thread_cli_forever.irq"))
    assert code == 1  # no_starvation is violated (a fair lasso)
    assert "no_lost_irq          holds  (proved by k-induction, k = 1" in out
    assert "lasso, " in out
    assert "(smt: BMC depth " in out and ", z3 " in out


def test_smt_no_timings_is_byte_identical(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--engine", "smt", "--format", "json", "--no-timings", str(MODELS / "kernel_recursive_lock.irq"))
    _, first, _ = run(capsys, *args)
    _, second, _ = run(capsys, *args)
    assert first == second and "solver_seconds" not in first


def test_smt_with_workers_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--engine", "smt", "--workers", "2", str(MODELS / "lang_lost_irq.irq"))
    assert code == 2 and "IRQ902" in err and "Traceback" not in err


def test_smt_timeout_is_inconclusive_never_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "safe.irq"
    p.write_text(smt_family("safe", 6, 2))
    code, out, _ = run(capsys, "--engine", "smt", "--timeout", "0.3", "--format", "json", str(p))
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert code == 3 and doc["stats"]["stopped_by"].startswith("--timeout 0.3s") and not doc["stats"]["complete"]
    assert doc["stats"]["stopped_by"] in ("--timeout 0.3s during Z3", "--timeout 0.3s during Z3 BMC",
                                          "--timeout 0.3s during Z3 k-induction", "--timeout 0.3s during Z3 Houdini",
                                          "--timeout 0.3s during Z3 Spacer")
    assert all(c["status"] == "inconclusive" and c["note"] for c in doc["checks"])


def test_ctrl_c_in_the_solver_is_inconclusive_with_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = Budget.solve

    def solve(self: Budget, *a: object, **kw: object) -> object:
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Budget, "solve", solve)
    r = ircheck.check_file(MODELS / "tick_interrupt_gate.irq", engine="smt")
    assert r.stats.stopped_by == "interrupted (Ctrl-C)" and not r.stats.complete
    assert {c.status for c in r.checks} == {"inconclusive"}
    assert r.exit_code == 3


def test_auto_is_explicit_for_every_bundled_model() -> None:
    for path in sorted(MODELS.glob("*.irq")):
        auto = ircheck.check_file(path)
        if auto.errors:
            continue
        ex = ircheck.check_file(path, engine="explicit")
        assert auto.stats.engine == ex.stats.engine, path.name
        assert auto.stats.states == ex.stats.states and not auto.stats.auto, path.name
        assert [c.status for c in auto.checks] == [c.status for c in ex.checks], path.name


def test_auto_falls_back_to_smt_past_its_budget() -> None:
    ts = compile_source((MODELS / "lang_lost_irq.irq").read_text())
    out, stats = run_auto(ts, None, 60, None, budget=2)
    assert stats.engine == "smt" and "auto budget of 2 states" in stats.auto
    assert stats.states >= 2  # what explicit had stored before it stopped
    ex, ex_stats = run_auto(ts, None, None, None)  # fits the default budget: explicit decides
    assert ex_stats.engine == "explicit" and not ex_stats.auto
    assert [c.status for c in out] == [c.status for c in ex] == ["violated"]
    assert len(out[0].trace) == len(ex[0].trace) == 2


def test_auto_keeps_user_limits_on_explicit(tmp_path: Path) -> None:
    """A --max-states the user gave is explicit's limit: auto reports it, it does not switch engines."""
    p = tmp_path / "deep.irq"
    p.write_text(smt_family("deep", 4, 2))
    r = ircheck.check_file(p, max_states=100)
    assert r.stats.engine == "explicit" and r.stats.stopped_by == "--max-states 100"


def test_auto_keeps_what_explicit_found_before_its_budget() -> None:
    """A violation BFS found before the auto budget stopped it stands as found (its trace is shortest);
    Z3 decides only the other checks, and the report says which engine decided what."""
    ts = compile_source(smt_family("deep", 4, 2, 1) + "check no_lost_irq\n")
    ex, _ = run_auto(ts, None, None, None)
    assert {c.name: c.status for c in ex} == {"max_nesting": "violated", "no_lost_irq": "violated"}
    out, stats = run_auto(ts, None, 60, None, budget=60)
    assert stats.engine == "smt"
    assert stats.auto.startswith("smt decided max_nesting: ") and stats.auto.endswith(
        ", having found no_lost_irq violated"), stats.auto
    assert [c.name for c in out] == [c.name for c in ex]
    assert [c.status for c in out] == ["violated", "violated"]
    assert [len(c.trace) for c in out] == [len(c.trace) for c in ex]


@pytest.mark.slow
def test_auto_hand_over_prints_the_same_trace_every_run() -> None:
    """Issue 21 item 6: the hand-over point is a state count, and the Z3 engine's traces are the least of
    their length, so two hand-overs (fresh interpreters, other hash seeds) give the same counterexamples
    and the same hand-over note; only what docs/reference.md "Determinism" lists may differ."""
    import os
    import subprocess
    import sys
    code = ("import sys; from ircheck.api import compile_source; from ircheck.engine_choice import run_auto\n"
            "ts = compile_source(open(sys.argv[1]).read())\n"
            "out, st = run_auto(ts, None, 120, None, budget=3)\n"
            "print(st.auto)\n"
            "for c in out:\n"
            "    print(c.name, c.status, c.message, [(s.context, s.action, s.changes) for s in c.trace])\n")
    runs = set()
    for seed in ("0", "1"):
        p = subprocess.run([sys.executable, "-c", code, str(MODELS / "level_no_ack_storm.irq")], capture_output=True,
                           text=True, env=dict(os.environ, PYTHONHASHSEED=seed), timeout=600, check=True)
        runs.add(p.stdout)
    assert len(runs) == 1, runs
    text = runs.pop()
    assert "auto budget of 3 states" in text and "no_starvation violated" in text and " s)" not in text
