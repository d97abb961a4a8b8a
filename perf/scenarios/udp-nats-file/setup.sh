# Sourced by perf/ours.sh (in the process that then execs the measured hekad, so $$ is
# hekad's pid): starts nats-server with JetStream and the aggregator hekad in $WORKDIR,
# exports NATS_URL for the edge's config, and stops both once the edge has exited.
nats_port=$((PORT + 1))
export NATS_URL=nats://127.0.0.1:$nats_port
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$WORKDIR/js" >"$WORKDIR/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 100); do grep -q "Server is ready" "$WORKDIR/nats.log" 2>/dev/null && break; sleep 0.05; done
sed -e "s#@NATS_URL@#$NATS_URL#g" -e "s#@OUT@#${OUT:-$WORKDIR/out.log}#g" \
    "$ROOT/perf/scenarios/udp-nats-file/aggregator.json" >"$WORKDIR/aggregator.json"
# The latency probe's file is written by the aggregator (add_probe is ours.sh's): the edge
# forwards the probes with the flood, so p50/p99 cross the link.
if [[ -n ${PROBE_OUT:-} ]]; then
    add_probe "$WORKDIR/aggregator.json"
    unset PROBE_OUT
fi
mkdir -p "$WORKDIR/agg"
"${HEKAD:-$ROOT/target/release/hekad}" --config "$WORKDIR/aggregator.json" \
    >"$WORKDIR/agg/stdout" 2>"$WORKDIR/agg/stderr" &
agg_pid=$!
edge_pid=$$
(
    # Not ours.sh's `set -e`: a failed kill must not skip the rest. The helpers are not
    # this subshell's children, so wait for them by polling (at most 30 s each).
    set +e
    gone() { for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || return; sleep 0.2; done; }
    while kill -0 "$edge_pid" 2>/dev/null; do sleep 0.2; done
    kill -TERM "$agg_pid" 2>/dev/null; gone "$agg_pid"
    kill -TERM "$nats_pid" 2>/dev/null; gone "$nats_pid"
    kill -KILL "$agg_pid" "$nats_pid" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
