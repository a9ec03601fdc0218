-- wrk script for bench/serve-bench.sh: POSTs the JSON body in the file
-- $BODY to wrk's URL and counts the answers that are not 2xx; done()
-- prints "non2xx N" (all threads) after wrk's own report.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BODY"), "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  wrk.headers["Content-Type"] = "application/json"
  f:close()
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format("non2xx %d\nsocket_errors %d\n", n,
                         e.connect + e.read + e.write + e.timeout))
end
