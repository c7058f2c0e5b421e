--[[
  fire-timers: moves due timers onto the engine stream, exactly once.

  ZREM and XADD run in one script, so however many engines poll at once,
  each due timer becomes exactly one stream message.

  KEYS[1]  timer set: member = message payload (JSON with its job id in
           jid), score = due time in ms
  KEYS[2]  engine stream
  KEYS[3]  in-flight hash: `<stream>|<id>` → job id

  ARGV[1]  maximum timers to move in this call

  Returns { moved, nextDueMs }: nextDueMs is -1 when the set is empty.
]]
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local id = redis.call('XADD', KEYS[2], '*', 'm', member)
  local ok, decoded = pcall(cjson.decode, member)
  if ok and type(decoded) == 'table' and type(decoded['jid']) == 'string' then
    redis.call('HSET', KEYS[3], KEYS[2] .. '|' .. id, decoded['jid'])
  end
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local nextDue = -1
if next[2] then nextDue = tonumber(next[2]) end
return { #due, nextDue, nowMs }
