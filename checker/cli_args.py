"""What the `ircheck` command and its subcommands share: the subcommands' one-line summaries,
the argparse types of the limits, the --check list, and the signal handling (`Interrupts`).

Kept apart from cli.py so that the subcommands (graph, export, simulate, fmt/trace/replay) can use
them while cli.py imports the subcommands, with no import cycle.
"""

from __future__ import annotations

import argparse
import math
import signal
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import FrameType

from ircheck.grammar.diagnostics import did_you_mean
from ircheck.limits import INTERRUPTED
from ircheck.result import Report
from ircheck.spec.checks import ALL_CHECKS, IMPLICIT_CHECKS

# An implicit check (the catalogue's `implicit`, spec/checks.py) is not a `check` line of
# its own: it runs wherever it applies. Selecting it with --check keeps it (and no other check unless
# named too).
KNOWN_CHECKS = ALL_CHECKS + IMPLICIT_CHECKS

SUBCOMMANDS = {
    "graph": "draw which contexts preempt which, run in parallel, and share locks and data",
    "export": "write the model's transition system as Promela (SPIN) or its state graph as DOT",
    "fmt": "print a model in canonical form (--check: exit 1 if it is not, --write: rewrite it)",
    "trace": "draw the counterexamples of a model's violated checks (Mermaid or DOT)",
    "replay": "step a saved counterexample (--format json or itf) through a model again",
    "simulate": "random runs of a model, printed like traces (--seed S --steps N --runs R); exit 1 if one breaks a check",
    "interrupts": "print the design's /proc/interrupts: per IRQ and CPU the largest count a run reaches, or unbounded",
    "lsp": "run the language server for editors on stdin/stdout (needs pip install 'ircheck[lsp]')",
}

def positive(kind: Callable[[str], float], what: str) -> Callable[[str], float]:
    """An argparse type: a positive finite number (`nan`, `inf`, 0 and negatives are refused)."""
    def convert(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}")
        return value
    convert.__name__ = what  # argparse names the type in some messages
    return convert


POSITIVE_INT = positive(int, "a positive whole number")
SECONDS = positive(float, "a positive finite number of seconds")
MEGABYTES = positive(float, "a positive finite number of MB")


def graph_command_args(p: argparse.ArgumentParser, max_states: int, timeout: float) -> None:
    """The search limits and the model of a subcommand that explores the whole graph once
    (`ircheck graph`, `ircheck interrupts`): --max-states, --timeout, --max-memory, MODEL.irq."""
    p.add_argument("--max-states", type=POSITIVE_INT, default=max_states, metavar="N")
    p.add_argument("--timeout", type=SECONDS, default=timeout, metavar="S")
    p.add_argument("--max-memory", type=MEGABYTES, default=None, metavar="MB")
    p.add_argument("model", metavar="MODEL.irq")


def check_names(groups: Sequence[str] | None, error: Callable[[str], object]) -> list[str] | None:
    """The --check values (repeatable, comma lists) as the list the API takes, or None for the
    model's own checks. An empty list or an unknown name is a usage error (`error` does not return).
    An implicit check alone (the catalogue's `implicit`) selects only it: it runs wherever it applies."""
    if groups is None:
        return None
    names = [c.strip() for group in groups for c in group.split(",")]
    if not names or any(not n for n in names):
        error(f"--check needs a non-empty comma list of checks, not {','.join(groups)!r}; "
              f"known checks: {', '.join(KNOWN_CHECKS)}")
    for n in names:
        if n not in KNOWN_CHECKS:
            hint = did_you_mean(n, KNOWN_CHECKS)
            error(f"--check: unknown check '{n}' (IRQ401){'; ' + hint if hint else ''}; "
                  f"known checks: {', '.join(KNOWN_CHECKS)}")
    return [n for n in dict.fromkeys(names) if n not in IMPLICIT_CHECKS]


SIGNALS = {signal.SIGINT: "Ctrl-C"} | ({signal.SIGTERM: "SIGTERM"} if hasattr(signal, "SIGTERM") else {}) \
    | ({signal.SIGHUP: "SIGHUP"} if hasattr(signal, "SIGHUP") else {})


class Interrupts:
    """SIGINT, SIGTERM and SIGHUP all end the run the way Ctrl-C does: as a KeyboardInterrupt, which
    the engine turns into "inconclusive" (stopping its worker processes), remembered, so that the
    command reports what it found and stops after the model it interrupted instead of going on to
    the next one. `name` says which signal it was ("Ctrl-C", "SIGTERM", "SIGHUP").
    (Ray's processes, `--workers N`, are not forks of this one: they keep their own handlers.)"""

    def __init__(self) -> None:
        self.hit = False
        self.name = "Ctrl-C"
        self._old: dict[int, object] = {}
        self._held = False

    def hold(self) -> None:
        """From now on a signal is only remembered: the document being printed is printed whole."""
        self._held = True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self.hit:
            self.name = SIGNALS.get(signal.Signals(signum), f"signal {signum}")
        self.hit = True
        if not self._held:
            raise KeyboardInterrupt

    def __enter__(self) -> Interrupts:
        for signum in SIGNALS:
            try:
                self._old[signum] = signal.signal(signum, self._on_signal)
            except ValueError:  # not the main thread: leave the signals alone
                break
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)  # type: ignore[arg-type]
        self._old = {}

    def relabel(self, report: Report) -> None:
        """The engines say "interrupted (Ctrl-C)"; name the signal that really stopped the run."""
        if self.name == "Ctrl-C":
            return
        said, meant = str(INTERRUPTED), f"interrupted ({self.name})"
        report.stats.stopped_by = report.stats.stopped_by.replace(said, meant)
        report.checks = [replace(c, note=c.note.replace(said, meant)) for c in report.checks]
