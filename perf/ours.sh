#!/usr/bin/env bash
# ours.sh SCENARIO: start hekad on perf/scenarios/SCENARIO/hekad.json with @PORT@, @PORT2@,
# @OUT@ and @DIR@ replaced from the environment (PORT, PORT2 [PORT+1], OUT [$WORKDIR/out.log],
# WORKDIR), as peers.sh's OURS_CMD / OURS_STATSD_CMD expect:
#   OURS_CMD="$PWD/perf/ours.sh udp-json-file" bash ../shared/perf-peers/peers.sh log
#
# PROBE_OUT=FILE (set by run.sh for its latency column) adds, with jq, a chain for message
# type "latency-probe" and a FileOutput "latency" writing those messages to FILE with
# prefix_ts (the time the output formats each line), so probes never reach the scenario's
# own outputs. Without PROBE_OUT the config is the scenario's, unchanged.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:?usage: ours.sh SCENARIO}
dir=${WORKDIR:?}
# A scenario's setup.sh (optional) starts what the scenario needs besides this hekad
# (nats-server, an aggregator) and may export NATS_URL.
# shellcheck disable=SC1090
[[ -f $ROOT/perf/scenarios/$scenario/setup.sh ]] && source "$ROOT/perf/scenarios/$scenario/setup.sh"
sed -e "s#@PORT@#${PORT:?}#g" -e "s#@PORT2@#${PORT2:-$((PORT + 1))}#g" \
    -e "s#@OUT@#${OUT:-$dir/out.log}#g" -e "s#@DIR@#$dir#g" \
    -e "s#@NATS_URL@#${NATS_URL:-}#g" -e "s#@AGG_ADDR@#${AGG_ADDR:-}#g" \
    "$ROOT/perf/scenarios/$scenario/hekad.json" >"$dir/hekad.json"
if [[ -n ${PROBE_OUT:-} ]]; then
    jq --arg path "$PROBE_OUT" '
        .outputs += [{"name": "latency", "type": "FileOutput", "path": $path,
                      "format": "text", "prefix_ts": true}]
        | .chains += {"latency-probe": {"message_type": "latency-probe", "outputs": ["latency"]}}
    ' "$dir/hekad.json" >"$dir/hekad.json.tmp"
    mv "$dir/hekad.json.tmp" "$dir/hekad.json"
fi
# HEKAD_ARGS: extra flags, e.g. HEKAD_ARGS="--pool-size 1024".
# shellcheck disable=SC2086
exec "${HEKAD:-$ROOT/target/release/hekad}" --config "$dir/hekad.json" ${HEKAD_ARGS:-}
