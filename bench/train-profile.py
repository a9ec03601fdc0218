#!/usr/bin/env python3
"""Where a cluster's CPU time goes, from `perf script` of a training run.

usage: train-profile.py PERF_SCRIPT_OUTPUT FREQ_HZ STEPS WALL_S CORES

The input is `perf script -F comm,pid,tid,ip,sym,dso` of a run recorded with
the cpu-clock event at FREQ_HZ: each sample is 1/FREQ_HZ s of one core.
Every sample goes to its process (the comm of the process's main thread,
so ZeroMQ's I/O threads count for the process that owns them) and to a
part of the work named by its symbol or library. Prints CPU ms per step
and the share of the cores' time (CORES x WALL_S) for each, busiest first.
"""
import collections
import re
import sys

# (part, test on (dso, sym)), first match wins; the process decides where a
# part that both roles have (copies, transport) is counted.
PARTS = [
    ("matrix products (OpenBLAS)", lambda d, s: "openblas" in d),
    ("data set decoding (start-up)",
     lambda d, s: "/libz.so" in d or s.startswith(("idx_", "dataset_", "inflate"))),
    ("elementwise: bias, ReLU and their gradients",
     lambda d, s: s.startswith(("s_bias_act", "s_relu_mask"))),
    ("softmax and loss",
     lambda d, s: s.startswith(("s_softmax", "s_output_delta", "expf", "__expf",
                                "log"))),
    ("batch assembly", lambda d, s: s.startswith(("s_next_batch", "dataset_scaled", "s_scale", "example_order",
                                                 "rng_"))),
    ("optimizer", lambda d, s: s.startswith(("optim_", "s_adam", "s_sgd",
                                             "s_momentum", "s_nesterov",
                                             "s_adagrad"))),
    ("gradient checks (finite, norm)",
     lambda d, s: s.startswith(("s_sane", "s_within", "s_max_bits", "ps_guard", "s_sumsq"))),
    ("summing the workers' gradients", lambda d, s: s.startswith("s_add")),
    ("f16 narrowing and widening", lambda d, s: "f16" in s),
    ("memcpy/memset (batches, values, messages)",
     lambda d, s: re.match(r"__(memmove|memcpy|memset)", s) is not None),
    ("kernel: TCP, syscalls, page faults", lambda d, s: d == "[kernel.kallsyms]"),
    ("ZeroMQ, protobuf-c, wire (user space)",
     lambda d, s: "libzmq" in d or "protobuf" in d or s.startswith(("wire_", "psclient_", "zmq"))),
    ("dynamic loading (start-up)", lambda d, s: "ld-linux" in d),
]


def part_of(dso, sym):
    # s_adam.avx2, s_add.isra.0: GCC's clones and specialisations.
    sym = re.sub(r"\.(avx2|default|resolver|isra|part|constprop|cold)(\.\d+)?", "", sym)
    for name, test in PARTS:
        if test(dso, sym):
            return name
    return "other"


def read_samples(path):
    """(pid, tid, comm, dso, sym) per sample line."""
    pattern = re.compile(r"^\s*(\S+)\s+(\d+)/(\d+)\s+[0-9a-f]+\s+(.*?)\s*\((.*)\)\s*$")
    with open(path, errors="replace") as f:
        for line in f:
            m = pattern.match(line)
            if m is not None:
                comm, pid, tid, sym, dso = m.groups()
                yield int(pid), int(tid), comm, dso, sym


def main():
    path, freq, steps, wall, cores = sys.argv[1:6]
    freq, steps, wall, cores = float(freq), int(steps), float(wall), int(cores)
    samples = list(read_samples(path))
    process = {pid: comm for pid, tid, comm, _, _ in samples if pid == tid}
    counts = collections.Counter()
    for pid, _, comm, dso, sym in samples:
        role = process.get(pid, comm).replace("psc-", "")
        counts[(role, part_of(dso, sym))] += 1
    capacity = cores * wall
    busy = sum(counts.values()) / freq
    print("%-10s %-46s %12s %10s" % ("process", "part", "CPU ms/step", "of cores"))
    for (role, part), n in counts.most_common():
        cpu = n / freq
        if cpu / capacity < 0.002:
            continue
        print("%-10s %-46s %12.3f %9.1f%%" % (role, part, 1e3 * cpu / steps,
                                              100 * cpu / capacity))
    print("%-10s %-46s %12.3f %9.1f%%" % ("(idle)", "no process on a core",
                                          1e3 * max(capacity - busy, 0) / steps,
                                          100 * max(capacity - busy, 0) / capacity))


if __name__ == "__main__":
    main()
