"""Write the nested-PIC reference model (bench/README.md) as .irq: python bench/gen_nested.py N B > m.irq

N edge lines on one 8259A in fully nested mode, each raised at most B times; every handler is
`body; sti (even lines only); specific EOI; iret` behind an interrupt gate. The check
(max_nesting N*B) holds, so the whole state space is explored.
"""

from __future__ import annotations

import sys


def edge_lines(n: int, b: int) -> list[str]:
    """One 8259A, devices d0..d(n-1) on its inputs 0..n-1 (edge, at most b raises each), and an
    interrupt gate from each vector to handler h<i> - the frame of both benchmark families."""
    out = ["pic master : i8259 { base 0x20 }"]
    for i in range(n):
        out.append(f"device d{i} {{ irq master.{i} edge raises {b} }}")
    out.append("idt {")
    for i in range(n):
        out.append(f"    {0x20 + i:#x} -> h{i} interrupt_gate dpl 0")
    out.append("}")
    return out


def nested_pic(n: int, b: int) -> str:
    out = [f"# nested-PIC reference model: {n} edge lines, each raised at most {b} times", *edge_lines(n, b)]
    for i in range(n):
        mid = "sti" if i % 2 == 0 else "nop"
        out.append(f"handler h{i} {{ nop; {mid}; eoi master.{i} }}")
    out.append(f"check max_nesting {n * b}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(nested_pic(int(sys.argv[1]) if len(sys.argv) > 1 else 6, int(sys.argv[2]) if len(sys.argv) > 2 else 2),
          end="")
