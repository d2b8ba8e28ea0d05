"""Determinism: the same models give byte-identical output on every run, under any PYTHONHASHSEED.

The contract (README "Command line", docs/reference.md "Output"): everything
ircheck prints is a function of the model and the options, except the timings
- `stats.seconds`, `stats.states_per_s`, `stats.peak_mb` in JSON, the
`s, states/s, peak MB` of the text statistics line, JUnit `time` attributes.
`--no-timings` leaves them out (JUnit: 0), and what remains is byte-identical.

Each run is a fresh interpreter with its own PYTHONHASHSEED, so that string
hashing - and with it the iteration order of every set or dict keyed by names -
differs between runs: a verdict, trace, message or number that depended on it
would show up here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ircheck.cli import main
from ircheck.report import TIMING_KEYS
from tests.conftest import MODELS, ROOT
from tests.support.cli import ircheck

sys.path.insert(0, str(ROOT / "bench"))
from gen_nested import nested_pic  # noqa: E402

SEEDS = ("0", "1", "2718281")
ALL = sorted(str(p.relative_to(ROOT)) for p in MODELS.rglob("*.irq"))


def _extra_models(tmp: Path) -> list[str]:
    """A generated model with a large state space, and one with input errors."""
    big = tmp / "nested_4_2.irq"
    big.write_text(nested_pic(4, 2))
    bad = tmp / "bad.irq"
    bad.write_text("pic master : i8259 { base 0x21 }\ndevice nic { irq master.9 edge }\n"
                   "device kbd { irq slave.1 edge }\nhandler h { call nowhere; spin_lok x }\n")
    bad_names = tmp / "bad_names.irq"
    bad_names.write_text("pic master : i8259 { base 0x20 }\ndevice nic { irq master.3 edge }\n"
                         "idt { 0x23 -> nic_isr interrupt_gate dpl 0 }\nflag rx_ready\n"
                         "handler nic_isr { set rx_redy; clear rx_rdy; eoi }\ncheck no_lost_irqs, eoi_balanced\n")
    return [str(big), str(bad), str(bad_names)]


def _run(seed: str, *args: str) -> tuple[int, bytes, bytes]:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    p = ircheck(*args, text=False, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return ALL + _extra_models(tmp_path_factory.mktemp("det"))


@pytest.mark.parametrize("fmt", ["json"] + [pytest.param(f, marks=pytest.mark.slow)  # 4 s each: CI runs them
                                             for f in ("text", "itf", "sarif", "junit")])
def test_byte_identical_under_every_hash_seed(models: list[str], fmt: str) -> None:
    runs = {seed: _run(seed, "--format", fmt, "--no-timings", *models) for seed in SEEDS}
    first = runs[SEEDS[0]]
    assert first[0] == 2  # the bad models are in the run
    assert first[1], "no output"
    for seed, got in runs.items():
        assert got[0] == first[0], seed
        assert got[1] == first[1], f"{fmt} output differs between PYTHONHASHSEED={SEEDS[0]} and {seed}"
        assert got[2] == first[2], f"stderr differs between PYTHONHASHSEED={SEEDS[0]} and {seed}"
    if fmt == "json":
        docs = json.loads(first[1])
        assert len(docs) == len(models)
        traced = [c for d in docs for c in d["checks"] if c.get("trace")]
        assert len(traced) >= 20 and any("loop_start" in c for c in traced)  # traces and lassos compared too
        assert all(k not in d["stats"] for d in docs for k in TIMING_KEYS)
        assert any(d.get("errors") for d in docs)


def test_same_seed_twice_and_random_seed(models: list[str]) -> None:
    a = _run("random", "--format", "json", "--no-timings", *models)
    b = _run("random", "--format", "json", "--no-timings", *models)
    c = _run(SEEDS[0], "--format", "json", "--no-timings", *models)
    assert a[1] == b[1] == c[1]


def test_no_timings_leaves_out_only_the_timings(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "x86_nmi_unblocked_by_nested_iret.irq")
    assert main(["--format", "json", path]) == 1
    timed = json.loads(capsys.readouterr().out)
    assert main(["--format", "json", "--no-timings", path]) == 1
    plain = json.loads(capsys.readouterr().out)
    assert set(TIMING_KEYS) <= set(timed["stats"])
    for k in TIMING_KEYS:
        del timed["stats"][k]
    assert plain == timed


def test_no_timings_junit_times_are_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "junit", "--no-timings", str(MODELS / "lang_lost_irq.irq")]) == 1
    out = capsys.readouterr().out
    assert 'time="0.000"' in out
    assert set(re.findall(r'time="([^"]+)"', out)) == {"0.000"}


def test_no_timings_json_matches_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema
    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
    assert main(["--format", "json", "--no-timings", str(MODELS / "lang_lost_irq.irq")]) == 1
    jsonschema.validate(json.loads(capsys.readouterr().out), schema)


LASSO_MODELS = ["models/level_no_ack_storm.irq", "models/lang_starvation_no_eoi.irq", "models/masked_forever.irq"]


@pytest.mark.slow
def test_smt_engine_is_byte_identical_too() -> None:
    """Issue 19 item 10: which lasso the Z3 engine meets first depends on how far its wall-time
    shares got; it reports the shortest, least one (checker/smt.py `_canonical_lasso`), so three
    runs under different hash seeds print the same bytes. (Before: 8, 6 and 6 steps, two orders.)"""
    outs = {_run(seed, "--engine", "smt", "--no-timings", *LASSO_MODELS) for seed in SEEDS}
    assert len(outs) == 1, [o[1].decode()[:2000] for o in outs]
    code, out, _err = outs.pop()
    assert code == 1 and b"lasso" in out


_EXPORT_ALL = """
import hashlib, sys
from ircheck.api import compile_source
from ircheck.promela import to_promela
from ircheck.grammar.diagnostics import IrcheckError
for path in sys.argv[1:]:
    try:
        text = to_promela(compile_source(open(path, encoding="utf-8").read(), path))
    except IrcheckError:
        text = "error"
    print(path, hashlib.sha256(text.encode()).hexdigest())
"""


def test_promela_export_is_byte_identical_under_every_hash_seed() -> None:
    """The export is SPIN's input: the same model must give the same file. Circular waits used to be
    enumerated through sets of lock names, so their order in the export's deadlock assertion changed
    with the hash seed (models/kernel_abba_two_cpus.irq)."""
    runs = set()
    for seed in SEEDS:
        p = subprocess.run([sys.executable, "-c", _EXPORT_ALL, *ALL], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PYTHONHASHSEED=seed), cwd=ROOT, check=True)
        assert p.stdout.count("\n") == len(ALL) and p.stdout.count(" error\n") < len(ALL) // 4
        runs.add(p.stdout)
    assert len(runs) == 1
