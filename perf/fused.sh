#!/usr/bin/env bash
# fused.sh [SIZE ...]: CPU nanoseconds per message through the whole engine in one fused
# thread, no sockets (benches/examples/instructions.rs: in-memory input → JsonDecoder →
# route → FileOutput text to /dev/null), pinned to cpu1. Each figure is the task-clock of a
# 2.5 M-message run minus that of a 0.5 M run (start-up cancels), divided by 2 M; the median
# of 3 pairs. Needs `perf` and an idle box; compare builds side by side in one sitting.
#   perf/fused.sh 200 500
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --quiet --release -p benches --example instructions
bin=target/release/examples/instructions
clock() { taskset -c "${CPU:-1}" perf stat -x, -e task-clock "$bin" "$1" "$2" 2>&1 | awk -F, '/task-clock/ {print $1}'; }
for size in "${@:-200}"; do
    for _ in 1 2 3; do
        a=$(clock 500000 "$size")
        b=$(clock 2500000 "$size")
        awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f\n", (b - a) * 1e6 / 2e6}'
    done | sort -n | sed -n 2p | sed "s/^/$size B: ns of CPU per message (median of 3): /"
done
