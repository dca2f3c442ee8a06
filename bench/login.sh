#!/usr/bin/env bash
# Login latency and token-issue throughput of a release `gatehouse serve`, next to GET /healthz
# as the baseline measured in the same run, on a temporary SQLite database.
#
#   bench/login.sh [DURATION_SECONDS]     (default 10 s per measurement)
#
# Prints one JSON line per measurement (see bench/login.lua) and a summary with the ratios.
# Traffic goes only to 127.0.0.1; every wrk run is bounded by its duration.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
THREADS=2          # the machine has 2 cores; wrk shares them with the server
CONNECTIONS=16     # for /healthz and /auth/login
CHAINS=8           # refresh: one connection per thread, each rotating its own chain

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

cargo build --release -p gatehouse-cli --quiet
BIN="target/release/gatehouse"

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:${PORT}"
cleanup() {
  if [[ -n "${SERVER_PID:-}" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

GATEHOUSE_LOG__FILTER=warn "$BIN" serve \
  --listen "127.0.0.1:${PORT}" \
  --database-url "sqlite://${WORK}/gatehouse.db" \
  --public-url "$BASE" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

USERNAME="bench-user"
PASSWORD="a long bench passphrase 42"
curl -fsS -X POST "$BASE/auth/signup" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}" >/dev/null

# One refresh-token chain per wrk thread.
for _ in $(seq 1 "$CHAINS"); do
  curl -fsS -X POST "$BASE/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["refresh_token"])'
done >"$WORK/tokens"

run() { # MODE URL THREADS CONNECTIONS
  MODE="$1" USERNAME="$USERNAME" PASSWORD="$PASSWORD" TOKENS_FILE="$WORK/tokens" \
    wrk -t"$3" -c"$4" -d"${DURATION}s" --timeout 10s -s bench/login.lua "$2" | tail -n 1
}

echo "# $(nproc) cores; ${DURATION}s per run; Argon2id m=19456 KiB t=2 p=1; SQLite synchronous=FULL"
HEALTHZ="$(run get "$BASE/healthz" "$THREADS" "$CONNECTIONS")"; echo "$HEALTHZ"
LOGIN="$(run login "$BASE/auth/login" "$THREADS" "$CONNECTIONS")"; echo "$LOGIN"
REFRESH="$(run refresh "$BASE/auth/refresh" "$CHAINS" "$CHAINS")"; echo "$REFRESH"

python3 - "$HEALTHZ" "$LOGIN" "$REFRESH" <<'EOF'
import json, sys
healthz, login, refresh = (json.loads(arg) for arg in sys.argv[1:4])
for run in (healthz, login, refresh):
    if run["not_200"] or run["socket_errors"]:
        sys.exit(f"{run['mode']}: {run['not_200']} non-200 responses, {run['socket_errors']} socket errors")
print(f"login   p50 {login['p50_ms']:.1f} ms, p99 {login['p99_ms']:.1f} ms, {login['rps']:.0f}/s "
      f"= p50 x{login['p50_ms'] / healthz['p50_ms']:.0f}, throughput 1/{healthz['rps'] / login['rps']:.0f} of /healthz")
print(f"refresh p50 {refresh['p50_ms']:.1f} ms, p99 {refresh['p99_ms']:.1f} ms, {refresh['rps']:.0f}/s "
      f"= p50 x{refresh['p50_ms'] / healthz['p50_ms']:.0f}, throughput 1/{healthz['rps'] / refresh['rps']:.0f} of /healthz")
print(f"healthz p50 {healthz['p50_ms']:.2f} ms, p99 {healthz['p99_ms']:.2f} ms, {healthz['rps']:.0f}/s (baseline)")
EOF
