-- GET the EHC evidence bundle (JSON) of one request: args[1] names it in evidence.tsv
-- ("heavy": 8 completed cycles of 30 outcomes and 30 provisions, 1,000 delivery logs).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local path, headers

function init(args)
  seed_random()
  local wanted = args[1] or "heavy"
  local tokens = {}
  for _, school in ipairs(read_rows("schools.tsv")) do
    tokens[school[1]] = "Bearer " .. school[3]
  end
  for _, row in ipairs(read_rows("evidence.tsv")) do
    if row[1] == wanted then
      path = "/v1/ehc-requests/" .. row[2] .. "/evidence"
      headers = { ["Authorization"] = tokens[row[3]], ["Accept"] = "application/json" }
    end
  end
  install_response(nil)
end

function make_request()
  return wrk.format("GET", path, headers)
end
