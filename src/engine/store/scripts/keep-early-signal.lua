--[[
  keep-early-signal: keeps a signal whose hook has not parked yet, so it is
  not lost: the hook takes it when it parks (see commit-step, pk). Runs in
  one step with the acknowledgement of the webhook message.

  KEYS[1]  signals hash: registration field → parked hook
  KEYS[2]  early-signal list of this registration field
  KEYS[3]  engine stream
  KEYS[4]  in-flight hash: `<stream>|<id>` → job id

  ARGV[1]  consumer group
  ARGV[2]  id of the webhook message
  ARGV[3]  registration field (hook topic and key)
  ARGV[4]  webhook message payload, moved to the stream when the hook parks
  ARGV[5]  seconds to keep the early signal

  Returns 1 when kept, 0 when the hook parked meanwhile (handle it again).
]]
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 1 then
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[4], KEYS[3] .. '|' .. ARGV[2])
return 1
