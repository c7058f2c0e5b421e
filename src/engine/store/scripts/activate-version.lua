--[[
  activate-version: makes a deployed version the active one and tells every
  engine through the quorum channel. The active version lives in the app hash,
  so an engine that missed the message reads it when it reconnects or starts.

  KEYS[1]  app hash
  KEYS[2]  version key

  ARGV[1]  version
  ARGV[2]  activation time, ISO 8601
  ARGV[3]  quorum channel
  ARGV[4]  message to publish

  Returns { code, previous }:
    0  activated; previous is the version that was active before ('' if none)
    1  not deployed
]]
local field = 'v:' .. ARGV[1]
local record = redis.call('HGET', KEYS[1], field)
if not record or redis.call('EXISTS', KEYS[2]) == 0 then
  return { 1, '' }
end
local previous = redis.call('HGET', KEYS[1], 'active') or ''
local decoded = cjson.decode(record)
decoded['activatedAt'] = ARGV[2]
redis.call('HSET', KEYS[1], field, cjson.encode(decoded), 'active', ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return { 0, previous }
