-- Shared by every scenario script. Loaded with dofile() into each wrk thread's Lua state and
-- into the state that runs setup() and done().
--
-- Data files are tab-separated, written by bench/__main__.py into $BENCH_DATA. In the counting
-- pass, $BENCH_STOP_AFTER makes the (single) thread stop after that many responses and write
-- the number of requests it sent to $BENCH_STOP_FILE, so statements per request are exact.

local data_dir = os.getenv("BENCH_DATA") or "."
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "")
local stop_file = os.getenv("BENCH_STOP_FILE")

sent = 0       -- requests this thread sent
received = 0   -- responses seen by response() (only when a script or the counting pass needs it)
items = 0      -- the scenario's own unit of work (events read, pupils upserted)
item_errors = 0
codes = {}     -- non-2xx responses by status code

function read_rows(name)
  local rows = {}
  for line in io.lines(data_dir .. "/" .. name) do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do
      fields[#fields + 1] = field
    end
    rows[#rows + 1] = fields
  end
  return rows
end

function seed_random()
  math.randomseed(os.time() * 1000 + (thread_id or 1) * 7919 + math.floor(os.clock() * 1e6))
  for _ = 1, 10 do math.random() end
end

-- wrk calls request() once more than it sends, to check the script (first thread only, after
-- init()); that call must not count, nor consume a counted request.
local checking = false

-- Scenario scripts define make_request(); this is wrk's request().
function request()
  if checking then
    checking = false
    return make_request()
  end
  if stop_after ~= nil and sent >= stop_after then
    -- wrk may write one more request after thread:stop(): /healthz runs no SQL, so the
    -- statements counted are those of exactly `stop_after` scenario requests.
    return wrk.format("GET", "/healthz", {})
  end
  sent = sent + 1
  return make_request()
end

-- Call from init(): counts non-2xx answers by status, calls the scenario's response handler
-- (if any) and, in the counting pass, stops after `stop_after` responses.
function install_response(handler)
  checking = thread_id == 1
  response = function(status, headers, body)
    received = received + 1
    if status >= 300 then
      local key = tostring(status)
      codes[key] = (codes[key] or 0) + 1
    end
    if handler ~= nil then
      handler(status, headers, body)
    end
    if stop_after ~= nil and received >= stop_after then
      local marker = io.open(stop_file, "w")
      marker:write(tostring(sent))
      marker:close()
      wrk.thread:stop()
    end
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_id", #threads)
end

function done(summary, latency, requests)
  local total_sent, total_items, total_item_errors = 0, 0, 0
  local merged = {}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
    total_items = total_items + (thread:get("items") or 0)
    total_item_errors = total_item_errors + (thread:get("item_errors") or 0)
    for code, count in pairs(thread:get("codes") or {}) do
      merged[code] = (merged[code] or 0) + count
    end
  end
  local code_parts = {}
  for code, count in pairs(merged) do
    code_parts[#code_parts + 1] = string.format('"%s":%d', code, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"sent":%d,"items":%d,"item_errors":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"codes":{%s},' ..
    '"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"mean":%.1f,"max":%.1f}}\n',
    summary.requests, summary.duration, total_sent, total_items, total_item_errors,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    table.concat(code_parts, ","),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
