# shellcheck shell=bash
# Shared helpers for the e2e runner and the registry benchmark: start a registry
# (agentry or Debian's docker-registry) on a free loopback port with a throw-away
# data directory, wait until it answers, and stop it again.
#
# Source this file; it defines functions only and changes no shell options.

# A free TCP port on 127.0.0.1, as chosen by the kernel. There is a small window
# between closing the probe socket and the server binding it; callers retry.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL PID [SECONDS]: wait until URL answers with any 2xx, or fail if the
# process PID died or SECONDS (default 30) elapsed.
wait_http() {
  local url=$1 pid=$2 limit=${3:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "lib.sh: process $pid exited before $url answered" >&2
      return 1
    fi
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "lib.sh: $url did not answer within ${limit}s" >&2
  return 1
}

# start_docker_registry DIR: run Debian's docker-registry (distribution 2.8) with
# filesystem storage under DIR/storage and deletes enabled, on a free loopback
# port. Sets DR_PID, DR_PORT and DR_URL. Its log goes to DIR/registry.log.
# Logging follows the Debian package's shipped config (level info, access log
# on) unless DR_LOG_LEVEL / DR_ACCESS_LOG=off say otherwise.
start_docker_registry() {
  local dir=$1 attempt
  command -v docker-registry >/dev/null || { echo "lib.sh: docker-registry not installed (scripts/install-test-deps)" >&2; return 1; }
  mkdir -p "$dir/storage"
  for attempt in 1 2 3; do
    DR_PORT=$(free_port)
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: ${DR_LOG_LEVEL:-info}
  accesslog:
    disabled: $([ "${DR_ACCESS_LOG:-on}" = off ] && echo true || echo false)
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$DR_PORT
  secret: local-test-secret-not-used-for-anything
  headers:
    X-Content-Type-Options: [nosniff]
YAML
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    DR_PID=$!
    DR_URL="http://127.0.0.1:$DR_PORT"
    if wait_http "$DR_URL/v2/" "$DR_PID" 30; then
      return 0
    fi
    kill "$DR_PID" 2>/dev/null || true; wait "$DR_PID" 2>/dev/null || true
  done
  echo "lib.sh: docker-registry did not start; log:" >&2
  cat "$dir/registry.log" >&2
  return 1
}

# start_agentry BIN DIR: run `BIN serve` with its data under DIR/data on a free
# loopback port and wait for /ready. Sets AG_PID, AG_PORT and AG_URL. Its log
# goes to DIR/agentry.log.
start_agentry() {
  local bin=$1 dir=$2 attempt
  [ -x "$bin" ] || { echo "lib.sh: $bin is not an executable" >&2; return 1; }
  mkdir -p "$dir/data"
  for attempt in 1 2 3; do
    AG_PORT=$(free_port)
    "$bin" serve --listen "127.0.0.1:$AG_PORT" --data "$dir/data" >"$dir/agentry.log" 2>&1 &
    AG_PID=$!
    AG_URL="http://127.0.0.1:$AG_PORT"
    if wait_http "$AG_URL/ready" "$AG_PID" 60; then
      return 0
    fi
    kill "$AG_PID" 2>/dev/null || true; wait "$AG_PID" 2>/dev/null || true
  done
  echo "lib.sh: agentry serve did not become ready; log:" >&2
  tail -50 "$dir/agentry.log" >&2
  return 1
}

# stop_pid PID: SIGTERM, wait up to 10 s for a graceful exit, then SIGKILL.
stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "lib.sh: $pid ignored SIGTERM for 10 s; killing" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 0
}
