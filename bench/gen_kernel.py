"""Write a scalable Linux-layer benchmark as .irq: python bench/gen_kernel.py C D R > m.irq

Every bundled kernel model is tiny (< 300 states), so the cost of the kernel checks on a large state
space was unknown. This family is a correct multi-queue NIC driver that grows in three directions:
C CPUs, D NICs and R raises per NIC. Every check holds, so the whole state space is explored.

- NIC i sits on input 3+i of one 8259A (edge, at most R raises) and any CPU may take it.
  `request_irq 3+i nic<i>_isr`: the flow handler acks the 8259A (no `eoi` in the handler).
- The hard handler fills its rx ring under the ring's spinlock (plain `spin_lock`: hard IRQs are off
  in the handler) and defers the rest: even NICs raise their NAPI softirq `nic<i>_rx` (which may run
  on several CPUs at once), odd NICs schedule their tasklet `nic<i>_rx` (never on two at once).
- The bottom half drains the ring under the ring lock with `spin_lock_irqsave` (the lock is taken
  in hard-IRQ context), then, under `stats_lock` (plain `spin_lock`: softirqs do not preempt each
  other), updates the shared rx statistics, marks data ready and wakes the readers.
- One reader thread per CPU sleeps in `wait_event rxq until ready`, then reads the statistics under
  `spin_lock_bh stats_lock` (the lock is taken in softirq context) and consumes the event.

Checks: no_deadlock, no_sleep_in_atomic, no_lost_wakeup, no_data_race, lockdep, no_starvation.
Not no_lost_irq: with R >= 2 a NIC may raise again before any CPU acknowledged the first edge, which
that check rightly reports (the environment is free to), whatever the driver does.
"""

from __future__ import annotations

import sys

CHECKS = "no_deadlock, no_sleep_in_atomic, no_lost_wakeup, no_data_race, lockdep, no_starvation"


def kernel_family(cpus: int, devices: int, raises: int) -> str:
    if not (1 <= cpus <= 4 and 1 <= devices <= 5 and raises >= 1):
        raise ValueError("cpus 1..4, devices 1..5 (inputs 3..7), raises >= 1")
    out = [f"# kernel NIC family: {cpus} CPUs, {devices} NICs, each raised at most {raises} times",
           f"system kernel_nics_{cpus}_{devices}_{raises}",
           f"cpus {cpus}",
           "pic master : i8259 { base 0x20 }"]
    for i in range(devices):
        out.append(f"device nic{i} {{ irq master.{3 + i} edge raises {raises} }}")
    for i in range(devices):
        out.append(f"request_irq {3 + i} nic{i}_isr")
    for i in range(devices):
        out += [f"spinlock ring{i}_lock", f"data ring{i}"]
    out += ["spinlock stats_lock", "data rx_stats", "flag ready", "waitqueue rxq"]
    for i in range(devices):
        defer = f"raise_softirq nic{i}_rx" if i % 2 == 0 else f"tasklet_schedule nic{i}_rx"
        kind = "softirq" if i % 2 == 0 else "tasklet"
        out += [f"handler nic{i}_isr {{",
                f"    spin_lock ring{i}_lock",
                f"    write ring{i}",
                f"    spin_unlock ring{i}_lock",
                f"    {defer}",
                "}",
                f"{kind} nic{i}_rx {{",
                f"    spin_lock_irqsave ring{i}_lock",
                f"    read ring{i}",
                f"    spin_unlock_irqrestore ring{i}_lock",
                "    spin_lock stats_lock",
                "    read rx_stats",
                "    write rx_stats",
                "    set ready",
                "    spin_unlock stats_lock",
                "    wake_up rxq",
                "}"]
    for k in range(cpus):
        out += [f"thread app{k} on cpu{k} {{",
                "    wait_event rxq until ready",
                "    spin_lock_bh stats_lock",
                "    read rx_stats",
                "    clear ready",
                "    spin_unlock_bh stats_lock",
                "}"]
    out.append(f"check {CHECKS}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    print(kernel_family(*(args + [2, 2, 2][len(args):])), end="")
