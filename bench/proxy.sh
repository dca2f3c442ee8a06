#!/usr/bin/env bash
# Gateway overhead, in one run on one machine, with wrk against three targets that serve the
# same bytes:
#   1. the upstream alone            (nginx `return 200`, the cheapest possible service)
#   2. nginx as a plain reverse proxy in front of it (keep-alive pool to the upstream)
#   3. Gatehouse proxying it on a public route (the proxy's own cost, for diagnosis)
#   4. Gatehouse guarding it: a route that needs a valid token, requests carrying an ES256
#      Gatehouse access token (verified once, then from the token cache; revocation checked
#      against the database on every request)
# Prints requests/s and p99 per target and the ratios the gateway issue asks for:
# Gatehouse/nginx throughput (goal >= 80 %) and added p99 vs nginx (goal < 1 ms).
#
#   bench/proxy.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]    (defaults: 10 s, 32, 3)
#
# The targets are measured in ROUNDS interleaved rounds and each figure is the median of its
# rounds: on a shared machine one run can be off by 15 % either way, and a slow moment then
# hits every target instead of one.
#
# nginx and Gatehouse get the same number of workers (BENCH_WORKERS, default: one per CPU):
# nginx's `worker_processes`, Gatehouse's `server.workers`. Comparing a 2-thread Gatehouse
# with a 1-process nginx flatters Gatehouse (96 % instead of 71 % on the same build).
#
# Everything listens on 127.0.0.1 only; every wrk run is bounded by its duration. On a 2-core
# machine wrk, nginx and Gatehouse share the cores, so the absolute figures are low; compare
# the ratios, measured back to back.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
ROUNDS="${3:-3}"
THREADS=2
WORKERS="${BENCH_WORKERS:-$(nproc)}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$NGINX" ]] || { echo "nginx is missing: apt-get install -y nginx" >&2; exit 1; }

# BENCH_GATEHOUSE_BIN=<path> measures another build (e.g. an older commit's) instead of this tree's.
if [[ -n "${BENCH_GATEHOUSE_BIN:-}" ]]; then
  BIN="$BENCH_GATEHOUSE_BIN"
else
  cargo build --release -p gatehouse --bin gatehouse --quiet
  BIN="target/release/gatehouse"
fi

WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
UP_PORT="$(free_port)"; NGX_PORT="$(free_port)"; GH_PORT="$(free_port)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- upstream and plain reverse proxy: one nginx, two servers, WORKERS worker processes ---
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes $WORKERS;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream service { server 127.0.0.1:$UP_PORT; keepalive 64; }
    server {
        listen 127.0.0.1:$UP_PORT;
        location / { default_type application/json; return 200 '{"status":"ok","items":[1,2,3]}'; }
    }
    server {
        listen 127.0.0.1:$NGX_PORT;
        location / {
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
"$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -e "$WORK/nginx/error.log" &
PIDS+=($!)

# --- Gatehouse guarding the same upstream ---
cat >"$WORK/gatehouse.toml" <<TOML
[server]
listen = "127.0.0.1:$GH_PORT"
public_url = "http://127.0.0.1:$GH_PORT"
workers = $WORKERS

[database]
url = "sqlite://$WORK/gatehouse.db"

[tokens]
algorithm = "ES256"

[log]
filter = "warn"

[[routes]]
path = "/api"
upstream = "http://127.0.0.1:$UP_PORT"

# The same upstream without authentication: separates the proxy's cost from the token check's.
[[routes]]
path = "/open"
upstream = "http://127.0.0.1:$UP_PORT"
public = true
TOML
"$BIN" serve --config "$WORK/gatehouse.toml" >"$WORK/server.log" 2>&1 &
PIDS+=($!)

GH="http://127.0.0.1:$GH_PORT"
for _ in $(seq 1 100); do
  curl -fsS "$GH/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$NGX_PORT/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$GH/healthz" >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

# A user and an access token, through the public API.
curl -fsS -X POST "$GH/auth/signup" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"a long bench password 42"}' >/dev/null
TOKEN="$(curl -fsS -X POST "$GH/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"a long bench password 42"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"
ALG="$(python3 -c 'import base64, json, sys; h = sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["alg"])' "$TOKEN")"
status="$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $TOKEN" "$GH/api/items")"
[[ "$status" == 200 ]] || { echo "Gatehouse answered $status to the guarded route" >&2; cat "$WORK/server.log" >&2; exit 1; }
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$GH/api/items")" == 401 ]] || { echo "the route is not guarded" >&2; exit 1; }

run() { # name url [header]
  local name="$1" url="$2"; shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" >"$WORK/$name.txt"
  local rps p99
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$WORK/$name.txt")"
  p99="$(awk '$1 == "99%" {print $2}' "$WORK/$name.txt")"
  local non2xx; non2xx="$(awk '/Non-2xx/ {print $NF}' "$WORK/$name.txt")"
  [[ -z "$non2xx" ]] || { echo "$name: $non2xx non-2xx responses" >&2; cat "$WORK/$name.txt" >&2; exit 1; }
  echo "$name $rps $p99" >>"$WORK/results"
}

echo "wrk: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION} s per target, ${ROUNDS} rounds; token alg ${ALG}; ${WORKERS} workers each for nginx and Gatehouse"
for round in $(seq 1 "$ROUNDS"); do
  run upstream "http://127.0.0.1:$UP_PORT/api/items"
  run nginx "http://127.0.0.1:$NGX_PORT/api/items"
  run gatehouse_public "$GH/open/items"
  run gatehouse "$GH/api/items" -H "Authorization: Bearer $TOKEN"
  echo "round $round of $ROUNDS done" >&2
done

python3 - "$WORK/results" <<'PY'
import statistics
import sys

def ms(text):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(text)

runs = {}
for line in open(sys.argv[1]):
    name, rps, p99 = line.split()
    runs.setdefault(name, []).append((float(rps), ms(p99)))
rows = {
    name: (statistics.median(r for r, _ in found), statistics.median(p for _, p in found))
    for name, found in runs.items()
}
print(f"{'target (median of rounds)':<28}{'requests/s':>12}{'p99 ms':>10}   requests/s of each round")
labels = {
    "upstream": "upstream alone",
    "nginx": "nginx reverse proxy",
    "gatehouse_public": "Gatehouse, public route",
    "gatehouse": "Gatehouse (ES256 token)",
}
for name in ("upstream", "nginx", "gatehouse_public", "gatehouse"):
    rps, p99 = rows[name]
    each = " ".join(f"{r:.0f}" for r, _ in runs[name])
    print(f"{labels[name]:<28}{rps:>12.0f}{p99:>10.2f}   {each}")
g, n = rows["gatehouse"], rows["nginx"]
print(f"Gatehouse / nginx throughput: {g[0] / n[0] * 100:.0f} %  (goal >= 80 %)")
print(f"Gatehouse p99 - nginx p99:    {g[1] - n[1]:+.2f} ms (goal < 1 ms)")
PY
