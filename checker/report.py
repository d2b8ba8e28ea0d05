"""Render Reports: the human text report, the JSON contract (schemas/report.schema.json), the statistics block.

Timings (`seconds`, `states_per_s`, `peak_mb`) are the only part of a report that
differs from run to run; `timings=False` leaves them out, so that the same model
gives byte-identical output every time (`ircheck --no-timings`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ircheck.grammar.diagnostics import shown_path
from ircheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, Report, Stats

_MARK = {HOLDS: "holds", VIOLATED: "VIOLATED", INCONCLUSIVE: "inconclusive"}

TIMING_KEYS = ("seconds", "states_per_s", "peak_mb")  # the run-dependent members of "stats"


def _changes(ch: dict[str, tuple[str, str]]) -> str:
    return ", ".join(f"{k} {a}->{b}" for k, (a, b) in ch.items())


def trace_lines(c: CheckResult, where_prefix: str) -> list[str]:
    """The steps of one counterexample; `file:line` on each, so editors and terminals can jump there.
    A deadlock's acquisition that can never proceed (`CheckResult.blocked`) follows the last step,
    without a step number (it is not a step taken), and carries the `<- violation` marker."""
    width = max((len(s.context) for s in [*c.trace, *([c.blocked] if c.blocked else [])]), default=0)
    out: list[str] = []
    for s in c.trace:
        loop = "  <- loop starts" if c.loop_start == s.number else ""
        mark = "  <- violation" if s.note == "violation" else ""
        where = f"  [{where_prefix}:{s.line}]" if s.line else ""
        out.append(f"{s.number:>3}  {s.context:<{width}}  {s.action}{where}{mark}{loop}")
        if s.changes:
            out.append(f"{'':>3}  {'':<{width}}    {_changes(s.changes)}")
    b = c.blocked
    if b is not None:
        where = f"  [{where_prefix}:{b.line}]" if b.line else ""
        out.append(f"{'':>3}  {b.context:<{width}}  {b.action} (never proceeds){where}  <- violation")
    return out


def text(report: Report, verbose: bool = False, timings: bool = True) -> str:
    out: list[str] = []
    if report.errors:
        for d in report.errors:
            out.append(d.render(report.source))
        return "\n".join(out)
    st = report.stats
    verdict = report.verdict.upper() if report.verdict != HOLDS else "all checks hold" if report.checks else \
        "no check ran"
    head = f"{shown_path(report.model)}: {verdict}"
    out.append(head)
    for c in report.checks:
        out.append(f"  {c.name:<20} {_MARK.get(c.status, c.status)}" + (f"  ({c.note})" if c.note else ""))
        if c.status != VIOLATED:
            continue
        traces = [c, *c.more]
        for k, t in enumerate(traces):
            kind = "lasso" if t.loop_start else "counterexample"
            nth = f" {k + 1} of {len(traces)}" if len(traces) > 1 else ""
            out.append(f"    {kind}{nth}, {len(t.trace)} step{'s' if len(t.trace) != 1 else ''}:")
            out.extend(f"    {ln}" for ln in trace_lines(t, shown_path(report.model)))
            out.append(f"    => {t.message}")
            if t.interrupts_text:
                out.append(f"    /proc/interrupts after it: {t.interrupts_text}")
    timed = (f", {st.seconds:.2f} s, {st.states_per_s:,.0f} states/s, peak {st.peak_mb:.0f} MB"
             if timings else "")
    if st.smt:
        out.append(f"  ({smt_stats_text(st, timings)}"
                   + (f"; stopped: {st.stopped_by}" if st.stopped_by and not st.complete else "") + ")")
        if st.auto:
            out.append(f"  (auto: {st.auto})")
        return "\n".join(out)
    out.append(f"  ({st.engine}: {st.states:,} states, {st.transitions:,} transitions, depth {st.depth}"
               + timed + (f"; stopped: {st.stopped_by}" if st.stopped_by and not st.complete else "") + ")")
    return "\n".join(out)


def smt_stats_text(st: Stats, timings: bool = True) -> str:
    """The Z3 engine's statistics line: BMC depth, induction k, solver time, Z3 version."""
    smt = st.smt
    parts = [f"smt: BMC depth {smt.get('bmc_depth', st.depth)}"]
    if smt.get("k"):
        parts.append(f"k-induction up to k = {smt['k']}")
    hou = smt.get("houdini")
    if isinstance(hou, dict) and hou.get("invariants"):
        parts.append(f"{hou['invariants']} auxiliary invariants (Houdini)")
    if smt.get("lasso_depth"):
        parts.append(f"lassos up to {smt['lasso_depth']} steps")
    if timings:
        solver = smt.get("solver_seconds", 0.0)
        parts.append(f"solver {float(solver) if isinstance(solver, int | float | str) else 0.0:.2f} s, "
                     f"{st.seconds:.2f} s, "
                     f"peak {st.peak_mb:.0f} MB")
    parts.append(f"z3 {smt.get('z3', '?')}")
    return ", ".join(parts)


def report_json(report: Report, timings: bool = True) -> dict[str, object]:
    """One model's JSON object; without timings, `stats` keeps only what the search decides."""
    d = report.to_json()
    stats = d.get("stats")
    if not timings and isinstance(stats, dict):
        kept = {k: v for k, v in stats.items() if k not in TIMING_KEYS}
        smt = kept.get("smt")
        if isinstance(smt, dict):
            kept["smt"] = {k: v for k, v in smt.items() if k != "solver_seconds"}
        d["stats"] = kept
    return d


def json_doc(reports: Sequence[Report], timings: bool = True, as_list: bool | None = None) -> str:
    """One object for one model, else a list (`as_list` fixes the shape, e.g. for a run stopped early)."""
    docs = [report_json(r, timings) for r in reports]
    if as_list is None:
        as_list = len(docs) != 1
    return json.dumps(docs if as_list or not docs else docs[0], indent=2)


def stats_text(report: Report, timings: bool = True) -> str:
    """`--verbose`: what the search did for one model, one fact a line (to stderr)."""
    out = [f"{shown_path(report.model)}: statistics"]
    if report.errors:
        out.append(f"  {'not checked':<12} {len(report.errors)} input error{'s' if len(report.errors) != 1 else ''}")
        return "\n".join(out)
    st = report.stats
    rows: list[tuple[str, str]] = [("engine", st.engine), ("states", f"{st.states:,}"),
                                   ("transitions", f"{st.transitions:,}"), ("depth", str(st.depth))]
    if timings:
        rows += [("seconds", f"{st.seconds:.2f}"), ("peak MB", f"{st.peak_mb:.0f}"),
                 ("states/s", f"{st.states_per_s:,.0f}")]
    rows.append(("complete", "yes" if st.complete else "no"))
    if st.stopped_by:
        rows.append(("stopped by", st.stopped_by))
    if st.smt:
        rows += [(f"smt {k}", str(v)) for k, v in st.smt.items() if timings or k != "solver_seconds"]
    if st.auto:
        rows.append(("auto", st.auto))
    if st.engine == "explicit":
        rows.append(("reductions", ", ".join(st.reductions) or "none"))
    if st.reduction_note:
        rows.append(("reduction", st.reduction_note))
    if st.refind_states:
        rows.append(("re-search", f"{st.refind_states:,} states unreduced for shortest counterexamples"))
    rows.append(("checks run", ", ".join(c.name for c in report.checks) or "none"))
    out += [f"  {k:<12} {v}" for k, v in rows]
    return "\n".join(out)
