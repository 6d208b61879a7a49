#!/usr/bin/env bash
# The benchmark: the same load generator drives, in one run and against the
# same local broker, (1) this gateway, (2) the reference Python matyan-frontier
# 0.3.0, (3) a plain rdkafka producer with the same settings (the ceiling);
# then prints one table with the ratios, and the machine it ran on.
#
#   scripts/bench.sh            full run (about 5 minutes)
#   scripts/bench.sh --smoke    a few seconds against this gateway only, asserting
#                               correctness (records in Kafka == acked, no errors); CI runs it
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=false
seconds=${BENCH_SECONDS:-15}
[[ "${1:-}" == "--smoke" ]] && smoke=true && seconds=3
ours_port=15501
reference_port=15502
results=$(mktemp)
# The idle phase holds thousands of sockets in both processes.
ulimit -n "$(ulimit -Hn)"

bash scripts/local-stack.sh up >/dev/null
eval "$(bash scripts/local-stack.sh env)"

if $smoke; then
  profile_dir=debug
  cargo build --locked --bin matyan-frontier --bench loadgen 2>&1 | tail -n 1
else
  profile_dir=release
  cargo build --release --locked --bin matyan-frontier --bench loadgen 2>&1 | tail -n 1
fi
loadgen=$(ls -t target/$profile_dir/deps/loadgen-* | grep -v '\.d$' | head -n 1)

# A fresh topic per phase: the count afterwards reads only that phase's records.
new_topic() {
  local topic="bench-$1-$(date +%s%N)"
  "$MATYAN_STACK_BIN/tansu" topic create --broker "tcp://$KAFKA_BOOTSTRAP_SERVERS" --partitions 6 "$topic" >/dev/null
  echo "$topic"
}

frontier_pid=""
# start_ours TOPIC [CODEC]: the gateway at its defaults, or with another record codec.
start_ours() {
  KAFKA_COMPRESSION_TYPE=${2:-none} KAFKA_DATA_INGESTION_TOPIC=$1 HOST=127.0.0.1 PORT=$ours_port LOG_LEVEL=WARNING \
    "target/$profile_dir/matyan-frontier" start >"$CACHE_LOG" 2>&1 &
  frontier_pid=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$ours_port") 2>/dev/null && return; sleep 0.1; done
  echo "frontier did not start:" >&2; cat "$CACHE_LOG" >&2; return 1
}
stop_ours() {
  [[ -n "$frontier_pid" ]] || return 0
  kill "$frontier_pid" 2>/dev/null || true
  wait "$frontier_pid" 2>/dev/null || true
  frontier_pid=""
}
CACHE_LOG=$(mktemp)
cleanup() {
  stop_ours
  bash scripts/reference-frontier.sh stop >/dev/null 2>&1 || true
  bash scripts/local-stack.sh down >/dev/null 2>&1 || true
  rm -f "$CACHE_LOG" "$results"
}
trap cleanup EXIT

# ws LABEL PORT PID CONNECTIONS BATCH [PAUSE_MS]: one load phase against a gateway.
ws() {
  "$loadgen" ws --url "ws://127.0.0.1:$2" --server-pid "$3" --connections "$4" --batch "$5" --pause-ms "${6:-0}" \
    --seconds "$seconds" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "$topic" --label "$1" | tee -a "$results"
}

if $smoke; then
  topic=$(new_topic smoke)
  start_ours "$topic"
  ws ours "$ours_port" "$frontier_pid" 4 100
  ws ours "$ours_port" "$frontier_pid" 4 1
  stop_ours
  python3 scripts/bench_report.py --check "$results"
  exit
fi

bash scripts/reference-frontier.sh install >/dev/null
for connections in 1 16 64; do
  for batch in 100 1; do
    [[ $batch == 1 && $connections != 64 ]] && continue
    topic=$(new_topic "ours-$connections-$batch")
    start_ours "$topic"
    ws ours "$ours_port" "$frontier_pid" "$connections" "$batch"
    stop_ours
    topic=$(new_topic "ref-$connections-$batch")
    reference_pid=$(KAFKA_DATA_INGESTION_TOPIC=$topic LOG_LEVEL=WARNING bash scripts/reference-frontier.sh start "$reference_port")
    ws reference "$reference_port" "$reference_pid" "$connections" "$batch"
    bash scripts/reference-frontier.sh stop >/dev/null
    topic=$(new_topic "ceiling-$connections-$batch")
    "$loadgen" ceiling --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "$topic" --connections "$connections" --batch "$batch" --seconds "$seconds" | tee -a "$results"
  done
done

# The trade-off of an opt-in codec: lz4 batches at 64 x 100, gateway and ceiling
# (the 0.3.0 workers cannot read them: see KAFKA_COMPRESSION_TYPE).
topic=$(new_topic ours-lz4)
start_ours "$topic" lz4
ws ours-lz4 "$ours_port" "$frontier_pid" 64 100
stop_ours
topic=$(new_topic ceiling-lz4)
KAFKA_COMPRESSION_TYPE=lz4 "$loadgen" ceiling --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "$topic" --connections 64 --batch 100 \
  --seconds "$seconds" | tee -a "$results"

# Latency at half of the measured maximum (64 connections, 100-message frames):
# each connection pauses so that the offered load is half of what it acked.
max=$(python3 scripts/bench_report.py --max ours 64 100 "$results")
# At the maximum a frame takes about 64*100/max s; pausing that long halves the offered load.
pause=$(python3 -c "print(1000 * 64 * 100 / $max)")
topic=$(new_topic half)
start_ours "$topic"
"$loadgen" ws --url "ws://127.0.0.1:$ours_port" --server-pid "$frontier_pid" --connections 64 --batch 100 --pause-ms "$pause" \
  --seconds "$seconds" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "$topic" --label "ours-half-load" | tee -a "$results"
"$loadgen" idle --url "ws://127.0.0.1:$ours_port" --server-pid "$frontier_pid" --connections "${BENCH_IDLE:-10000}" --label ours | tee -a "$results"
stop_ours

python3 scripts/bench_report.py "$results"
