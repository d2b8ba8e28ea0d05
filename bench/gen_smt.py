"""Model families for the Z3 engine benchmark (bench/smt.py): python bench/gen_smt.py FAMILY N B [K] > m.irq

Both families put N edge lines on one 8259A (fully nested priority), each device raising at most
B times, so the state space grows like (B+1)^N times the interleavings of handlers: beyond what
the explicit engine stores from N = 8 or so.

- `deep` (a violation at modest depth): every handler is `sti; write log; eoi` behind an interrupt
  gate, so higher lines nest into lower ones; `check max_nesting K` (default 3) is broken by the
  (K+1)-th nested frame, 11 steps deep for K = 3, 3 more per level. BFS must first store every
  state of the shallower layers, which grows with N, B and K; BMC only unrolls those steps.
- `cascade` (a violation at modest depth, on the PC pair): `deep` with 9 to 15 lines on a master in
  special fully nested mode and its slave, so nesting may go 15 frames deep; the state space grows
  with every line while the violation stays 3K+2 steps deep.
- `cascade_safe`: `safe` on the PC pair.
- `safe` (the property holds): handlers `eoi master; write log` behind interrupt gates (IF = 0
  from entry to the implicit iret), so frames never nest: `check max_nesting 1` holds. The
  explicit state space still grows with every line and raise (which edges are latched, raised,
  in service, in which order). The proof needs a strengthening ("inside a handler IF is 0, and
  every saved frame had IF 0"), which Spacer finds.
"""

from __future__ import annotations

import sys

from gen_nested import edge_lines  # bench/ is the script directory (and on the tests' path)


def cascade_lines(n: int, b: int) -> tuple[list[str], list[str]]:
    """The PC pair, master in special fully nested mode (a slave line may nest over another slave
    line), with n (9..15) edge devices: master IR0, IR1, then slave IR0-7, then master IR3-7 - the
    PC's priority order. Returns the declarations and each device's EOI sequence."""
    if not 9 <= n <= 15:
        raise ValueError("a cascade has 9 to 15 device lines")
    inputs = [("master", 0), ("master", 1)] + [("slave", i) for i in range(8)] + [("master", i) for i in range(3, 8)]
    out = ["pic master : i8259 { base 0x20  mode special_fully_nested }",
           "pic slave  : i8259 { base 0x28  cascade master.2 }"]
    eois = []
    for d, (chip, pin) in enumerate(inputs[:n]):
        out.append(f"device d{d} {{ irq {chip}.{pin} edge raises {b} }}")
        eois.append("eoi slave; eoi master" if chip == "slave" else "eoi master")
    out.append("idt {")
    for d, (chip, pin) in enumerate(inputs[:n]):
        out.append(f"    {(0x20 if chip == 'master' else 0x28) + pin:#x} -> h{d} interrupt_gate dpl 0")
    out.append("}")
    return out, eois


def smt_family(kind: str, n: int, b: int, k: int = 3) -> str:
    """kind "deep": `check max_nesting k` (broken by the (k+1)-th nested frame); "safe": max_nesting 1;
    "cascade": deep on the PC pair (9 to 15 lines), where nesting can go 15 frames deep."""
    if kind not in ("deep", "safe", "cascade", "cascade_safe"):
        raise ValueError(kind)
    if kind.startswith("cascade"):
        decls, eois = cascade_lines(n, b)
        out = [f"# Z3 benchmark family '{kind}': {n} edge lines on two 8259As, each raised at most {b} times",
               *decls, "data log"]
        if kind == "cascade":
            out += [f"handler h{i} {{ sti; write log; {eoi} }}" for i, eoi in enumerate(eois)]
            out.append(f"check max_nesting {k}")
        else:
            out += [f"handler h{i} {{ {eoi}; write log }}" for i, eoi in enumerate(eois)]
            out.append("check max_nesting 1")
        return "\n".join(out) + "\n"
    out = [f"# Z3 benchmark family '{kind}': {n} edge lines, each raised at most {b} times", *edge_lines(n, b)]
    out.append("data log")
    for i in range(n):
        body = "sti; write log; eoi master" if kind == "deep" else "eoi master; write log"
        out.append(f"handler h{i} {{ {body} }}")
    out.append(f"check max_nesting {k}" if kind == "deep" else "check max_nesting 1")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(smt_family(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 2,
                     int(sys.argv[4]) if len(sys.argv) > 4 else 3), end="")
