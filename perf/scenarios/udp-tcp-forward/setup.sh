# Sourced by perf/ours.sh (in the process that then execs the measured hekad, so $$ is
# hekad's pid): starts the aggregator hekad (TcpInput -> file) in $WORKDIR on PORT+1,
# exports AGG_ADDR for the edge's config, and stops the aggregator once the edge exited.
export AGG_ADDR=127.0.0.1:$((PORT + 1))
sed -e "s#@AGG_ADDR@#$AGG_ADDR#g" -e "s#@OUT@#${OUT:-$WORKDIR/out.log}#g" \
    "$ROOT/perf/scenarios/udp-tcp-forward/aggregator.json" >"$WORKDIR/aggregator.json"
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
for _ in $(seq 100); do grep -q "listening" "$WORKDIR/agg/stderr" 2>/dev/null && break; sleep 0.05; done
edge_pid=$$
(
    # Not ours.sh's `set -e`: a failed kill must not skip the rest.
    set +e
    while kill -0 "$edge_pid" 2>/dev/null; do sleep 0.2; done
    kill -TERM "$agg_pid" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$agg_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$agg_pid" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
