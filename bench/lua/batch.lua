-- POST /v1/schools/{id}/pupils/batch as a school's MIS would: a random school, a batch of
-- args[1] (1,000) items of which half update existing pupils (a changed first name and pupil
-- premium flag) and half are new pupils with valid UPNs, each with its own Idempotency-Key.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
local NAMES = { "Ada", "Bo", "Cai", "Dev", "Eli", "Fen", "Gus", "Hal", "Ike", "Jo", "Kit", "Lou" }
local YEARS = { "R", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11" }
local schools, upns_by_school, batch_size, salt, counter = nil, nil, 1000, "000", 0

local function upn(tail)
  local total = 0
  for position = 1, 12 do
    total = total + tonumber(string.sub(tail, position, position)) * (position + 1)
  end
  local index = total % 23 + 1
  return string.sub(CHECK_LETTERS, index, index) .. tail
end

function init(args)
  seed_random()
  batch_size = tonumber(args[1] or "1000")
  salt = os.getenv("BENCH_SALT") or "000"
  schools = {}
  for _, school in ipairs(read_rows("schools.tsv")) do
    schools[#schools + 1] = { key = school[1], id = school[2], token = "Bearer " .. school[4] }
  end
  upns_by_school = {}
  for _, pupil in ipairs(read_rows("pupils.tsv")) do
    local list = upns_by_school[pupil[2]]
    if list == nil then
      list = {}
      upns_by_school[pupil[2]] = list
    end
    list[#list + 1] = pupil[3]
  end
  install_response(function(status, headers, body)
    if status == 200 then
      local _, failed = string.gsub(body, '"status":"error"', "")
      items = items + batch_size - failed
      item_errors = item_errors + failed
    end
  end)
end

function make_request()
  local school = schools[math.random(#schools)]
  local known = upns_by_school[school.key]
  local updates = math.min(math.floor(batch_size / 2), #known)
  local start = math.random(#known)
  local parts = {}
  for i = 0, updates - 1 do
    local existing = known[(start + i) % #known + 1]
    parts[#parts + 1] = string.format('{"upn":"%s","first_name":"%s","pupil_premium":%s}',
      existing, NAMES[math.random(#NAMES)], math.random() < 0.5 and "true" or "false")
  end
  for _ = updates + 1, batch_size do
    counter = counter + 1
    -- "9" never starts a loaded UPN's tail (no LA code here begins with 9): always new.
    local tail = string.format("9%s%d%07d", salt, thread_id % 10, counter)
    parts[#parts + 1] = string.format(
      '{"upn":"%s","first_name":"%s","last_name":"Bench","date_of_birth":"2014-0%d-1%d",' ..
      '"year_group":"%s","pupil_premium":false,"contacts":[{"name":"Parent Bench",' ..
      '"relationship":"mother","has_parental_responsibility":true,' ..
      '"email":"parent@example.org"}]}',
      upn(tail), NAMES[math.random(#NAMES)], math.random(1, 9), math.random(0, 9),
      YEARS[math.random(#YEARS)])
  end
  local body = '{"items":[' .. table.concat(parts, ",") .. "]}"
  return wrk.format("POST", "/v1/schools/" .. school.id .. "/pupils/batch", {
    ["Authorization"] = school.token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", salt, thread_id, counter),
  }, body)
end
