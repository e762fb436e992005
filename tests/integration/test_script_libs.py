"""The libraries Redis gives scripts (cjson, cmsgpack, bit, struct) and the redis.* helpers
(sha1hex, error_reply, status_reply, log, setresp, set_repl, breakpoint, debug, the constants),
differentially: every script runs on a redis-server 7.0 and on the lfdb-server under test,
started side by side, and the replies (errors included, to the byte) must be equal. Scripts
whose replies depend on a table's iteration order (a JSON object or MessagePack map with more
than one key) are left out: Lua 5.1 and 5.4 hash differently. Runs only against lfdb-server
(it starts the redis peer itself)."""

import unittest

from lfdb_testlib import RawConnection, REDIS_SERVER, RespError, SideBySideTestCase, is_lfdb


# (script, keys, args): each must give the same reply on both servers.
CASES = [
    # redis.*
    ("return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM", [], []),
    ("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, "
     "redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", [], []),
    ("redis.log(1)", [], []),
    ("redis.log(99, 'x')", [], []),
    ("redis.log(redis.LOG_WARNING, 'from a script', 3) return 1", [], []),
    ("redis.log(redis.LOG_DEBUG, 'dropped') return 1", [], []),
    ("return redis.setresp(4)", [], []),
    ("return redis.setresp()", [], []),
    ("return redis.set_repl(99)", [], []),
    ("return redis.set_repl()", [], []),
    ("redis.set_repl(redis.REPL_NONE) redis.set_repl(redis.REPL_ALL) return 1", [], []),
    ("return {redis.breakpoint(), redis.debug('x')}", [], []),
    ("return tostring(redis.breakpoint())", [], []),
    ("return redis.sha1hex()", [], []),
    ("return redis.sha1hex('a', 'b')", [], []),
    ("return redis.sha1hex(1)", [], []),
    ("return redis.sha1hex({})", [], []),
    ("return redis.sha1hex('')", [], []),
    ("return redis.error_reply()", [], []),
    ("return redis.error_reply(1)", [], []),
    ("return redis.error_reply('-My Error')", [], []),
    ("return redis.error_reply('My Error')", [], []),
    ("return redis.status_reply('My Status')", [], []),
    ("return redis.status_reply()", [], []),
    # The error's code: the word before the first space, ERR when there is none; a message's own
    # CR/LF at either end dropped, inner ones blanked in the reply.
    ("return redis.error_reply('')", [], []),
    ("return redis.error_reply('-')", [], []),
    ("return redis.error_reply('x')", [], []),
    ("return redis.error_reply('ERR')", [], []),
    ("return redis.error_reply(' x')", [], []),
    ("return redis.error_reply('-x y')", [], []),
    ("return redis.error_reply('X\\r\\n+INJECTED')", [], []),
    ("error(redis.error_reply('X\\r\\n+INJECTED'))", [], []),
    ("return redis.error_reply('x').err", [], []),
    ("return redis.error_reply('-x\\n').err", [], []),
    ("return redis.error_reply('\\nx y\\r\\n').err", [], []),
    ("return redis.status_reply('a\\r\\nb')", [], []),
    ("return {err='a\\r\\nb'}", [], []),
    # Lua 5.1's words for a type error naming its culprit.
    ("local t = nil; return t.x", [], []),
    ("local t = {}; return t.x.y", [], []),
    ("local t = {}; return t:nomethod()", [], []),
    ("return ('x')()", [], []),
    ("return 1 + {}", [], []),
    # Read-only tables, the basic types' metatables, coroutines (part of Lua 5.1's base library).
    ("getmetatable(coroutine.create(function() return 1 end)).__index = function() return 1 end", [], []),
    ("getmetatable('').__index = function() return 1 end", [], []),
    ("coroutine.create = function() return 1 end", [], []),
    ("local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) "
     "return {co(1), co(5)}", [], []),
    # SORT of a set with no order of its own (BY a constant): ALPHA for scripts.
    ("return redis.call('sort', KEYS[1], 'by', '_')", ["sortme"], []),
    ("return redis.call('sort', KEYS[1], 'by', '_', 'get', '#', 'get', '_:*')", ["sortme"], []),
    ("return redis.call('sort', KEYS[1], 'by', 'nosort', 'desc')", ["sortme"], []),
    # RESP3 conversions, both ways (the client speaks RESP2 here)
    ("redis.setresp(3); return redis.call('hgetall', KEYS[1])", ["h"], []),
    ("redis.setresp(3); return redis.call('hgetall', KEYS[1]).map.f", ["h"], []),
    ("redis.setresp(3); return type(redis.call('get', KEYS[1]))", ["missing"], []),
    ("redis.setresp(3); return redis.call('hexists', KEYS[1], 'f')", ["h"], []),
    ("redis.setresp(3); return redis.call('smembers', KEYS[1])", ["s"], []),
    ("redis.setresp(3); return redis.call('smembers', KEYS[1]).set.m", ["s"], []),
    ("redis.setresp(3); return redis.call('zscore', KEYS[1], 'a').double * 2", ["z"], []),
    ("redis.setresp(3); return true", [], []),
    ("redis.setresp(3); return false", [], []),
    ("redis.setresp(2); return type(redis.call('get', KEYS[1]))", ["missing"], []),
    ("return {double=3.5}", [], []),
    ("return {map={a=1}}", [], []),
    ("return {set={a=true}}", [], []),
    ("return {big_number='123'}", [], []),
    ("return {verbatim_string={format='txt', string='hi'}}", [], []),
    # the sandbox; converting a result never runs the script's code (nor crashes the server)
    ("return _G", [], []),
    ("local a = {} setmetatable(a, {__index = function() foo() end}) return a", [], []),
    ("local a = {} setmetatable(a, {__index = function() redis.call('set', 'x', '1') end}) return a", [], []),
    ("return {1, _G, {err = 'nested'}}", [], []),
    ("return tostring(os)", [], []),
    ("return tostring(io)", [], []),
    ("return tostring(require)", [], []),
    ("return tostring(loadfile)", [], []),
    ("return tostring(dofile)", [], []),
    ("return tostring(print)", [], []),
    ("x = 1", [], []),
    ("cjson.encode = nil", [], []),
    ("cmsgpack.pack = nil", [], []),
    ("bit.band = nil", [], []),
    ("struct.x = 1", [], []),
    ("return unpack({1, 2, 3})", [], []),
    # cjson
    ("return cjson.encode({1, 2, {a=1}})", [], []),
    ("return cjson.decode('[1,2,3.5]')[1] .. ''", [], []),
    ("return cjson.decode('{\"x\":[1,2,3]}').x[3] * 2 .. ''", [], []),
    ("return cjson.encode(cjson.decode('{\"a\":[1,2,{\"b\":null}]}'))", [], []),
    ("return cjson.decode('\"x\\\\u00e9\"')", [], []),
    ("return cjson.decode('bad')", [], []),
    ("return cjson.decode('[1,2')", [], []),
    ("return cjson.encode(function() end)", [], []),
    ("return cjson.encode({})", [], []),
    ("return cjson.encode_keep_buffer(false)", [], []),
    ("return {cjson.encode_max_depth(3)}", [], []),
    ("cjson.encode_max_depth(3) return cjson.encode({{{{1}}}})", [], []),
    ("return cjson.decode_max_depth()", [], []),
    ("return cjson.encode_sparse_array()", [], []),
    ("local t = {} t[10] = 1 return cjson.encode(t)", [], []),
    ("return cjson.encode(0.1)", [], []),
    ("return cjson.encode(2^60)", [], []),
    ("return cjson.encode(1/0)", [], []),
    ("return cjson.decode('[null]')[1] == cjson.null", [], []),
    ("return cjson.encode(cjson.decode('[true,false,\"s\",-1.25e3]'))", [], []),
    # cmsgpack
    ("return cmsgpack.pack()", [], []),
    ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2))}", [], []),
    ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 1)}", [], []),
    ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", [], []),
    ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}", [], []),
    ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5)}", [], []),
    ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 1, 1)}", [], []),
    ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), -1)}", [], []),
    ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 5)}", [], []),
    ("return {cmsgpack.unpack_one('')}", [], []),
    ("return cmsgpack.unpack('')", [], []),
    ("return cmsgpack.unpack(string.char(0x92, 1))", [], []),
    ("return cmsgpack.unpack(string.char(0xc1))", [], []),
    ("return cmsgpack.unpack(string.char(0xc4, 1, 65))", [], []),
    ("return cmsgpack.unpack(string.char(0x81, 0xc0, 1))", [], []),
    ("return cmsgpack.pack({})", [], []),
    ("local t = {} t[2] = 1 return cmsgpack.pack(t)", [], []),
    ("return cmsgpack.pack({1, nil, 3})", [], []),
    ("return cmsgpack.pack(1.5, 0.1, 1/0, -1/0)", [], []),
    ("return cmsgpack.pack(300, -300, -33, -32, 127, 128, 65535, 65536, 2^32, 2^40, -2^31, -2^31-1)", [], []),
    ("return cmsgpack.pack('abc', string.rep('x', 40), string.rep('y', 300), true, false, nil)", [], []),
    ("return #cmsgpack.pack(string.rep('z', 70000))", [], []),
    ("local t = {} for i = 1, 20 do t[i] = i end return cmsgpack.pack(t)", [], []),
    ("local t = {} for i = 1, 70000 do t[i] = i end return #cmsgpack.pack(t)", [], []),
    ("local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)", [], []),
    ("return {cmsgpack.unpack(cmsgpack.pack({1, 2, {3, 'x', true}}, 'y', 4.5))}", [], []),
    ("return cmsgpack.unpack(cmsgpack.pack({a = 7})).a", [], []),
    ("return cmsgpack.unpack(cmsgpack.pack(-2^63))", [], []),
    ("return tostring(cmsgpack.unpack(cmsgpack.pack(2^63)))", [], []),
    ("return tostring(cmsgpack.unpack(string.char(0xcf, 255, 255, 255, 255, 255, 255, 255, 255)))", [], []),
    ("return tostring(cmsgpack.unpack(cmsgpack.pack(2.5)))", [], []),
    # bit
    ("return bit.band(7, 3) .. ' ' .. bit.tohex(255) .. ' ' .. bit.tobit(2^32 + 1)", [], []),
    ("return bit.tohex(-1, -4)", [], []),
    # n = -2^31 (also as 2^31, the same 32 bits): the library's negation overflowed and the
    # server crashed; Redis's answer is every digit in upper case
    ("return bit.tohex(65535, -2147483648)", [], []),
    ("return bit.tohex(65535, 2147483648)", [], []),
    ("return bit.tohex(65535, -2147483647)", [], []),
    ("return {bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), "
     "bit.rol(1, 33), bit.ror(1, 1), bit.bswap(0x12345678), bit.bxor(5, 3), bit.bor(1, 2, 4)}", [], []),
    ("return tostring(bit.band(0xff, 0x0f))", [], []),
    ("return bit.band('x')", [], []),
    # struct
    ("return struct.pack('>I2', 258)", [], []),
    ("return {struct.unpack('>I2', 'ab')}", [], []),
    ("return struct.size('>I2d')", [], []),
    ("return struct.pack('q', 1)", [], []),
    ("return struct.size('s')", [], []),
    ("return struct.size('c0')", [], []),
    ("return struct.unpack('>I4', 'ab')", [], []),
    ("return struct.pack('!3i', 1)", [], []),
    ("return struct.pack('i40', 1)", [], []),
    ("return struct.unpack('s', 'abc')", [], []),
    ("return struct.unpack('c0', 'abc')", [], []),
    ("return struct.pack('c5', 'abc')", [], []),
    ("return {struct.unpack('bc0', '\\3abcd')}", [], []),
    ("return struct.pack('<i3', -2)", [], []),
    ("return {struct.unpack('<i3', struct.pack('<i3', -2))}", [], []),
    ("return {struct.unpack('!4 b i', struct.pack('!4 b i', 1, 7))}", [], []),
    ("return struct.size('!4 b i')", [], []),
    ("return struct.pack('d', 'x')", [], []),
    ("return struct.unpack('i', 'abcd', 3)", [], []),
    ("return tostring(struct.unpack('d', struct.pack('d', 1.5)))", [], []),
    ("return struct.pack('>hHlLTfdxbB', -1, 2, -3, 4, 5, 1.5, 2.25, -7, 200)", [], []),
    ("return {struct.unpack('>hHlLTfdxbB', struct.pack('>hHlLTfdxbB', -1, 2, -3, 4, 5, 1.5, 2.25, -7, 200))}", [], []),
    ("return struct.pack('<I16', -1)", [], []),
    ("return {struct.unpack('sc2', 'hi\\0yo')}", [], []),
]

# A job queue as the Lua-scripted queue libraries write it: jobs are JSON in a hash, their ids in
# a list, the worker's lease a MessagePack blob; every key declared.
ENQUEUE = """
local id = redis.call('INCR', KEYS[1])
local job = {id = id, name = ARGV[1], attempts = 0, data = cjson.decode(ARGV[2])}
redis.call('HSET', KEYS[2], id, cjson.encode(job))
redis.call('RPUSH', KEYS[3], id)
return id
"""
TAKE = """
local id = redis.call('LPOP', KEYS[1])
if not id then return false end
local job = cjson.decode(redis.call('HGET', KEYS[2], id))
job.attempts = job.attempts + 1
redis.call('HSET', KEYS[2], id, cjson.encode(job))
local lease = cmsgpack.pack({job.id, ARGV[1], tonumber(ARGV[2])})
redis.call('HSET', KEYS[3], id, lease)
return {job.id .. '', job.name, job.attempts, job.data.n, #lease}
"""
LEASES = """
local out = {}
for i, v in ipairs(redis.call('HVALS', KEYS[1])) do
  local id, worker, deadline = unpack(cmsgpack.unpack(v))
  out[#out + 1] = id .. ':' .. worker .. ':' .. deadline
end
table.sort(out)
return out
"""


@unittest.skipUnless(is_lfdb() and REDIS_SERVER, "differential: lfdb-server next to redis-server")
class ScriptLibrariesDiff(SideBySideTestCase):
    def both(self, *cmd):
        replies = []
        for server in (self.peer, self.lfdb):
            with RawConnection(server.port) as c:
                try:
                    replies.append(c.command(*cmd))
                except RespError as e:
                    replies.append(e)
        return replies

    def setUp(self):
        self.both("FLUSHALL")
        self.both("HSET", "h", "f", "v")
        self.both("SADD", "s", "m")
        self.both("ZADD", "z", "1.25", "a")
        self.both("SADD", "sortme", "c", "a", "b", "aa", "azz", "z", "10", "9")

    def test_same_replies(self):
        for script, keys, args in CASES:
            with self.subTest(script=script):
                redis_reply, lfdb_reply = self.both("EVAL", script, len(keys), *keys, *args)
                self.assertEqual(lfdb_reply, redis_reply)

    def test_job_queue(self):
        for n in range(5):
            a, b = self.both("EVAL", ENQUEUE, 3, "q:id", "q:jobs", "q:wait", "job%d" % n,
                             '{"n": %d, "tags": ["x", "y"]}' % n)
            self.assertEqual(a, b)
        for n in range(3):
            a, b = self.both("EVAL", TAKE, 3, "q:wait", "q:jobs", "q:lease", "worker-%d" % n,
                             str(1000 + n))
            self.assertEqual(a, b)
            self.assertEqual(a[1], b"job%d" % n)
        a, b = self.both("EVAL", LEASES, 1, "q:lease")
        self.assertEqual(a, b)
        self.assertEqual(len(a), 3)
        self.assertEqual(self.both("LLEN", "q:wait"), [2, 2])


if __name__ == "__main__":
    unittest.main()
