--[[
  commit-step: applies one engine step to a job atomically.

  One call commits everything a step decided: job fields, the status
  semaphore, the messages the step emits, timers, the acknowledgement of the
  message that caused the step, and, when the semaphore reaches zero, the
  job's completion. Guards run before any write, so a rejected step changes
  nothing but the acknowledgement of its (duplicate or stale) message.

  KEYS[1]  job hash
  KEYS[2]  app hash (active version, version records, live job counts)
  KEYS[3]  in-flight hash: `<stream>|<id>` → job id of every message not yet
           acknowledged, so a message lost from its stream fails its job
  KEYS[4…] streams and the timer set, referenced by index from the plan

  ARGV[1]  plan, JSON:
    c  create: { v = version, a = true when v must be the active version }
    j  job id, echoed in published snapshots
    m  message id; a field '@'..m records it so a redelivery is a no-op
    g  guards: { { field, { allowed values… } }, … }; an absent field is ''
    k  acknowledgement: { keyIndex, group, streamId }: XACK and XDEL
    h  fields to set: { field, value, field, value, … }
    d  fields to delete
    s  status delta added to field ':'
    x  messages: { { keyIndex, payload, snapshot, jobId }, … }: XADD * m
       payload; snapshot 1 adds the job's public fields as field s, 2 adds
       the job's whole hash as field js when it is at most STATE_LIMIT bytes;
       jobId (optional) is recorded in the in-flight hash
    z  timers: { { keyIndex, delayMs, member }, … }: ZADD at Redis time + delay
    hs fields of other hashes to set: { { keyIndex, field, value }, … }
    hd fields of other hashes to delete: { { keyIndex, field }, … }
    lp values to push on lists: { { keyIndex, value }, … }
    hi hash fields to increment: { { keyIndex, field, amount }, … }
    pk hooks that park: { { signalsIndex, field, registration, earlyIndex,
       streamIndex }, … }: registers the hook under field of the signals hash
       and, when a signal for it came early, moves one onto the stream
    a  true to apply even when the job is already done (status ≤ 0)
    o  optimistic checks: { { field, value }, … }; a mismatch means another
       step changed the job since it was read: nothing is written and the
       caller reads the job again and retries
    e  emit, applied when the step leaves the job running:
       { p = channels, x = messages } (see f)
    f  finish, applied once when ':' ends at or below zero:
       { x = messages, p = channels, t = expire seconds (-1 keeps the job),
         v = version whose live count drops, g = signals hash index: hook
         registrations recorded in the job as g/<field> are removed }
       Channels get the job's snapshot as the message.

  Every committed step increments field '#' of the job, so a step planned
  from a carried state (field js of a work message) checks with o that no
  other step committed since. A new job starts '#' at Redis time in
  microseconds, so a message left over from an earlier job with the same
  id cannot match. Every later version of this script must keep both, or
  engines of two versions running side by side during an upgrade would
  accept overtaken states.

  Returns { code, status, extra }:
    0  committed; status is the new value of ':'
    1  duplicate: the message id was seen before; the message is acknowledged
    2  stale: a guard did not match; extra is the field's value; acknowledged
    3  duplicate job: create found an existing job
    4  inactive version: create wanted the active version; extra is it
    5  job not found (expired or scrubbed); the message is acknowledged
    6  conflict: an optimistic check failed; nothing written, not acknowledged
    7  job done: the job already completed; the message is acknowledged
]]
local job = KEYS[1]
local app = KEYS[2]
local inflight = KEYS[3]
local plan = cjson.decode(ARGV[1])

local function ack()
  local k = plan['k']
  if k then
    local stream = KEYS[k[1]]
    redis.call('XACK', stream, k[2], k[3])
    redis.call('XDEL', stream, k[3])
    redis.call('HDEL', inflight, stream .. '|' .. k[3])
  end
end

-- The job's public fields (status, metadata, data) as one flat list.
local snapshotFields = nil
local function snapshot()
  if snapshotFields then return snapshotFields end
  local all = redis.call('HGETALL', job)
  local fields = {}
  for i = 1, #all, 2 do
    local name = all[i]
    local head = string.sub(name, 1, 2)
    if name == ':' or head == 'm/' or head == 'd/' then
      fields[#fields + 1] = name
      fields[#fields + 1] = all[i + 1]
    end
  end
  snapshotFields = fields
  return fields
end

-- The job's whole hash as JSON, or false when the JSON is longer than
-- STATE_LIMIT bytes: then the message goes without it and the worker reads
-- the job. The limit bounds what a backlog of work messages adds to Redis
-- memory. Raw sizes are summed first, so a large job is not encoded at all.
local STATE_LIMIT = 16384
local stateJson = nil
local function state()
  if stateJson ~= nil then return stateJson end
  local all = redis.call('HGETALL', job)
  local size = 0
  for i = 1, #all do size = size + #all[i] end
  stateJson = false
  if size <= STATE_LIMIT then
    local encoded = cjson.encode(all)
    if #encoded <= STATE_LIMIT then stateJson = encoded end
  end
  return stateJson
end

local function xadd(list)
  if not list then return end
  for _, entry in ipairs(list) do
    local payload = entry[2]
    if entry[3] == 1 then
      local message = cjson.decode(payload)
      message['s'] = snapshot()
      payload = cjson.encode(message)
    elseif entry[3] == 2 then
      -- The payload is a JSON object with fields: the state goes in before
      -- its last brace.
      local carried = state()
      if carried and #payload > 2 and string.sub(payload, -1) == '}' then
        payload = string.sub(payload, 1, -2) .. ',"js":' .. carried .. '}'
      end
    end
    local id = redis.call('XADD', KEYS[entry[1]], '*', 'm', payload)
    if entry[4] and entry[4] ~= '' then redis.call('HSET', inflight, KEYS[entry[1]] .. '|' .. id, entry[4]) end
  end
end

local function publish(channels, kind)
  if not channels or #channels == 0 then return end
  local payload = cjson.encode({ kind = kind, jid = plan['j'], fields = snapshot() })
  for _, channel in ipairs(channels) do redis.call('PUBLISH', channel, payload) end
end

local create = plan['c']
if create then
  if redis.call('HEXISTS', job, ':') == 1 then
    if plan['m'] and redis.call('HEXISTS', job, '@' .. plan['m']) == 1 then
      ack()
      return { 1, 0, '' }
    end
    return { 3, 0, '' }
  end
  if create['a'] then
    local active = redis.call('HGET', app, 'active')
    if active ~= create['v'] then
      return { 4, 0, active or '' }
    end
  end
else
  local current = redis.call('HGET', job, ':')
  if not current then
    ack()
    return { 5, 0, '' }
  end
  if tonumber(current) <= 0 and not plan['a'] then
    ack()
    return { 7, tonumber(current), '' }
  end
end

if plan['m'] and redis.call('HEXISTS', job, '@' .. plan['m']) == 1 then
  ack()
  return { 1, 0, '' }
end

local checks = plan['o']
if checks then
  for _, check in ipairs(checks) do
    if (redis.call('HGET', job, check[1]) or '') ~= check[2] then
      return { 6, 0, '' }
    end
  end
end

local guards = plan['g']
if guards then
  for _, guard in ipairs(guards) do
    local value = redis.call('HGET', job, guard[1]) or ''
    local allowed = false
    for _, expected in ipairs(guard[2]) do
      if value == expected then allowed = true end
    end
    if not allowed then
      ack()
      return { 2, 0, value }
    end
  end
end

if plan['m'] then redis.call('HSET', job, '@' .. plan['m'], '1') end

if create then
  local now = redis.call('TIME')
  redis.call('HSET', job, ':', '0', '#', now[1] .. string.format('%06d', tonumber(now[2])))
  redis.call('HINCRBY', app, 'live:' .. create['v'], 1)
end

local h = plan['h']
if h and #h > 0 then redis.call('HSET', job, unpack(h)) end
local d = plan['d']
if d and #d > 0 then redis.call('HDEL', job, unpack(d)) end

local status = redis.call('HINCRBY', job, ':', plan['s'] or 0)
redis.call('HINCRBY', job, '#', 1)

xadd(plan['x'])

if plan['hs'] then
  for _, entry in ipairs(plan['hs']) do redis.call('HSET', KEYS[entry[1]], entry[2], entry[3]) end
end
if plan['hd'] then
  for _, entry in ipairs(plan['hd']) do redis.call('HDEL', KEYS[entry[1]], entry[2]) end
end
if plan['hi'] then
  for _, entry in ipairs(plan['hi']) do redis.call('HINCRBYFLOAT', KEYS[entry[1]], entry[2], entry[3]) end
end
if plan['lp'] then
  for _, entry in ipairs(plan['lp']) do redis.call('RPUSH', KEYS[entry[1]], entry[2]) end
end
if plan['pk'] then
  for _, entry in ipairs(plan['pk']) do
    redis.call('HSET', KEYS[entry[1]], entry[2], entry[3])
    local early = redis.call('LPOP', KEYS[entry[4]])
    if early then
      local id = redis.call('XADD', KEYS[entry[5]], '*', 'm', early)
      redis.call('HSET', inflight, KEYS[entry[5]] .. '|' .. id, plan['j'])
    end
  end
end

local z = plan['z']
if z then
  local now = redis.call('TIME')
  local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  for _, entry in ipairs(z) do
    redis.call('ZADD', KEYS[entry[1]], nowMs + entry[2], entry[3])
  end
end

ack()

local finish = plan['f']
if status <= 0 and finish and redis.call('HSETNX', job, '!done', '1') == 1 then
  if finish['g'] then
    local all = redis.call('HGETALL', job)
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 'g/' then redis.call('HDEL', KEYS[finish['g']], string.sub(all[i], 3)) end
    end
  end
  xadd(finish['x'])
  if finish['v'] then redis.call('HINCRBY', app, 'live:' .. finish['v'], -1) end
  publish(finish['p'], 'done')
  if finish['t'] and finish['t'] > 0 then redis.call('EXPIRE', job, finish['t']) end
elseif status > 0 and plan['e'] then
  xadd(plan['e']['x'])
  publish(plan['e']['p'], 'emit')
end

return { 0, status, '' }
