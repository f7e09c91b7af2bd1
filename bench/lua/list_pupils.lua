-- GET a school's pupil list with filters (sen_status, year_group, q, updated_since) and, for
-- some, a keyset cursor into the middle of the list. Queries come from list.tsv.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local queries, schools

function init(args)
  seed_random()
  queries = read_rows("list.tsv")
  schools = {}
  for _, school in ipairs(read_rows("schools.tsv")) do
    schools[school[1]] = { id = school[2], token = "Bearer " .. school[3] }
  end
  install_response(nil)
end

function make_request()
  local query = queries[math.random(#queries)]
  local school = schools[query[1]]
  return wrk.format("GET", "/v1/schools/" .. school.id .. "/pupils?" .. query[2],
    { ["Authorization"] = school.token })
end
