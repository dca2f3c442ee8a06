-- wrk script for bench/login.sh. MODE (environment) picks what each request does:
--   get      GET the URL as given (the /healthz baseline)
--   login    POST /auth/login with USERNAME/PASSWORD
--   refresh  POST /auth/refresh, each thread rotating its own refresh-token chain; the
--            starting tokens come from TOKENS_FILE, one per line, one per thread
-- Every mode prints one JSON line at the end: requests, rps, p50/p90/p99 latency (ms) and the
-- number of responses that were not 200 (for refresh, a broken chain would show up here).

local mode = os.getenv("MODE") or "get"
local threads = {}
local tokens = {}

if mode == "refresh" then
  local file = assert(io.open(os.getenv("TOKENS_FILE"), "r"))
  for line in file:lines() do
    if #line > 0 then table.insert(tokens, line) end
  end
  file:close()
end

function setup(thread)
  thread:set("id", #threads + 1)
  if mode == "refresh" then
    -- One value only: wrk's thread:set reads the top two stack slots, and assert returns two.
    local first = assert(tokens[#threads + 1], "need one refresh token per thread")
    thread:set("token", first)
  end
  table.insert(threads, thread)
end

function init(args)
  failures = 0
  if mode == "login" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = string.format('{"username":"%s","password":"%s"}',
      os.getenv("USERNAME"), os.getenv("PASSWORD"))
  end
end

function request()
  if mode == "refresh" then
    return wrk.format("POST", "/auth/refresh", { ["Content-Type"] = "application/json" },
      string.format('{"refresh_token":"%s"}', token))
  end
  return wrk.format()
end

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    return
  end
  if mode == "refresh" then
    local next_token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if next_token then token = next_token end
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("failures") or 0)
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"mode":"%s","requests":%d,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"not_200":%d,"socket_errors":%d}\n',
    mode, summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    failed, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
