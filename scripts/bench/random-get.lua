-- wrk script: GETs of random paths. PATHS names a file of URL paths (one per line); every wrk
-- thread reads it and picks uniformly at random, with a fixed seed per thread.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
  paths[#paths + 1] = line
end
local headers = {
  ["x-ficus-gateway-secret"] = os.getenv("SECRET") or "bench",
  ["x-ficus-identity"] = "admin",
}
local seeded = false
request = function()
  if not seeded then
    math.randomseed(#paths + os.time())
    seeded = true
  end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
