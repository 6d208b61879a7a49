#!/usr/bin/env bash
# The Python reference, matyan-frontier 0.3.0 from PyPI, run locally so the Rust
# rewrite can be compared against it.
#
# usage: scripts/reference-frontier.sh install | start PORT | stop
#   install     create the venv and install the pinned reference (once; then instant)
#   start PORT  run it in the background on 127.0.0.1:PORT with the inherited
#               environment (KAFKA_*, BLOB_BACKEND_TYPE, S3_*, LOG_LEVEL, ...);
#               waits until /health/live/ answers 200 and prints the pid on stdout
#   stop        SIGTERM, wait, then SIGKILL; fine if it is not running
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/matyan-frontier"
VENV="$CACHE/reference-venv"
RUN="$CACHE/run"
PID_FILE="$RUN/reference-frontier.pid"
LOG_FILE="$RUN/reference-frontier.log"
START_TIMEOUT=60   # seconds until /health/live/ must answer
STOP_TIMEOUT=15    # seconds of grace after SIGTERM (its Kafka flush alone may take 5 s)

# A plain `pip install matyan-frontier==0.3.0` never finishes resolving: it wants
# boto3>=1.42.53 while every aioboto3 pins an older botocore. So the reference goes
# in without its dependency metadata and the dependencies are pinned by hand, in
# steps: aioboto3 first (it brings the boto3/botocore it pins), then the rest.
# The package declares Python >= 3.12 but runs on 3.11, hence --ignore-requires-python.
STEP1=(aioboto3==15.5.0)
STEP2=(matyan-frontier==0.3.0)  # --no-deps --ignore-requires-python
STEP3=(matyan-api-models==0.2.1 pydantic==2.14.4 pydantic-settings==2.16.3 fastapi==0.165.0
  aiokafka==0.14.0 loguru==0.7.3 prometheus-client==0.26.0 click==8.5.1 httpx==0.28.1)
STEP4=(google-cloud-storage==2.19.0 gcloud-aio-storage==9.3.0 azure-storage-blob==12.31.1
  azure-identity==1.27.0 "uvicorn[standard]==0.54.0")

log() { echo "reference-frontier: $*" >&2; }

# pip's output goes to a log: each step warns that matyan-frontier's requirements
# are not (all) met, which is expected here; the log is shown only on failure.
INSTALL_LOG="$VENV/install.log"
pip_install() {
  if ! "$VENV/bin/pip" install --disable-pip-version-check "$@" >>"$INSTALL_LOG" 2>&1; then
    log "pip install $* failed; last lines of $INSTALL_LOG:"
    tail -n 30 "$INSTALL_LOG" >&2
    return 1
  fi
}

install() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
  fi
  # The stamp names the recipe, so changing a pin reinstalls and an unchanged one is instant.
  local stamp
  stamp="$VENV/.installed-$(echo "${STEP1[*]} ${STEP2[*]} ${STEP3[*]} ${STEP4[*]}" | sha256sum | cut -c1-16)"
  [[ -f "$stamp" ]] && return
  log "installing ${STEP2[*]} and its pinned dependencies into $VENV"
  : >"$INSTALL_LOG"
  pip_install "${STEP1[@]}"
  pip_install --no-deps --ignore-requires-python "${STEP2[@]}"
  pip_install "${STEP3[@]}"
  pip_install "${STEP4[@]}"
  # Only matyan-frontier's own boto3 pin may be unmet; anything else is a broken recipe.
  local problems
  problems=$("$VENV/bin/pip" check 2>&1 | grep -vE '^matyan-frontier [^ ]+ (requires|has requirement) boto3' || true)
  if [[ -n "$problems" && "$problems" != "No broken requirements found." ]]; then
    log "pip check found broken requirements:"
    echo "$problems" >&2
    return 1
  fi
  rm -f "$VENV"/.installed-*
  touch "$stamp"
}

# The pid file's process, if alive and still the reference (not a reused pid).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  kill -0 "$pid" 2>/dev/null || return 1
  grep -q matyan-frontier "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }

start() {
  local port=${1:-}
  if [[ ! "$port" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 start PORT" >&2
    exit 2
  fi
  local pid
  if pid=$(running_pid); then
    log "already running (pid $pid); run '$0 stop' first"
    exit 1
  fi
  # Otherwise the health check below could be answered by someone else's server.
  if port_open "$port"; then
    log "port $port is already in use"
    exit 1
  fi
  install
  mkdir -p "$RUN"
  : >"$LOG_FILE"
  # Its own production entry point: `matyan-frontier start` calls
  # uvicorn.run("matyan_frontier.app:app", workers=1, log_level=LOG_LEVEL), i.e. a
  # single process, no reload. Its defaults are --host 0.0.0.0 --port 53801 (the
  # HOST/PORT settings are ignored by the CLI), so both are passed.
  # - cwd is the run directory: its settings also read a `.env` from the cwd, and
  #   only the inherited environment should configure it;
  # - PYTHONUNBUFFERED: uvicorn's access log goes to stdout, block-buffered in a file;
  # - exec: the pid written is the server's own.
  (cd "$RUN" && PYTHONUNBUFFERED=1 exec "$VENV/bin/matyan-frontier" start --host 127.0.0.1 --port "$port") \
    </dev/null >>"$LOG_FILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if [[ $(http_status "http://127.0.0.1:$port/health/live/") == 200 ]]; then
      log "ready on http://127.0.0.1:$port (log: $LOG_FILE)"
      echo "$pid"
      return 0
    fi
    # It exits by itself when startup fails (e.g. Kafka unreachable): stop waiting then.
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "no 200 from /health/live/ within ${START_TIMEOUT}s"
  else
    log "exited during startup"
  fi
  log "last lines of $LOG_FILE:"
  tail -n 40 "$LOG_FILE" >&2 || true
  stop >/dev/null 2>&1 || true
  exit 1
}

stop() {
  local pid
  if pid=$(running_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      # Dying takes a moment; return only once its port is released.
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    log "stopped (pid $pid)"
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  *)
    echo "usage: $0 install | start PORT | stop" >&2
    exit 2
    ;;
esac
