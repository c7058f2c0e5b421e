--[[
  deploy-version: stores a compiled version and creates its consumer groups.

  Versions are immutable: the same version with another digest is refused
  and nothing is written. Deploying the same content again is a no-op that
  still (re)creates missing consumer groups, which repairs a Redis that came
  back empty.

  KEYS[1]  app hash
  KEYS[2]  version key (the compiled version, JSON)
  KEYS[3…] streams that need consumer groups

  ARGV[1]  version
  ARGV[2]  content digest
  ARGV[3]  compiled version JSON
  ARGV[4]  deploy time, ISO 8601
  ARGV[5…] consumer group for each stream in KEYS[3…], in order

  Returns { code, digest }:
    0  deployed
    1  unchanged: this digest was already deployed
    2  conflict: the version exists with the other digest returned
]]
local record = redis.call('HGET', KEYS[1], 'v:' .. ARGV[1])
local code = 0
if record then
  local existing = cjson.decode(record)
  if existing['digest'] ~= ARGV[2] then
    return { 2, existing['digest'] }
  end
  code = 1
end

if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], ARGV[3])
end
if code == 0 then
  redis.call('HSET', KEYS[1], 'v:' .. ARGV[1], cjson.encode({ digest = ARGV[2], deployedAt = ARGV[4] }))
end

for i = 3, #KEYS do
  local ok = pcall(redis.call, 'XGROUP', 'CREATE', KEYS[i], ARGV[i + 2], '0', 'MKSTREAM')
  if not ok then
    -- BUSYGROUP: the group exists already, which is what we want
  end
end
return { code, ARGV[2] }
