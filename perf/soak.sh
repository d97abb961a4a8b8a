#!/usr/bin/env bash
# soak.sh: a long run at a steady rate (not in CI). Starts a release hekad on a scenario,
# drives it with ../shared/perf-peers/udpflood (UDP GSO), samples RSS, fds and threads every
# minute, and checks that RSS stays within MAX_GROWTH_KB of the first sample, fds and threads
# stay exactly equal, the balance line is ok and sent = accepted + kernel_drops + truncated.
#
#   perf/soak.sh                         # 30 min, udp-json-file, 300k msg/s of 200 B
#   MINUTES=5 RATE=100000 perf/soak.sh
#
# env (defaults in brackets):
#   SCENARIO  perf/scenarios/<name>                                  [udp-json-file]
#   MINUTES   duration                                               [30]
#   RATE      offered msgs/s (about half the zero-loss rate)         [300000]
#   SIZE      datagram bytes                                         [200]
#   GEN_CPU / HEKAD_CPUS  pinning as in perf/run.sh                  [0 / 1]
#   MAX_GROWTH_KB  allowed RSS growth after the first sample         [8192]
# Writes the samples to perf/results/<date>-<host>-soak.md and prints them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/perf-peers}
WORK=${WORK:-/tmp/hekad-soak}
SCENARIO=${SCENARIO:-udp-json-file}
MINUTES=${MINUTES:-30}
RATE=${RATE:-300000}
SIZE=${SIZE:-200}
GEN_CPU=${GEN_CPU:-0}
HEKAD_CPUS=${HEKAD_CPUS:-1}
MAX_GROWTH_KB=${MAX_GROWTH_KB:-8192}
mkdir -p "$WORK" "$ROOT/perf/results"
(cd "$ROOT" && cargo build --release --bin hekad >&2)
gcc -O2 -Wall -o "$WORK/udpflood" "$PEERS_DIR/udpflood.c"

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$WORK/out.log
rm -f "$out"
sed -e "s#@PORT@#$port#g" -e "s#@OUT@#$out#g" -e "s#@DIR@#$WORK#g" \
    "$ROOT/perf/scenarios/$SCENARIO/hekad.json" >"$WORK/hekad.json"
taskset -c "$HEKAD_CPUS" "$ROOT/target/release/hekad" --config "$WORK/hekad.json" \
    2>"$WORK/hekad.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; kill $gen 2>/dev/null || true' EXIT
sleep 1
total=$((RATE * MINUTES * 60))
"$WORK/udpflood" -p "$port" -n "$total" -s "$SIZE" -r "$RATE" -f json -c "$GEN_CPU" -g \
    >"$WORK/flood.out" &
gen=$!

report=$ROOT/perf/results/$(date +%F)-$(hostname)-soak.md
{
    echo "## soak $(date -u +%FT%TZ): $SCENARIO, $RATE msg/s of $SIZE B for $MINUTES min"
    echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r); generator on cpu $GEN_CPU, hekad on $HEKAD_CPUS"
    echo
    echo "| minute | RSS KiB | fds | threads | lines written |"
    echo "|---:|---:|---:|---:|---:|"
} | tee -a "$report"
first_rss= first_fds= first_threads=
for m in $(seq 1 "$MINUTES"); do
    sleep 60
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
    lines=$(wc -l <"$out")
    echo "| $m | $rss | $fds | $threads | $lines |" | tee -a "$report"
    first_rss=${first_rss:-$rss} first_fds=${first_fds:-$fds} first_threads=${first_threads:-$threads}
    if ((rss > first_rss + MAX_GROWTH_KB)); then
        echo "soak.sh: RSS grew from $first_rss to $rss KiB" | tee -a "$report" >&2
        exit 1
    fi
    if ((fds != first_fds || threads != first_threads)); then
        echo "soak.sh: fds $first_fds -> $fds, threads $first_threads -> $threads" | tee -a "$report" >&2
        exit 1
    fi
done
wait "$gen" || true
kill -TERM "$pid"
wait "$pid"
echo | tee -a "$report"
grep -E '^  (udp|out|file|balance)' "$WORK/hekad.err" | sed 's/^/    /' | tee -a "$report"
grep -q 'balance: .*: ok' "$WORK/hekad.err"
# Every datagram sent is accepted or a counted kernel drop (or truncated).
count() { grep -E "^  udp: " "$WORK/hekad.err" | grep -oE " $1=[0-9]+" | cut -d= -f2; }
sent=$(grep -oE 'sent=[0-9]+' "$WORK/flood.out" | tail -1 | cut -d= -f2)
accepted=$(count accepted) drops=$(count kernel_drops) truncated=$(count truncated)
echo "sent=$sent accepted=$accepted kernel_drops=$drops truncated=$truncated" | tee -a "$report"
if ((sent != accepted + drops + truncated)); then
    echo "soak.sh: sent $sent != accepted + kernel_drops + truncated" | tee -a "$report" >&2
    exit 1
fi
