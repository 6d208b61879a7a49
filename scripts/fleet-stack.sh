#!/usr/bin/env bash
# A fleet on 127.0.0.1: N gateway replicas (release build) behind HAProxy, producing
# to the local stack's two-broker Tansu cluster over PostgreSQL. One command:
#
#   scripts/fleet-stack.sh up [N]      the local stack, N replicas (2 by default) on ports
#                                      53811.., HAProxy on http://127.0.0.1:53800, its
#                                      statistics on http://127.0.0.1:53899/stats
#   scripts/fleet-stack.sh down        stops the replicas, HAProxy and the local stack
#   scripts/fleet-stack.sh status
#   scripts/fleet-stack.sh balancer-config LISTEN_PORT STATS_PORT REPLICA_PORT...
#                                      prints the HAProxy configuration (the fleet tests
#                                      and benchmark start HAProxy with it too)
#
# Replica K's log is $RUN/fleet-replica-K.log; SIGTERM one (its pid file is
# $RUN/fleet-replica-K.pid) and start it again to try a rolling restart by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/matyan-frontier"
RUN="$CACHE/run"
BALANCER_PORT="${MATYAN_FLEET_PORT:-53800}"
STATS_PORT="${MATYAN_FLEET_STATS_PORT:-53899}"
FIRST_REPLICA_PORT=53811

log() { echo "fleet-stack: $*" >&2; }

# The balancer, WebSocket-aware: an upgraded connection becomes a tunnel that
# lives as long as the client keeps it (`timeout tunnel`; the gateway pings every
# 20 s). A replica gets new connections only while /health/ready/ answers 200:
# a draining or shutting-down one answers 503 and keeps serving the connections
# it has until it closes them itself (losslessly), so HAProxy never cuts one.
# A connection refused by a replica that just stopped is sent to another one.
balancer_config() {
  local listen=$1 stats=$2
  shift 2
  cat <<EOF
# No maxconn: HAProxy derives it from the file-descriptor limit it runs under.
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout http-request 10s
    option redispatch
    retries 3

frontend gateway
    bind 127.0.0.1:$listen
    default_backend replicas

frontend statistics
    bind 127.0.0.1:$stats
    stats enable
    stats uri /stats
    stats refresh 0

backend replicas
    balance leastconn
    option httpchk GET /health/ready/
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2
EOF
  local index=1 port
  for port in "$@"; do
    echo "    server replica-$index 127.0.0.1:$port"
    index=$((index + 1))
  done
}

running() { [[ -f "$RUN/$1.pid" ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

stop_process() {
  local name=$1 pid
  running "$name" || { rm -f "$RUN/$name.pid"; return 0; }
  pid=$(cat "$RUN/$name.pid")
  kill -TERM "$pid"
  # A replica's shutdown drains its connections, then flushes: up to about a minute.
  for _ in $(seq 1 700); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
  log "stopped $name"
}

replica_names() { ls "$RUN" 2>/dev/null | sed -n 's/^\(fleet-replica-[0-9]*\)\.pid$/\1/p'; }

up() {
  local count=${1:-2}
  [[ "$count" =~ ^[1-9][0-9]?$ ]] || { echo "usage: $0 up [N], N from 1 to 99" >&2; exit 2; }
  bash scripts/build-deps.sh
  bash scripts/local-stack.sh up >/dev/null
  eval "$(bash scripts/local-stack.sh env)"
  cargo build --release --locked -p matyan-frontier 2>&1 | tail -n 1
  local ports=() k port
  for k in $(seq 1 "$count"); do
    port=$((FIRST_REPLICA_PORT + k - 1))
    ports+=("$port")
    running "fleet-replica-$k" && { log "fleet-replica-$k already running"; continue; }
    # The local settings, with the cluster's two brokers as bootstrap.
    (
      set -a
      # shellcheck source=../config/local.env
      source config/local.env
      set +a
      export PORT=$port KAFKA_BOOTSTRAP_SERVERS="$MATYAN_CLUSTER_KAFKA_A,$MATYAN_CLUSTER_KAFKA_B"
      exec target/release/matyan-frontier start
    ) </dev/null >"$RUN/fleet-replica-$k.log" 2>&1 &
    echo $! >"$RUN/fleet-replica-$k.pid"
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do
      [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready/") == 200 ]] && break
      sleep 0.2
    done
  done
  if ! running fleet-balancer; then
    balancer_config "$BALANCER_PORT" "$STATS_PORT" "${ports[@]}" >"$RUN/fleet-haproxy.cfg"
    haproxy -W -f "$RUN/fleet-haproxy.cfg" </dev/null >"$RUN/fleet-balancer.log" 2>&1 &
    echo $! >"$RUN/fleet-balancer.pid"
    for _ in $(seq 1 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$BALANCER_PORT") 2>/dev/null && break
      sleep 0.1
    done
  fi
  log "$count replicas on 127.0.0.1:${ports[*]}, behind http://127.0.0.1:$BALANCER_PORT (statistics: http://127.0.0.1:$STATS_PORT/stats)"
  echo "http://127.0.0.1:$BALANCER_PORT"
}

down() {
  stop_process fleet-balancer
  local name
  for name in $(replica_names); do stop_process "$name"; done
  bash scripts/local-stack.sh down
}

case "${1:-}" in
  up) up "${2:-2}" ;;
  down) down ;;
  status)
    for name in fleet-balancer $(replica_names); do
      if running "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; fi
    done
    bash scripts/local-stack.sh status
    ;;
  balancer-config)
    [[ $# -ge 4 ]] || { echo "usage: $0 balancer-config LISTEN_PORT STATS_PORT REPLICA_PORT..." >&2; exit 2; }
    shift
    balancer_config "$@"
    ;;
  *)
    echo "usage: $0 up [N] | down | status | balancer-config LISTEN_PORT STATS_PORT REPLICA_PORT..." >&2
    exit 2
    ;;
esac
