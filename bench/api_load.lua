-- wrk script for bench/api.py: POST /v1/requests with each thread's own keys, every RETRY_EVERY-th
-- call repeating the previous key and body (a client retrying after a timeout). TOKENS (one per
-- tenant) and RETRY_EVERY are prepended by bench/api.py; `done` prints the keys sent and the answers.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  tid = wrk.thread:get("tid")
  sent, calls, created, other = 0, 0, 0, 0
end

local function call_for(k)
  local body = '{"type": "erasure", "identities": [{"kind": "email", "value": "load-'
    .. tid .. '-' .. k .. '@example.com"}]}'
  local headers = {
    ["Authorization"] = "Bearer " .. TOKENS[(k % #TOKENS) + 1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "load-" .. tid .. "-" .. k,
  }
  return wrk.format("POST", "/v1/requests", headers, body)
end

function request()
  calls = calls + 1
  if sent > 0 and calls % RETRY_EVERY == 0 then
    return call_for(sent)
  end
  sent = sent + 1
  return call_for(sent)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local keys, ok, bad = 0, 0, 0
  for _, t in ipairs(threads) do
    keys = keys + t:get("sent")
    ok = ok + t:get("created")
    bad = bad + t:get("other")
  end
  io.write(string.format("KEYS %d CREATED %d OTHER %d CALLS %d SECONDS %.3f P50 %.6f P99 %.6f\n",
    keys, ok, bad, summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e6, latency:percentile(99) / 1e6))
end
