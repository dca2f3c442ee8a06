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
CONNECTIONS=16     # /healthz throughput baseline
CHAINS=8           # refresh: one connection per thread, each rotating its own chain

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

cargo build --release -p gatehouse --bin gatehouse --quiet
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

run() { # MODE URL THREADS CONNECTIONS [SECONDS]
  MODE="$1" USERNAME="$USERNAME" PASSWORD="$PASSWORD" TOKENS_FILE="$WORK/tokens" \
    wrk -t"$3" -c"$4" -d"${5:-$DURATION}s" --timeout 10s -s bench/login.lua "$2" | tail -n 1
}

echo "# $(nproc) cores; ${DURATION}s per run; Argon2id m=19456 KiB t=2 p=1, 2 hashes at once; SQLite synchronous=FULL"
# Latency: one client, one request at a time, so the figures hold no queueing.
HEALTHZ_1="$(run get "$BASE/healthz" 1 1)"; echo "$HEALTHZ_1"
LOGIN_1="$(run login "$BASE/auth/login" 1 1)"; echo "$LOGIN_1"
# Throughput: enough concurrent clients to saturate the server.
HEALTHZ_N="$(run get "$BASE/healthz" "$THREADS" "$CONNECTIONS")"; echo "$HEALTHZ_N"
LOGIN_N="$(run login "$BASE/auth/login" "$THREADS" 8)"; echo "$LOGIN_N"
REFRESH_N="$(run refresh "$BASE/auth/refresh" "$CHAINS" "$CHAINS")"; echo "$REFRESH_N"
# /healthz from one client while 32 clients flood /auth/login: the bounded hashing pool should
# keep it fast.
run login "$BASE/auth/login" 1 32 >"$WORK/flood.json" &
FLOOD_PID=$!
sleep 1
UNDER_LOAD="$(run get "$BASE/healthz" 1 1 "$((DURATION - 2))")"
wait "$FLOOD_PID"
echo "$UNDER_LOAD (during the login flood)"

python3 - "$HEALTHZ_1" "$LOGIN_1" "$HEALTHZ_N" "$LOGIN_N" "$REFRESH_N" "$UNDER_LOAD" <<'EOF'
import json, sys
h1, l1, hn, ln, rn, flood = (json.loads(arg) for arg in sys.argv[1:7])
for run in (h1, l1, hn, ln, rn, flood):
    if run["not_200"] or run["socket_errors"]:
        sys.exit(f"{run['mode']}: {run['not_200']} non-200 responses, {run['socket_errors']} socket errors")
print(f"login latency (1 client): p50 {l1['p50_ms']:.1f} ms, p99 {l1['p99_ms']:.1f} ms"
      f" = x{l1['p50_ms'] / h1['p50_ms']:.0f} / x{l1['p99_ms'] / h1['p99_ms']:.0f} of /healthz"
      f" (p50 {h1['p50_ms']:.3f} ms, p99 {h1['p99_ms']:.3f} ms)")
print(f"login throughput: {ln['rps']:.0f}/s (8 clients, p50 {ln['p50_ms']:.0f} ms)"
      f" = 1/{hn['rps'] / ln['rps']:.0f} of /healthz ({hn['rps']:.0f}/s)")
print(f"refresh throughput: {rn['rps']:.0f}/s (8 chains, p50 {rn['p50_ms']:.1f} ms, p99 {rn['p99_ms']:.1f} ms)"
      f" = 1/{hn['rps'] / rn['rps']:.0f} of /healthz, x{rn['rps'] / ln['rps']:.0f} login")
print(f"/healthz during a 32-client login flood: p50 {flood['p50_ms']:.3f} ms, p99 {flood['p99_ms']:.3f} ms"
      f" = x{flood['p50_ms'] / h1['p50_ms']:.1f} / x{flood['p99_ms'] / h1['p99_ms']:.1f} of idle")
EOF
