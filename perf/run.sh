#!/usr/bin/env bash
# run.sh: hekad end to end over loopback, pinned, at each offered rate; then (PEERS=1)
# the peers side by side through ../shared/perf-peers/peers.sh. Writes
# perf/results/<date>-<host>.md (appending: several runs a day share the file) and prints
# the table.
#
#   perf/run.sh                       # every scenario, default sizes and rates
#   SCENARIOS=udp-json-file SIZES="100 200 500" RATES="400000 800000 max" perf/run.sh
#   SCENARIOS=udp-json-route  SIZES=200 RATES="200000 max" perf/run.sh
#   SCENARIOS=statsd          RATES="200000 400000 max" perf/run.sh     # sizes: 13 B lines
#   SCENARIOS=tcp-protobuf-file SIZES=200 RATES="200000 max" perf/run.sh
#   SCENARIOS=two-inputs      SIZES=200 RATES="400000 max" perf/run.sh
#   PEERS=1 SIZES="100 500" perf/run.sh   # + rsyslog, syslog-ng, nullsink, collectd, Etsy statsd
#   perf/compare.sh perf/results/OLD.md perf/results/NEW.md    # regression check (> 10 %)
#
# env (defaults in brackets):
#   SCENARIOS  scenario directories under perf/scenarios        [all]
#   SIZES      datagram sizes (a scenario may fix its own)       ["100 200 500"]
#   RATES      offered msgs/s; "max" = generator flat out        ["200000 400000 600000 800000 1000000 max"]
#   DUR        seconds per fixed-rate run                        [5]
#   MAXN       messages for a "max" run                          [8000000]
#   REPS       repetitions per cell                              [1]
#   GEN_CPU    CPU of the generator(s) and the latency probe     [0]
#   HEKAD_CPUS CPUs hekad may use (taskset)                      [1]
#   RCVBUF     net.core.rmem_max during the run (restored after) [67108864]
#   LATENCY    1 = run the latency probe (needs jq and python3)  [1]
#   PROBE_RATE latency probes per second                         [1000]
#   PEERS      1 = also run peers.sh log (OURS_CMD = udp-json-file) and peers.sh statsd
#              (OURS_STATSD_CMD = the statsd scenario), with the same SIZES, RATES (statsd:
#              STATSD_RATES, default RATES), DUR, MAXN, REPS, CPUs and RCVBUF; peers.sh's
#              other knobs (LOG_PEERS, STATSD_PEERS, GSO, QUIET_MAX...) pass through   [0]
#   SKB_DEFER  value for net.core.skb_defer_max during the run   [unchanged]
#   HEKAD_ARGS extra hekad flags, e.g. "--pool-size 1024"       []
#   KEEP       1 = keep each run's directory (config, stderr, outputs, latency.log)  [0]
#   RESULTS    the result file                                   [perf/results/<date>-<host>.md]
#
# PEERS=1 installs the peers the way ../shared/perf-peers/peers.sh's header says (its
# `install` step runs on first use): apt-get installs gcc, iproute2 and the peers' shared
# libraries (and nodejs/npm when node is missing); rsyslog, syslog-ng-core and
# collectd-core .debs are unpacked with `dpkg -x` under $WORK of peers.sh
# (PEERS_WORK, default /tmp/perf-peers), not installed as services; Etsy statsd 0.9.0 is `npm install`ed there.
#
# Columns: offered rate, sent, written, loss % (sent - written), kernel drops (hekad's
# SO_MEMINFO count summed over its UDP inputs; "~N" = the system-wide Udp RcvbufErrors
# delta, for inputs that do not count it; "-" = not UDP), hekad CPU µs per written message
# (utime+stime over the run), peak RSS (VmHWM), and p50/p99 latency in µs.
#
# Latency: a probe (perf/probe.py, pinned with the generator) sends PROBE_RATE messages/s of
# type "latency-probe" alongside the flood, to the same input, each carrying its
# CLOCK_REALTIME send time in ns. perf/ours.sh adds a chain for that type to a FileOutput
# with prefix_ts, which stamps the CLOCK_REALTIME time at which the output formats the line.
# So latency = the time from the probe's send() until hekad's output stage handles the
# message: the kernel's UDP/TCP path, the wait in the socket's receive queue behind the
# flood, recvmmsg, the ring, decode, route and the output stage. It does NOT include the
# FileOutput's write buffering (bytes go to the file at 1 MiB or at each flush_interval_ms
# commit, 1 s by default) nor the fsync. Probes are not counted in sent/written (they have
# their own chain and output); dropped probes (kernel drops) are missing from the
# percentiles and counted in kdrop. Scenarios with PROBE=none (statsd) show "-".
# Forwarding scenarios (udp-tcp-forward, udp-nats-file): their setup.sh puts the probe's
# chain and output on the aggregator instead, so the edge forwards the probes with the
# flood and the latency is send() -> the edge -> TCP or JetStream -> the aggregator's
# output stage (CLOCK_REALTIME of one host at both ends).
#
# Scenario knobs (perf/scenarios/<name>/scenario.env, sourced per scenario):
#   FORMAT         udpflood -f format                                      [json]
#   GEN            udpflood | heka-flood (release build)                   [udpflood]
#   GEN_ARGS       extra generator flags, e.g. "--tcp --format protobuf"   []
#   PORTS          UDP inputs/generators (@PORT@, @PORT2@), each at rate/PORTS  [1]
#   SCENARIO_SIZES sizes for this scenario instead of SIZES               []
#   OUT_FILES      files in the run dir; written = the smallest line count [out.log]
#   COUNT_FROM     "<owner>.<counter>": written from hekad's report (SIGUSR1 while
#                  draining, the final report after SIGTERM) instead of line counts  []
#   FILE_SUM       with COUNT_FROM: also sum field 2 of out.log lines starting with this
#                  prefix and warn when it differs from written                    []
#   PROBE          udp-json | tcp-protobuf | none                            [udp-json]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/perf-peers}
# (a git worktree one level deeper, e.g. /work/wt/NAME, finds /work/shared too)
[[ -d $PEERS_DIR || ! -d $ROOT/../../shared/perf-peers ]] || PEERS_DIR=$ROOT/../../shared/perf-peers
WORK=${WORK:-/tmp/hekad-perf}
SIZES=${SIZES:-"100 200 500"}
RATES=${RATES:-"200000 400000 600000 800000 1000000 max"}
DUR=${DUR:-5}
MAXN=${MAXN:-8000000}
REPS=${REPS:-1}
GEN_CPU=${GEN_CPU:-0}
HEKAD_CPUS=${HEKAD_CPUS:-1}
RCVBUF=${RCVBUF:-67108864}
LATENCY=${LATENCY:-1}
PROBE_RATE=${PROBE_RATE:-1000}
SCENARIOS=${SCENARIOS:-$(cd "$ROOT/perf/scenarios" && ls)}
BIN=$WORK/bin
mkdir -p "$BIN" "$ROOT/perf/results"

log() { echo "run.sh: $*" >&2; }

(cd "$ROOT" && cargo build --release --bin hekad --bin heka-flood >&2)
HEKAD=$ROOT/target/release/hekad
HEKA_FLOOD=$ROOT/target/release/heka-flood
gcc -O2 -Wall -o "$BIN/udpflood" "$PEERS_DIR/udpflood.c"
if [[ $LATENCY == 1 ]] && ! command -v jq >/dev/null; then
    log "no jq: latency columns off (apt-get install jq)"
    LATENCY=0
fi

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
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
udp_rcvbuf_errors() { # system-wide Udp RcvbufErrors
    awk '/^Udp:/ { if (h) { for (i = 2; i <= NF; i++) if (name[i] == "RcvbufErrors") print $i; exit }
                   for (i = 2; i <= NF; i++) name[i] = $i; h = 1 }' /proc/net/snmp
}

row() { printf "| %-14s | %4s | %9s | %9s | %9s | %7s | %8s | %7s | %6s | %7s | %7s |\n" "$@"; }

# The last counters report in hekad's stderr (from its last "counts after" line on).
last_report() { awk '/counts after/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$1"; }
# counter OWNER NAME FILE: the value in the last report ("" when absent).
counter() {
    last_report "$3" | awk -v o="  $1:" -v n="$2" 'index($0, o) == 1 {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == n) v = kv[2] } }
        END { if (v != "") print v }'
}
# Messages written so far (COUNT_FROM asks the running hekad for a report first).
written_now() { # dir pid
    if [[ -n $COUNT_FROM ]]; then
        kill -USR1 "$2" 2>/dev/null || true
        sleep 0.2
        counter "${COUNT_FROM%%.*}" "${COUNT_FROM#*.}" "$1/stderr"
        return
    fi
    local f n min=""
    for f in $OUT_FILES; do
        n=$(wc -l <"$1/$f" 2>/dev/null || echo 0)
        [[ -z $min || $n -lt $min ]] && min=$n
    done
    echo "${min:-0}"
}

# gen PORT N RATE SIZE: one generator; prints its "sent=... secs=..." line.
gen() {
    local port=$1 n=$2 rate=$3 size=$4
    case $GEN in
    udpflood)
        local extra=(-g)
        [[ $rate != max ]] && extra+=(-r "$rate")
        taskset -c "$GEN_CPU" "$BIN/udpflood" -p "$port" -n "$n" -s "$size" -f "$FORMAT" -k 100 "${extra[@]}"
        ;;
    heka-flood)
        [[ $rate == max ]] && rate=0
        # shellcheck disable=SC2086
        taskset -c "$GEN_CPU" "$HEKA_FLOOD" --address "127.0.0.1:$port" --count "$n" --rate "$rate" \
            --size "$size" $GEN_ARGS
        ;;
    *) log "unknown GEN=$GEN"; return 1 ;;
    esac
}

run_one() { # scenario size rate (the scenario's env is sourced by the caller)
    local scenario=$1 size=$2 rate=$3 dir port n
    dir=$(mktemp -d "$WORK/run.XXXXXX")
    port=$((20000 + RANDOM % 20000))
    local probe_out=""
    [[ $LATENCY == 1 && $PROBE != none ]] && probe_out=$dir/latency.log
    PORT=$port PORT2=$((port + 1)) OUT=$dir/out.log WORKDIR=$dir HEKAD=$HEKAD PROBE_OUT=$probe_out \
        taskset -c "$HEKAD_CPUS" "$ROOT/perf/ours.sh" "$scenario" >"$dir/stdout" 2>"$dir/stderr" &
    local pid=$!
    local c
    for _ in $(seq 100); do
        c=$(grep -c "listening" "$dir/stderr" 2>/dev/null) || c=0
        ((c >= PORTS)) && break
        sleep 0.05
    done
    local t0 snmp0 probe_pid=""
    t0=$(cpu_ticks "$pid")
    local u0 u1
    u0=$(user_ticks "$pid")
    snmp0=$(udp_rcvbuf_errors)
    if [[ -n $probe_out ]]; then
        taskset -c "$GEN_CPU" python3 "$ROOT/perf/probe.py" send "$PROBE" "$port" "$PROBE_RATE" \
            2>"$dir/probe.err" &
        probe_pid=$!
        for _ in $(seq 100); do # python may take a while to start on a busy box
            grep -q "probe: started" "$dir/probe.err" 2>/dev/null && break
            sleep 0.05
        done
    fi
    if [[ $rate == max ]]; then n=$MAXN; else n=$((rate * DUR)); fi
    # PORTS generators, each sending n/PORTS at rate/PORTS, all on GEN_CPU.
    local i each_rate=$rate gpids=()
    [[ $rate != max ]] && each_rate=$((rate / PORTS))
    for ((i = 0; i < PORTS; i++)); do
        gen $((port + i)) $((n / PORTS)) "$each_rate" "$size" >"$dir/gen.$i" &
        gpids+=($!)
    done
    for p in "${gpids[@]}"; do wait "$p"; done
    [[ -n $probe_pid ]] && { kill -TERM "$probe_pid" 2>/dev/null || true; wait "$probe_pid" || true; }
    local sent secs
    sent=$(cat "$dir"/gen.* | sed -nE 's/.*sent=([0-9]+).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
    secs=$(cat "$dir"/gen.* | sed -nE 's/.*secs=([0-9.]+).*/\1/p' | awk '$1 > m { m = $1 } END { print m + 0 }')
    # Let hekad drain its socket and commit (written stops moving for 1.2 s).
    local last=-1 now
    for _ in $(seq 50); do
        sleep 1.2
        now=$(written_now "$dir" "$pid")
        [[ $now == "$last" ]] && break
        last=$now
    done
    local t1 rss snmp1
    t1=$(cpu_ticks "$pid")
    u1=$(user_ticks "$pid")
    snmp1=$(udp_rcvbuf_errors)
    rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" || log "$scenario: hekad exited with $? (see $dir/stderr)"
    local written kdrop cpu_s us offered p50="-" p99="-"
    if [[ -n $COUNT_FROM ]]; then
        written=$(counter "${COUNT_FROM%%.*}" "${COUNT_FROM#*.}" "$dir/stderr")
        written=${written:-0}
        if [[ -n $FILE_SUM ]]; then
            local fsum
            fsum=$(awk -v p="$FILE_SUM" 'index($1, p) == 1 { s += $2 } END { printf "%d", s }' "$dir/out.log")
            [[ $fsum == "$written" ]] || log "$scenario: $COUNT_FROM=$written but $FILE_SUM* in out.log sum to $fsum"
        fi
    else
        written=$(written_now "$dir" "$pid")
    fi
    kdrop=$(last_report "$dir/stderr" | { grep -oE "kernel_drops=[0-9]+" || true; } | cut -d= -f2 |
        awk '{ s += $1; n++ } END { if (n) print s }')
    if [[ -z $kdrop ]]; then
        if [[ $GEN == udpflood ]]; then kdrop="~$((snmp1 - snmp0))"; else kdrop="-"; fi
    fi
    cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')
    us=$(awk -v c="$cpu_s" -v w="$written" 'BEGIN {printf "%.2f", w ? c * 1e6 / w : 0}')
    log "$scenario $size $rate: cpu $cpu_s s, of which user $(awk -v a="$u0" -v b="$u1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}') s (the rest is the kernel: receive, softirq, write)"
    offered=$rate; [[ $rate == max ]] && offered="max $(awk -v s="$sent" -v t="$secs" 'BEGIN {printf "%.0fk", t ? s / t / 1000 : 0}')"
    if [[ -n $probe_out ]]; then
        local np
        read -r np p50 p99 < <(python3 "$ROOT/perf/probe.py" report "$probe_out")
        log "$scenario $size $offered: latency from $np probes ($(grep -o "probes=[0-9]*" "$dir/probe.err") sent)"
    fi
    row "$scenario" "$size" "$offered" "$sent" "$written" \
        "$(awk -v s="$sent" -v w="$written" 'BEGIN {printf "%.2f", s ? (s - w) * 100 / s : 0}')" \
        "$kdrop" "$us" "$rss" "$p50" "$p99"
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $dir"; else rm -rf "$dir"; fi
}

host=$(hostname -s)
result=${RESULTS:-$ROOT/perf/results/$(date +%Y-%m-%d)-$host.md}
{
    echo "# hekad perf run, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
    echo "- pinning: generator (udpflood -g, GSO, or heka-flood) and latency probe on cpu$GEN_CPU, hekad on cpus $HEKAD_CPUS (taskset)"
    echo "- rmem_max $RCVBUF, skb_defer_max $(sysctl -n net.core.skb_defer_max 2>/dev/null || echo n/a), commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo ?)"
    echo "- command: HEKAD_ARGS=\"${HEKAD_ARGS:-}\" SCENARIOS=\"$SCENARIOS\" SIZES=\"$SIZES\" RATES=\"$RATES\" DUR=$DUR REPS=$REPS LATENCY=$LATENCY perf/run.sh"
    echo "- latency (p50/p99 µs): probe send() to hekad's output stage (forwarding scenarios: the aggregator's), $PROBE_RATE probes/s (see run.sh's header)"
    echo
    row scenario size offered sent written "loss %" kdrop "µs/msg" "RSS MiB" "p50 µs" "p99 µs"
    row --- --- --- --- --- --- --- --- --- --- ---
    for scenario in $SCENARIOS; do
        (
            FORMAT=json GEN=udpflood GEN_ARGS="" PORTS=1 SCENARIO_SIZES="" OUT_FILES=out.log
            COUNT_FROM="" FILE_SUM="" PROBE=udp-json
            # shellcheck disable=SC1090
            [[ -f $ROOT/perf/scenarios/$scenario/scenario.env ]] && source "$ROOT/perf/scenarios/$scenario/scenario.env"
            for size in ${SCENARIO_SIZES:-$SIZES}; do
                for rate in $RATES; do
                    for _ in $(seq "$REPS"); do run_one "$scenario" "$size" "$rate"; done
                done
            done
        )
    done
} | tee -a "$result"

if [[ ${PEERS:-0} == 1 ]]; then
    PEERS_WORK=${PEERS_WORK:-/tmp/perf-peers}
    # peers.sh runs from a copy with one fix: its cpu_snapshot ends with `cat` of the last
    # /proc/<pid>/stat, so when that process exits meanwhile (any short-lived process on a
    # busy box) pipefail + set -e end peers.sh silently in the middle of a table.
    mkdir -p "$PEERS_WORK/src"
    cp -p "$PEERS_DIR"/*.sh "$PEERS_DIR"/*.c "$PEERS_DIR"/*.js "$PEERS_WORK/src/"
    sed -i 's#do cat "$f" 2>/dev/null; done#do cat "$f" 2>/dev/null || true; done#' "$PEERS_WORK/src/peers.sh"
    PEERS_DIR=$PEERS_WORK/src
    # First use: peers.sh install (its output to stderr, not into the result file).
    [[ -x $PEERS_WORK/root/usr/sbin/rsyslogd ]] || WORK=$PEERS_WORK bash "$PEERS_DIR/peers.sh" install >&2
    log "peers (log): rsyslog, syslog-ng, nullsink and hekad (udp-json-file) through peers.sh"
    {
        echo
        echo "## peers.sh log, $(date -u '+%H:%M UTC') (ours = hekad, perf/scenarios/udp-json-file)"
        echo
        echo '```'
        OURS_CMD="$ROOT/perf/ours.sh udp-json-file" SIZES="$SIZES" RATES="$RATES" DUR="$DUR" MAXN="$MAXN" \
            REPS="$REPS" GEN_CPU="$GEN_CPU" PEER_CPUS="$HEKAD_CPUS" RCVBUF="$RCVBUF" \
            WORK=$PEERS_WORK bash "$PEERS_DIR/peers.sh" log
        echo '```'
        echo
        echo "## peers.sh statsd, $(date -u '+%H:%M UTC') (ours = hekad, perf/scenarios/statsd)"
        echo
        echo '```'
        OURS_STATSD_CMD="$ROOT/perf/ours.sh statsd" \
            OURS_STATSD_COUNT_CMD="awk 'index(\$1, \"stats_counts.flood.\") == 1 { s += \$2 } END { printf \"%d\\n\", s }' \"\$WORKDIR/out.log\"" \
            STATSD_RATES="${STATSD_RATES:-$RATES}" DUR="$DUR" MAXN="$MAXN" REPS="$REPS" \
            GEN_CPU="$GEN_CPU" PEER_CPUS="$HEKAD_CPUS" RCVBUF="$RCVBUF" WORK=$PEERS_WORK \
            bash "$PEERS_DIR/peers.sh" statsd
        echo '```'
    } | tee -a "$result"
fi
log "wrote $result"
