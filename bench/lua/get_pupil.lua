-- GET one pupil by id, a random pupil of the 60,000 each time, with a SENCO token of the
-- pupil's school. The bare baselines get exactly the same requests (header included).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local pupils, tokens, prefix

function init(args)
  seed_random()
  prefix = args[1] or "/v1/pupils/"
  pupils = read_rows("pupils.tsv")
  tokens = {}
  for _, school in ipairs(read_rows("schools.tsv")) do
    tokens[school[1]] = "Bearer " .. school[3]
  end
  install_response(nil)
end

function make_request()
  local pupil = pupils[math.random(#pupils)]
  return wrk.format("GET", prefix .. pupil[1], { ["Authorization"] = tokens[pupil[2]] })
end
