-- Change-feed catch-up: GET /v1/events?after=<random seq>&limit=1000 with a platform_admin
-- token, as many consumers at different positions would. Events read are counted from the
-- bodies, so events/s is what was actually delivered.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local token, max_seq, page

function init(args)
  seed_random()
  local row = read_rows("events.tsv")[1]
  token = "Bearer " .. row[1]
  max_seq = tonumber(row[2])
  page = tonumber(row[3])
  install_response(function(status, headers, body)
    if status == 200 then
      local _, count = string.gsub(body, '"seq":', "")
      items = items + count
    end
  end)
end

function make_request()
  local after = math.random(0, math.max(max_seq - page, 0))
  return wrk.format("GET", "/v1/events?after=" .. after .. "&limit=" .. page,
    { ["Authorization"] = token })
end
