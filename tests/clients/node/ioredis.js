'use strict';
// ioredis 5 as applications use it (node ioredis.js PORT [scenario...]).
const Redis = require('ioredis');
const { ReplyError } = require('ioredis');
const { assert, run, until, sleep } = require('./harness');

const open = (port, opts = {}) => new Redis({ host: '127.0.0.1', port, lazyConnect: false, ...opts });

async function using(clients, fn) {
  try { return await fn(); } finally { for (const c of clients) c.disconnect(); }
}

const sortedEntries = (o) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const scenarios = {
  async types(port) {
    const r = open(port);
    return using([r], async () => {
      await r.flushall();
      const out = {};
      out.set = await r.set('io:s', 'hello', 'EX', 100);
      out.get = await r.get('io:s');
      out.ttl = (await r.ttl('io:s')) > 90;
      out.incr = await r.incrby('io:n', 41);
      out.incrfloat = await r.incrbyfloat('io:f', '1.5');
      out.mget = await r.mget('io:s', 'io:missing', 'io:n');
      out.getBuffer = (await r.getBuffer('io:s')).toString('hex');
      out.hset = await r.hset('io:h', { a: '1', b: '2', c: '3' });
      out.hgetall = sortedEntries(await r.hgetall('io:h'));
      out.hincr = await r.hincrby('io:h', 'a', 10);
      out.lpush = await r.lpush('io:l', 'a', 'b', 'c');
      out.rpush = await r.rpush('io:l', 'z');
      out.lrange = await r.lrange('io:l', 0, -1);
      out.lpos = await r.lpos('io:l', 'z');
      out.sadd = await r.sadd('io:set', 'x', 'y', 'z', 'x');
      out.smembers = (await r.smembers('io:set')).sort();
      out.sismember = await r.sismember('io:set', 'y');
      out.zadd = await r.zadd('io:z', 3, 'c', 1, 'a', 2, 'b');
      out.zrange = await r.zrange('io:z', 0, -1, 'WITHSCORES');
      out.zrangebyscore = await r.zrangebyscore('io:z', '(1', '+inf');
      out.zincr = await r.zincrby('io:z', 2.5, 'a');
      out.zrevrank = await r.zrevrank('io:z', 'a');
      out.type = await Promise.all(['io:s', 'io:h', 'io:l', 'io:set', 'io:z'].map((k) => r.type(k)));
      out.exists = await r.exists('io:s', 'io:h', 'nope');
      out.del = await r.del('io:s', 'io:h');
      return out;
    });
  },

  async pipeline(port) {
    const r = open(port);
    return using([r], async () => {
      const res = await r.pipeline()
        .set('io:p', '1').incr('io:p').get('io:p').hset('io:p', 'f', 'v').lpush('io:pl', 'x')
        .exec();
      // [err, value] pairs: the WRONGTYPE error stays in its slot, the rest are answered.
      return res.map(([err, v]) => (err ? { error: err.message, reply: err instanceof ReplyError } : v));
    });
  },

  async multi(port) {
    const r = open(port);
    return using([r], async () => {
      const ok = await r.multi().set('io:m', '5').incr('io:m').get('io:m').exec();
      let aborted;
      try {
        // A command the server rejects while queueing aborts the transaction (EXECABORT).
        await r.multi().set('io:m', '6').call('nosuchcommand').exec();
      } catch (e) {
        aborted = { name: e.name, message: e.message, previous: (e.previousErrors || []).map((p) => p.message) };
      }
      // A command that fails at EXEC time fails alone.
      const mixed = await r.multi().set('io:m2', 'x').incr('io:m2').get('io:m2').exec();
      return {
        ok, aborted, after: await r.get('io:m'),
        mixed: mixed.map(([err, v]) => (err ? err.message : v)),
      };
    });
  },

  async watch(port) {
    const r = open(port), other = open(port);
    return using([r, other], async () => {
      await r.set('io:w', '1');
      await r.watch('io:w');
      await other.set('io:w', '2');
      const broken = await r.multi().set('io:w', '3').exec();
      await r.watch('io:w');
      const v = Number(await r.get('io:w'));
      const kept = await r.multi().set('io:w', String(v + 10)).exec();
      return { broken, kept, value: await r.get('io:w') };
    });
  },

  async scripts(port) {
    const r = open(port);
    return using([r], async () => {
      r.defineCommand('addAndGet', {
        numberOfKeys: 1,
        lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
      });
      r.defineCommand('pairs', {
        numberOfKeys: 2,
        lua: "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]);" +
             " return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), 3, false}",
      });
      const first = await r.addAndGet('io:sc', 5);
      // The script cache is emptied: ioredis's EVALSHA gets NOSCRIPT and falls back to EVAL.
      await r.script('FLUSH');
      const again = await r.addAndGet('io:sc', 5);
      const piped = await r.pipeline().addAndGet('io:sc', 1).pairs('io:a', 'io:b', 'x', 'y').exec();
      let error;
      try {
        await r.eval("return redis.error_reply('MYERR custom')", 0);
      } catch (e) {
        error = { message: e.message, reply: e instanceof ReplyError };
      }
      let runtime;
      try {
        await r.eval("return redis.call('INCR', KEYS[1])", 1, 'io:a');
      } catch (e) {
        runtime = e.message.split(' script:')[0];
      }
      return { first, again, piped: piped.map(([e, v]) => (e ? e.message : v)), error, runtime,
        exists: await r.script('EXISTS', require('crypto').createHash('sha1')
          .update("return redis.call('INCRBY', KEYS[1], ARGV[1])").digest('hex')) };
    });
  },

  async scanStream(port) {
    const r = open(port);
    return using([r], async () => {
      const p = r.pipeline();
      for (let i = 0; i < 300; i++) p.set(`io:scan:${i}`, i);
      for (let i = 0; i < 50; i++) p.hset('io:bighash', `f${i}`, i);
      await p.exec();
      const keys = new Set();
      await new Promise((resolve, reject) => {
        r.scanStream({ match: 'io:scan:*', count: 50 })
          .on('data', (batch) => batch.forEach((k) => keys.add(k)))
          .on('end', resolve).on('error', reject);
      });
      const fields = new Set();
      await new Promise((resolve, reject) => {
        r.hscanStream('io:bighash', { count: 10 })
          .on('data', (batch) => { for (let i = 0; i < batch.length; i += 2) fields.add(batch[i]); })
          .on('end', resolve).on('error', reject);
      });
      return { keys: keys.size, fields: fields.size, sample: [...keys].sort().slice(0, 3) };
    });
  },

  async pubsub(port) {
    const sub = open(port), pub = open(port);
    return using([sub, pub], async () => {
      const got = [];
      sub.on('message', (ch, msg) => got.push(['message', ch, msg]));
      sub.on('pmessage', (pat, ch, msg) => got.push(['pmessage', pat, ch, msg]));
      const subs = await sub.subscribe('io:ch1', 'io:ch2');
      const psubs = await sub.psubscribe('io:news.*');
      const receivers = [];
      receivers.push(await pub.publish('io:ch1', 'one'));
      receivers.push(await pub.publish('io:news.sport', 'goal'));
      receivers.push(await pub.publish('io:ch2', 'two'));
      receivers.push(await pub.publish('io:nobody', 'lost'));
      await until(() => got.length >= 3, 5000, 'three messages');
      const numsub = await pub.pubsub('NUMSUB', 'io:ch1', 'io:none');
      const numpat = await pub.pubsub('NUMPAT');
      await sub.unsubscribe('io:ch1');
      receivers.push(await pub.publish('io:ch1', 'after'));
      await sub.punsubscribe('io:news.*');
      await sub.unsubscribe('io:ch2');
      // Out of subscriber mode the same connection runs ordinary commands again.
      const ping = await sub.ping();
      return { subs, psubs, receivers, got, numsub, numpat, ping };
    });
  },

  async blocking(port) {
    const r = open(port), pusher = open(port);
    return using([r, pusher], async () => {
      const empty = await r.blpop('io:q', 0.1);
      const waiting = r.blpop('io:q', 'io:q2', 5);
      await until(async () => {
        const info = await pusher.info('clients');
        return /blocked_clients:1/.test(info);
      }, 5000, 'the BLPOP to block');
      await pusher.rpush('io:q2', 'job1');
      const popped = await waiting;
      const moveEmpty = await r.brpoplpush('io:src', 'io:dst', 0.1);
      await pusher.rpush('io:src', 'a', 'b');
      const moved = await r.brpoplpush('io:src', 'io:dst', 1);
      const bzpop = await r.bzpopmin('io:zq', 0.1);
      await pusher.zadd('io:zq', 2, 'two', 1, 'one');
      const bz = await r.bzpopmin('io:zq', 1);
      const blmove = await r.blmove('io:src', 'io:dst', 'LEFT', 'RIGHT', 1);
      return { empty, popped, moveEmpty, moved, dst: await r.lrange('io:dst', 0, -1), bzpop, bz, blmove };
    });
  },

  async errors(port) {
    const r = open(port);
    return using([r], async () => {
      await r.set('io:str', 'x');
      const out = [];
      const tries = [
        () => r.hget('io:str', 'f'),
        () => r.incr('io:str'),
        () => r.call('NOSUCHCMD', 'a'),
        () => r.call('GET'),
        () => r.set('io:str', 'x', 'EX', 0),
        () => r.zadd('io:z', 'nan', 'm'),
        () => r.expire('io:str', 'soon'),
      ];
      for (const t of tries) {
        try {
          out.push({ value: await t() });
        } catch (e) {
          out.push({ name: e.name, reply: e instanceof ReplyError, message: e.message });
        }
      }
      out.push({ stillWorks: await r.get('io:str') });
      return out;
    });
  },

  async reconnect(port) {
    const admin = open(port);
    const victim = open(port, { connectionName: 'io-victim', retryStrategy: () => 50 });
    return using([admin, victim], async () => {
      let reconnecting = 0;
      victim.on('reconnecting', () => { reconnecting++; });
      await victim.set('io:rc', 'before');
      const list = await admin.client('LIST');
      const line = list.split('\n').find((l) => / name=io-victim /.test(l));
      const id = line.match(/\bid=(\d+)/)[1];
      const killed = await admin.client('KILL', 'ID', id);
      await until(() => reconnecting > 0 && victim.status === 'ready', 5000, 'ioredis to reconnect');
      // The connection name is set again on the new connection.
      const name = await victim.client('GETNAME');
      const get = await victim.get('io:rc');
      const killedByFilter = await admin.client('KILL', 'SKIPME', 'yes', 'USER', 'default');
      await until(() => victim.status === 'ready', 5000, 'the second reconnect');
      return { killed, name, get, killedByFilter: killedByFilter >= 1, after: await victim.incr('io:rc2') };
    });
  },

  async streams(port) {
    const r = open(port), reader = open(port);
    return using([r, reader], async () => {
      await r.del('io:st');
      const ids = [];
      for (let i = 1; i <= 3; i++) ids.push(await r.xadd('io:st', `${i}-1`, 'n', String(i)));
      const group = await r.xgroup('CREATE', 'io:st', 'g', '0', 'MKSTREAM');
      const first = await r.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 10, 'STREAMS', 'io:st', '>');
      const pending = await r.xpending('io:st', 'g');
      const acked = await r.xack('io:st', 'g', '1-1');
      const claimed = await r.xautoclaim('io:st', 'g', 'c2', 0, '0-0', 'COUNT', 5);
      const waiting = reader.xreadgroup('GROUP', 'g', 'c3', 'BLOCK', 5000, 'STREAMS', 'io:st', '>');
      await until(async () => /blocked_clients:1/.test(await r.info('clients')), 5000, 'XREADGROUP to block');
      await r.xadd('io:st', '9-1', 'n', '9');
      const woke = await waiting;
      const timedOut = await reader.xread('BLOCK', 50, 'STREAMS', 'io:st', '$');
      const info = await r.xinfo('GROUPS', 'io:st');
      const trimmed = await r.xtrim('io:st', 'MAXLEN', 2);
      return { ids, group, first, pending, acked, claimed, woke, timedOut, info, trimmed,
        range: await r.xrange('io:st', '-', '+'), len: await r.xlen('io:st') };
    });
  },

  async introspection(port) {
    const r = open(port, { connectionName: 'io-intro' });
    return using([r], async () => {
      await r.ping();
      const info = await r.info();
      const fields = {};
      for (const line of info.split('\r\n')) {
        const m = line.match(/^([a-z_0-9]+):/);
        if (m) fields[m[1]] = true;
      }
      // What clients and queues read from INFO (ioredis's ready check, BullMQ's version check).
      const wanted = ['redis_version', 'redis_mode', 'os', 'arch_bits', 'tcp_port', 'uptime_in_seconds',
        'connected_clients', 'blocked_clients', 'used_memory', 'maxmemory', 'maxmemory_policy',
        'loading', 'role', 'connected_slaves', 'total_commands_processed',
        'instantaneous_ops_per_sec', 'rdb_changes_since_last_save', 'aof_enabled', 'keyspace_hits',
        'keyspace_misses', 'total_net_input_bytes', 'total_net_output_bytes', 'run_id'];
      const clientInfo = await r.client('INFO');
      const name = clientInfo.match(/ name=(\S*)/)[1];
      const hello = await r.call('HELLO', '2');
      const helloKeys = [];
      for (let i = 0; i < hello.length; i += 2) helloKeys.push(hello[i]);
      await r.set('io:enc', '12345');
      await r.rpush('io:encl', 'a');
      await r.hset('io:ench', 'f', 'v');
      await r.zadd('io:encz', 1, 'm');
      await r.sadd('io:encs', '1', '2');
      const enc = [];
      for (const k of ['io:enc', 'io:encl', 'io:ench', 'io:encz', 'io:encs']) enc.push(await r.object('ENCODING', k));
      return {
        present: wanted.filter((f) => fields[f]), missing: wanted.filter((f) => !fields[f]),
        version7: /^7\./.test(info.match(/redis_version:(\S+)/)[1]),
        name, helloKeys, enc,
        configMaxmemory: await r.config('GET', 'maxmemory-policy'),
        dbsize: await r.dbsize() >= 5, commandCount: (await r.command('COUNT')) > 100,
        memoryUsage: (await r.memory('USAGE', 'io:enc')) > 0,
      };
    });
  },

  async misc(port) {
    const r = open(port);
    return using([r], async () => {
      const out = {};
      await r.rpush('io:srt', '3', '1', '2');
      out.sort = await r.sort('io:srt', 'DESC');
      out.getex = [await r.set('io:gx', 'v'), await r.getex('io:gx', 'PX', 100000), (await r.pttl('io:gx')) > 0];
      out.bitfield = await r.bitfield('io:bf', 'INCRBY', 'u8', 0, 200, 'INCRBY', 'u8', 0, 100, 'GET', 'u8', 0);
      out.setbit = [await r.setbit('io:bits', 7, 1), await r.bitcount('io:bits'), await r.bitpos('io:bits', 1)];
      out.geo = [await r.geoadd('io:geo', 13.361389, 38.115556, 'Palermo', 15.087269, 37.502669, 'Catania'),
        await r.geodist('io:geo', 'Palermo', 'Catania', 'km'),
        await r.geosearch('io:geo', 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km', 'ASC')];
      out.hll = [await r.pfadd('io:hll', 'a', 'b', 'c', 'a'), await r.pfcount('io:hll')];
      out.lmpop = await r.call('LMPOP', 2, 'io:none', 'io:srt', 'LEFT', 'COUNT', 2);
      out.zmpop = [await r.zadd('io:zm', 1, 'a', 2, 'b'), await r.call('ZMPOP', 1, 'io:zm', 'MAX')];
      out.copy = [await r.call('COPY', 'io:gx', 'io:gx2'), await r.get('io:gx2')];
      out.rename = [await r.rename('io:gx2', 'io:gx3'), await r.renamenx('io:gx3', 'io:gx')];
      out.expiretime = (await r.call('EXPIRETIME', 'io:gx')) > 1e9;
      out.hrandfield = (await r.hrandfield('io:none')) === null;
      out.setrange = [await r.setrange('io:sr', 5, 'x'), (await r.getBuffer('io:sr')).toString('hex')];
      out.lcs = await r.call('LCS', 'io:gx', 'io:sr');
      out.wait = await r.call('WAIT', 0, 0);
      out.time = (await r.time()).length;
      out.unlink = await r.unlink('io:gx', 'io:sr', 'io:none');
      out.touch = await r.call('TOUCH', 'io:bits', 'io:none');
      out.randomkey = typeof (await r.randomkey());
      out.objectFreqError = await r.object('FREQ', 'io:bits').catch((e) => e.message);
      return out;
    });
  },

  async select(port) {
    const db0 = open(port), db3 = open(port, { db: 3 });
    return using([db0, db3], async () => {
      await db3.set('io:db', 'three');
      const in0 = await db0.get('io:db');
      const in3 = await db3.get('io:db');
      await db0.select(3);
      const after = await db0.get('io:db');
      const moved = await db0.move('io:db', 5);
      await db0.select(5);
      const in5 = await db0.get('io:db');
      const sizes = [];
      for (const db of [0, 3, 5]) { await db0.select(db); sizes.push(await db0.dbsize()); }
      const swapped = await db0.swapdb(3, 5);
      await db0.select(3);
      return { in0, in3, after, moved, in5, sizes, swapped, back: await db0.get('io:db') };
    });
  },
};

run(scenarios);
