-- wrk script of scripts/bench.sh. Arguments after `--`:
--   get                            GET the URL (extra headers come from wrk -H)
--   post BODY                      POST BODY, form-urlencoded
--   codes FILE NTHREADS PREFIX     POST PREFIX .. <code>, a different code from FILE
--                                  for every request: thread k (0-based) takes lines
--                                  k, k+NTHREADS, k+2*NTHREADS, ... and, once they run
--                                  out, sends "exhausted" (answered 400, so counted).
-- Prints one machine-readable line at the end:
--   RESULT requests=… duration_us=… rps=… p50_us=… p99_us=… non2xx=… socket_errors=…
-- where non2xx counts every response outside 200-299 (wrk's own counter lets 3xx pass).

local threads = {}
local count = 0

function setup(thread)
  thread:set("tid", count)
  count = count + 1
  table.insert(threads, thread)
end

local mode, req, codes, prefix
local next_code = 1

function init(args)
  mode = args[1] or "get"
  non2xx = 0
  if mode == "get" then
    req = wrk.format("GET")
  elseif mode == "post" then
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = wrk.format("POST", nil, nil, args[2])
  elseif mode == "codes" then
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    local n, i = tonumber(args[3]), 0
    prefix = args[4]
    codes = {}
    for line in io.lines(args[2]) do
      if line ~= "" then
        if i % n == tid then codes[#codes + 1] = line end
        i = i + 1
      end
    end
  else
    error("unknown mode " .. tostring(mode))
  end
end

function request()
  if mode ~= "codes" then
    return req
  end
  local code = codes[next_code] or "exhausted"
  next_code = next_code + 1
  return wrk.format("POST", nil, nil, prefix .. code)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), bad,
    e.connect + e.read + e.write + e.timeout))
end
