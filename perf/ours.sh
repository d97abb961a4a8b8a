#!/usr/bin/env bash
# ours.sh SCENARIO: start hekad on perf/scenarios/SCENARIO/hekad.json with @PORT@, @OUT@ and
# @DIR@ replaced from the environment (PORT, OUT, WORKDIR), as peers.sh's OURS_CMD expects:
#   OURS_CMD="$PWD/perf/ours.sh udp-json-file" bash ../shared/perf-peers/peers.sh log
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:?usage: ours.sh SCENARIO}
dir=${WORKDIR:?}
# A scenario's setup.sh (optional) starts what the scenario needs besides this hekad
# (nats-server, an aggregator) and may export NATS_URL.
# shellcheck disable=SC1090
[[ -f $ROOT/perf/scenarios/$scenario/setup.sh ]] && source "$ROOT/perf/scenarios/$scenario/setup.sh"
sed -e "s#@PORT@#${PORT:?}#g" -e "s#@OUT@#${OUT:-$dir/out.log}#g" -e "s#@DIR@#$dir#g" \
    -e "s#@NATS_URL@#${NATS_URL:-}#g" \
    "$ROOT/perf/scenarios/$scenario/hekad.json" >"$dir/hekad.json"
# HEKAD_ARGS: extra flags, e.g. HEKAD_ARGS="--pool-size 1024".
# shellcheck disable=SC2086
exec "${HEKAD:-$ROOT/target/release/hekad}" --config "$dir/hekad.json" ${HEKAD_ARGS:-}
