-- ARGV: chunk ('' when no chunk failed: the deadline, the fan-in), error kind, reason.
-- Returns 'first' for the one caller that failed the batch.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local now = now_ms()
if ARGV[1] ~= '' then
  local c = 'c' .. ARGV[1] .. ':'
  redis.call('HSET', KEYS[1], c .. 'state', 'failed', c .. 'finished_at', now, c .. 'error', ARGV[3])
end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' and state ~= 'finalizing' then return 'already' end
redis.call('HSET', KEYS[1], 'state', 'failed', 'error_kind', ARGV[2], 'error', ARGV[3], 'failed_chunk', ARGV[1],
           'failed_at', now)
return 'first'
