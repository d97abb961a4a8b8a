#!/usr/bin/env bash
# ours.sh SCENARIO: start hekad on perf/scenarios/SCENARIO/hekad.json with @PORT@, @PORT2@,
# @OUT@ and @DIR@ replaced from the environment (PORT, PORT2 [PORT+1], OUT [$WORKDIR/out.log],
# WORKDIR), as peers.sh's OURS_CMD / OURS_STATSD_CMD expect:
#   OURS_CMD="$PWD/perf/ours.sh udp-json-file" bash ../shared/perf-peers/peers.sh log
#
# PROBE_OUT=FILE (set by run.sh for its latency column) adds, with jq, a chain for message
# type "latency-probe" and a FileOutput "latency" writing those messages to FILE with
# prefix_ts (the time the output formats each line), so probes never reach the scenario's
# own outputs. Without PROBE_OUT the config is the scenario's, unchanged. A forwarding
# scenario's setup.sh adds them to its aggregator's config instead (add_probe) and unsets
# PROBE_OUT: the edge then forwards the probes with the flood, and the latency measured
# crosses the link (edge -> TCP or NATS -> aggregator's output stage).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:?usage: ours.sh SCENARIO}
dir=${WORKDIR:?}
# add_probe CONFIG: adds the latency probe's chain and output (to $PROBE_OUT) to CONFIG.
add_probe() {
    jq --arg path "$PROBE_OUT" '
        .outputs += [{"name": "latency", "type": "FileOutput", "path": $path,
                      "format": "text", "prefix_ts": true}]
        | .chains += {"latency-probe": {"message_type": "latency-probe", "outputs": ["latency"]}}
    ' "$1" >"$1.tmp"
    mv "$1.tmp" "$1"
}
# A scenario's setup.sh (optional) starts what the scenario needs besides this hekad
# (nats-server, an aggregator), may export NATS_URL or AGG_ADDR, and may take the probe
# (add_probe on its aggregator's config, then unset PROBE_OUT).
# shellcheck disable=SC1090
[[ -f $ROOT/perf/scenarios/$scenario/setup.sh ]] && source "$ROOT/perf/scenarios/$scenario/setup.sh"
sed -e "s#@PORT@#${PORT:?}#g" -e "s#@PORT2@#${PORT2:-$((PORT + 1))}#g" \
    -e "s#@OUT@#${OUT:-$dir/out.log}#g" -e "s#@DIR@#$dir#g" \
    -e "s#@NATS_URL@#${NATS_URL:-}#g" -e "s#@AGG_ADDR@#${AGG_ADDR:-}#g" \
    "$ROOT/perf/scenarios/$scenario/hekad.json" >"$dir/hekad.json"
[[ -n ${PROBE_OUT:-} ]] && add_probe "$dir/hekad.json"
# HEKAD_ARGS: extra flags, e.g. HEKAD_ARGS="--pool-size 1024".
# shellcheck disable=SC2086
exec "${HEKAD:-$ROOT/target/release/hekad}" --config "$dir/hekad.json" ${HEKAD_ARGS:-}
