#!/usr/bin/env bash
# Page render latency of the web UI under load: wrk against GET / (the home page, with a
# signed-in session cookie) and GET /ui/token, next to GET /healthz as the baseline measured in
# the same run, on a release `gatehouse serve` with a temporary SQLite database.
#
#   bench/web.sh [DURATION_SECONDS]     (default 10 s per measurement)
#
# Traffic goes only to 127.0.0.1; every wrk run is bounded by its duration.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
THREADS=2          # the machine has 2 cores; wrk shares them with the server
CONNECTIONS=16

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

GATEHOUSE_LOG__FILTER=warn GATEHOUSE_SIGNUP__DEFAULT_ROLES='[]' "$BIN" serve \
  --listen "127.0.0.1:${PORT}" \
  --database-url "sqlite://${WORK}/gatehouse.db" \
  --public-url "$BASE" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

# Sign up and sign in through the UI's forms, as a browser would.
JAR="$WORK/cookies"
csrf() { curl -fsS -b "$JAR" -c "$JAR" "$BASE$1" | sed -n 's/.*name="csrf-token" content="\([^"]*\)".*/\1/p'; }
TOKEN="$(csrf /ui/signup)"
curl -fsS -o /dev/null -b "$JAR" -c "$JAR" -X POST "$BASE/ui/signup" \
  --data-urlencode "csrf=$TOKEN" --data-urlencode "username=bench-user" \
  --data-urlencode "password=a long bench passphrase 42"
COOKIE="$(sed 's/^#HttpOnly_//' "$JAR" | awk '!/^#/ && NF >= 7 { printf "%s%s=%s", sep, $6, $7; sep="; " }')"
curl -fsS -H "Cookie: $COOKIE" "$BASE/" | grep -q 'id="whoami">bench-user<' \
  || { echo "sign-in through the UI failed" >&2; exit 1; }

run() {
  local name="$1"; shift
  printf '\n== %s ==\n' "$name"
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency "$@" |
    grep -E 'Requests/sec|Latency|50%|90%|99%|Non-2xx'
}
run "GET /healthz (baseline)" "$BASE/healthz"
run "GET / (home page, signed in)" -H "Cookie: $COOKIE" "$BASE/"
run "GET /ui/token (token page, signed in)" -H "Cookie: $COOKIE" "$BASE/ui/token"
run "GET /ui/login (sign-in page, anonymous)" "$BASE/ui/login"
