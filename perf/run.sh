#!/usr/bin/env bash
# run.sh: hekad end to end over loopback UDP, pinned, at each offered rate; then (PEERS=1)
# the peers side by side through ../shared/perf-peers/peers.sh. Writes
# perf/results/<date>-<host>.md (appending: several runs a day share the file) and prints
# the table.
#
#   perf/run.sh                       # every scenario, default sizes and rates
#   SCENARIOS=udp-json-file SIZES="100 200 500" RATES="400000 800000 max" perf/run.sh
#
# env (defaults in brackets):
#   SCENARIOS  scenario directories under perf/scenarios        [all]
#   SIZES      datagram sizes                                    ["100 200 500"]
#   RATES      offered msgs/s; "max" = generator flat out        ["200000 400000 600000 800000 1000000 max"]
#   DUR        seconds per fixed-rate run                        [5]
#   MAXN       datagrams for a "max" run                         [8000000]
#   REPS       repetitions per cell                              [1]
#   GEN_CPU    CPU of the generator                              [0]
#   HEKAD_CPUS CPUs hekad may use (taskset)                      [1]
#   RCVBUF     net.core.rmem_max during the run (restored after) [67108864]
#   PEERS      1 = also run peers.sh log with OURS_CMD=hekad     [0]
#   SKB_DEFER  value for net.core.skb_defer_max during the run   [unchanged]
#   HEKAD_ARGS extra hekad flags, e.g. "--pool-size 1024"       []
#
# Columns: offered rate, sent, written (lines in the file), loss %, kernel drops (hekad's
# SO_RXQ_OVFL count), hekad CPU µs per written message (utime+stime over the run), peak
# RSS (VmHWM). The generator is ../shared/perf-peers/udpflood with UDP GSO (-g).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/perf-peers}
WORK=${WORK:-/tmp/hekad-perf}
SIZES=${SIZES:-"100 200 500"}
RATES=${RATES:-"200000 400000 600000 800000 1000000 max"}
DUR=${DUR:-5}
MAXN=${MAXN:-8000000}
REPS=${REPS:-1}
GEN_CPU=${GEN_CPU:-0}
HEKAD_CPUS=${HEKAD_CPUS:-1}
RCVBUF=${RCVBUF:-67108864}
SCENARIOS=${SCENARIOS:-$(cd "$ROOT/perf/scenarios" && ls)}
BIN=$WORK/bin
mkdir -p "$BIN" "$ROOT/perf/results"

log() { echo "run.sh: $*" >&2; }

(cd "$ROOT" && cargo build --release --bin hekad >&2)
HEKAD=$ROOT/target/release/hekad
gcc -O2 -Wall -o "$BIN/udpflood" "$PEERS_DIR/udpflood.c"

old_rmem=$(sysctl -n net.core.rmem_max)
old_defer=$(sysctl -n net.core.skb_defer_max 2>/dev/null || echo "")
restore() {
    sysctl -qw net.core.rmem_max="$old_rmem" || true
    [[ -n $old_defer ]] && sysctl -qw net.core.skb_defer_max="$old_defer" || true
}
trap restore EXIT
sysctl -qw net.core.rmem_max="$RCVBUF" || log "could not raise rmem_max (not root?)"
[[ -n ${SKB_DEFER:-} ]] && sysctl -qw net.core.skb_defer_max="$SKB_DEFER"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

row() { printf "| %-14s | %4s | %9s | %9s | %9s | %7s | %8s | %7s | %6s |\n" "$@"; }

run_one() { # scenario size rate
    local scenario=$1 size=$2 rate=$3 dir port n extra=() fmt
    dir=$(mktemp -d "$WORK/run.XXXXXX")
    port=$((20000 + RANDOM % 20000))
    fmt=json
    # shellcheck disable=SC1090
    [[ -f $ROOT/perf/scenarios/$scenario/scenario.env ]] && source "$ROOT/perf/scenarios/$scenario/scenario.env"
    fmt=${FORMAT:-json}
    PORT=$port OUT=$dir/out.log WORKDIR=$dir HEKAD=$HEKAD \
        taskset -c "$HEKAD_CPUS" "$ROOT/perf/ours.sh" "$scenario" >"$dir/stdout" 2>"$dir/stderr" &
    local pid=$!
    for _ in $(seq 100); do grep -q "listening" "$dir/stderr" 2>/dev/null && break; sleep 0.05; done
    local t0; t0=$(cpu_ticks "$pid")
    if [[ $rate == max ]]; then n=$MAXN; extra=(-g); else n=$((rate * DUR)); extra=(-r "$rate" -g); fi
    local out sent secs
    out=$(taskset -c "$GEN_CPU" "$BIN/udpflood" -p "$port" -n "$n" -s "$size" -f "$fmt" -k 100 "${extra[@]}")
    sent=$(sed -E 's/.*sent=([0-9]+).*/\1/' <<<"$out")
    secs=$(sed -E 's/.*secs=([0-9.]+).*/\1/' <<<"$out")
    # Let hekad drain its socket and commit (written stops moving for 1.2 s).
    local last=-1 now
    for _ in $(seq 50); do
        sleep 1.2
        now=$(wc -l <"$dir/out.log" 2>/dev/null || echo 0)
        [[ $now == "$last" ]] && break
        last=$now
    done
    local t1 rss
    t1=$(cpu_ticks "$pid")
    rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" || true
    local written kdrop cpu_s us offered
    written=$(wc -l <"$dir/out.log")
    kdrop=$(grep -oE "kernel_drops=[0-9]+" "$dir/stderr" | tail -1 | cut -d= -f2)
    cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')
    us=$(awk -v c="$cpu_s" -v w="$written" 'BEGIN {printf "%.2f", w ? c * 1e6 / w : 0}')
    offered=$rate; [[ $rate == max ]] && offered="max $(awk -v s="$sent" -v t="$secs" 'BEGIN {printf "%.0fk", s / t / 1000}')"
    row "$scenario" "$size" "$offered" "$sent" "$written" \
        "$(awk -v s="$sent" -v w="$written" 'BEGIN {printf "%.2f", s ? (s - w) * 100 / s : 0}')" \
        "${kdrop:-?}" "$us" "$rss"
    rm -rf "$dir"
}

host=$(hostname -s)
result=$ROOT/perf/results/$(date +%Y-%m-%d)-$host.md
{
    echo "# hekad perf run, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
    echo "- pinning: generator (udpflood -g, GSO) on cpu$GEN_CPU, hekad on cpus $HEKAD_CPUS (taskset)"
    echo "- rmem_max $RCVBUF, skb_defer_max $(sysctl -n net.core.skb_defer_max 2>/dev/null || echo n/a)"
    echo "- command: HEKAD_ARGS=\"${HEKAD_ARGS:-}\" SCENARIOS=\"$SCENARIOS\" SIZES=\"$SIZES\" RATES=\"$RATES\" DUR=$DUR REPS=$REPS perf/run.sh"
    echo
    row scenario size offered sent written "loss %" kdrop "µs/msg" "RSS MiB"
    row --- --- --- --- --- --- --- --- ---
    for scenario in $SCENARIOS; do
        for size in $SIZES; do
            for rate in $RATES; do
                for _ in $(seq "$REPS"); do run_one "$scenario" "$size" "$rate"; done
            done
        done
    done
} | tee -a "$result"

if [[ ${PEERS:-0} == 1 ]]; then
    log "peers: rsyslog, syslog-ng, nullsink and hekad through peers.sh"
    OURS_CMD="$ROOT/perf/ours.sh udp-json-file" SIZES="$SIZES" \
        bash "$PEERS_DIR/peers.sh" log | tee -a "$result"
fi
log "wrote $result"
