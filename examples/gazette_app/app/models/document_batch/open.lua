-- KEYS: batch, index. ARGV: document id, title, remaining ms, keep ms, pages, then range and flags per chunk.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = now_ms()
local deadline = now + tonumber(ARGV[3])
local n = (#ARGV - 5) / 2
redis.call('HSET', KEYS[1], 'document_id', ARGV[1], 'title', ARGV[2], 'state', 'running', 'total', n,
           'done', 0, 'pages', ARGV[5], 'created_at', now, 'deadline_at', deadline)
for i = 0, n - 1 do
  local c = 'c' .. i .. ':'
  redis.call('HSET', KEYS[1], c .. 'range', ARGV[6 + 2 * i], c .. 'flags', ARGV[7 + 2 * i], c .. 'state', 'pending')
end
local expire_at = deadline + tonumber(ARGV[4])
redis.call('PEXPIREAT', KEYS[1], expire_at)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[4]))
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
if redis.call('PTTL', KEYS[2]) < expire_at - now then redis.call('PEXPIREAT', KEYS[2], expire_at) end
return 1
