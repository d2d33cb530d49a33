-- wrk script for bench/serve/run.py: one URL per request from a pre-generated list.
--
-- Environment:
--   BENCH_URLS     file of request paths ("/api/...?..."), one per line
--   BENCH_MODE     "random": every request a random line (lines may repeat);
--                  "seq": thread i of n takes lines i, i+n, i+2n, ... in order, so no URL is
--                  requested twice until the list runs out (then it wraps: see "wrapped")
--   BENCH_THREADS  wrk's -t (needed to split the list between threads in "seq" mode)
--
-- done() prints one line "BENCH_JSON {...}" with the counts and latency percentiles (in
-- microseconds, as wrk measures them) for run.py to parse.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("BENCH_URLS")
  mode = os.getenv("BENCH_MODE") or "random"
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  urls = {}
  local i = 0
  for line in io.lines(path) do
    if line ~= "" then
      if mode ~= "seq" or (i % nthreads) == (tid - 1) then
        urls[#urls + 1] = line
      end
      i = i + 1
    end
  end
  nurls = #urls
  pos = 0
  wrapped = 0
  s2xx, s3xx, s4xx, s5xx = 0, 0, 0, 0
  math.randomseed(os.time() * 1000 + tid * 7919)
end

function request()
  local u
  if mode == "seq" then
    pos = pos + 1
    if pos > #urls then
      pos = 1
      wrapped = wrapped + 1
    end
    u = urls[pos]
  else
    u = urls[math.random(#urls)]
  end
  return wrk.format("GET", u)
end

function response(status, headers, body)
  if status < 300 then
    s2xx = s2xx + 1
  elseif status < 400 then
    s3xx = s3xx + 1
  elseif status < 500 then
    s4xx = s4xx + 1
  else
    s5xx = s5xx + 1
  end
end

function done(summary, latency, requests)
  local c = { s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0, wrapped = 0, served = 0, urls = 0 }
  for _, t in ipairs(threads) do
    c.s2xx = c.s2xx + t:get("s2xx")
    c.s3xx = c.s3xx + t:get("s3xx")
    c.s4xx = c.s4xx + t:get("s4xx")
    c.s5xx = c.s5xx + t:get("s5xx")
    c.wrapped = c.wrapped + t:get("wrapped")
    c.urls = c.urls + t:get("nurls")
  end
  local e = summary.errors
  local parts = {
    string.format('"duration_us": %d', summary.duration),
    string.format('"requests": %d', summary.requests),
    string.format('"bytes": %d', summary.bytes),
    string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}',
      e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"status": {"2xx": %d, "3xx": %d, "4xx": %d, "5xx": %d}',
      c.s2xx, c.s3xx, c.s4xx, c.s5xx),
    string.format('"mode": "%s", "urls": %d, "wrapped": %d', os.getenv("BENCH_MODE") or "random", c.urls, c.wrapped),
    string.format('"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, '
      .. '"p50": %d, "p90": %d, "p99": %d, "p999": %d}',
      latency.min, latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9)),
  }
  io.write("BENCH_JSON {" .. table.concat(parts, ", ") .. "}\n")
end
