--[[
  respond: posts a worker's response to the engine stream and acknowledges
  the worker message in one step, so a crash leaves either both or neither.

  KEYS[1]  engine stream
  KEYS[2]  worker stream the message was read from
  KEYS[3]  in-flight hash: `<stream>|<id>` → job id

  ARGV[1]  consumer group of the worker stream
  ARGV[2]  id of the worker message
  ARGV[3]  response payload
  ARGV[4]  job id of the response

  Returns 1.
]]
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[3])
redis.call('HSET', KEYS[3], KEYS[1] .. '|' .. id, ARGV[4])
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], KEYS[2] .. '|' .. ARGV[2])
return 1
