'use strict';
// node-redis 4 (the npm package "redis") as applications use it (node node_redis.js PORT [scenario...]).
const { createClient, commandOptions, defineScript, WatchError, ErrorReply } = require('redis');
const { assert, run, until } = require('./harness');

async function open(port, opts = {}) {
  const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: () => 50 }, ...opts });
  c.on('error', () => {}); // reconnects are tested; an unhandled 'error' event would end the process
  await c.connect();
  return c;
}

async function using(clients, fn) {
  try { return await fn(); } finally { for (const c of clients) await c.disconnect().catch(() => {}); }
}

const byKey = (o) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const scenarios = {
  async types(port) {
    const c = await open(port);
    return using([c], async () => {
      await c.flushAll();
      const out = {};
      out.set = await c.set('nr:s', 'v', { EX: 100, NX: true });
      out.setAgain = await c.set('nr:s', 'w', { NX: true });
      out.getSet = await c.set('nr:s', 'w', { GET: true });
      out.get = await c.get('nr:s');
      out.incr = await c.incrBy('nr:n', 7);
      out.hSet = await c.hSet('nr:h', { a: '1', b: '2' });
      out.hGetAll = byKey(await c.hGetAll('nr:h'));
      out.hmGet = await c.hmGet('nr:h', ['a', 'zz']);
      out.lPush = await c.lPush('nr:l', ['1', '2', '3']);
      out.lRange = await c.lRange('nr:l', 0, -1);
      out.lPop = await c.lPop('nr:l');
      out.sAdd = await c.sAdd('nr:set', ['p', 'q']);
      out.sMembers = (await c.sMembers('nr:set')).sort();
      out.zAdd = await c.zAdd('nr:z', [{ score: 2, value: 'b' }, { score: 1, value: 'a' }]);
      out.zRangeWithScores = await c.zRangeWithScores('nr:z', 0, -1);
      out.zRangeByScore = await c.zRange('nr:z', '-inf', '+inf', { BY: 'SCORE', LIMIT: { offset: 1, count: 1 } });
      out.zScore = await c.zScore('nr:z', 'b');
      out.expire = await c.expire('nr:h', 100);
      out.ttlPositive = (await c.ttl('nr:h')) > 90;
      out.getDel = await c.getDel('nr:s');
      out.xAdd = typeof (await c.xAdd('nr:x', '*', { f: 'v' }));
      out.xLen = await c.xLen('nr:x');
      out.xRange = (await c.xRange('nr:x', '-', '+')).map((e) => e.message);
      out.objectEncoding = await c.objectEncoding('nr:l');
      return out;
    });
  },

  async pipelining(port) {
    const c = await open(port);
    return using([c], async () => {
      // Commands issued in the same tick go out as one pipeline.
      const replies = await Promise.all([c.set('nr:p', '1'), c.incr('nr:p'), c.incr('nr:p'), c.get('nr:p')]);
      const results = await Promise.allSettled([c.incr('nr:p'), c.hGet('nr:p', 'x'), c.get('nr:p')]);
      return {
        replies,
        settled: results.map((r) => (r.status === 'fulfilled' ? r.value
          : { error: r.reason.message, reply: r.reason instanceof ErrorReply })),
      };
    });
  },

  async transactions(port) {
    const c = await open(port), other = await open(port);
    return using([c, other], async () => {
      const exec = await c.multi().set('nr:t', '1').incrBy('nr:t', 4).get('nr:t').exec();
      let execError;
      try {
        await c.multi().set('nr:t', 'x').incr('nr:t').exec();
      } catch (e) {
        execError = e.message;
      }
      // WATCH inside an isolated connection, broken by another client: WatchError.
      let watchError;
      try {
        await c.executeIsolated(async (iso) => {
          await iso.watch('nr:t');
          await other.set('nr:t', 'changed');
          await iso.multi().set('nr:t', 'mine').exec();
        });
      } catch (e) {
        watchError = e instanceof WatchError;
      }
      const kept = await c.executeIsolated(async (iso) => {
        await iso.watch('nr:t');
        const v = await iso.get('nr:t');
        return iso.multi().set('nr:t', v + '!').exec();
      });
      const pipe = await c.multi().incr('nr:cnt').incr('nr:cnt').execAsPipeline();
      return { exec, execError, watchError, kept, value: await c.get('nr:t'), pipe };
    });
  },

  async blocking(port) {
    const c = await open(port), pusher = await open(port);
    return using([c, pusher], async () => {
      const timedOut = await c.blPop(commandOptions({ isolated: true }), 'nr:q', 0.1);
      // An isolated blocking pop leaves the main connection free for other commands.
      const waiting = c.blPop(commandOptions({ isolated: true }), ['nr:q', 'nr:q2'], 5);
      const pingMeanwhile = await c.ping();
      await until(async () => /blocked_clients:1/.test(await pusher.info('clients')), 5000, 'BLPOP to block');
      await pusher.rPush('nr:q2', 'job');
      const popped = await waiting;
      await pusher.rPush('nr:src', ['a', 'b']);
      const moved = await c.blMove(commandOptions({ isolated: true }), 'nr:src', 'nr:dst', 'RIGHT', 'LEFT', 1);
      const zpop = await c.bzPopMax(commandOptions({ isolated: true }), 'nr:z', 0.1);
      return { timedOut, pingMeanwhile, popped, moved, zpop };
    });
  },

  async pubsub(port) {
    const pub = await open(port);
    const sub = pub.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    return using([pub, sub], async () => {
      const got = [];
      await sub.subscribe('nr:ch', (message, channel) => got.push(['message', channel, message]));
      await sub.pSubscribe('nr:ev.*', (message, channel) => got.push(['pmessage', channel, message]));
      const n1 = await pub.publish('nr:ch', 'hi');
      const n2 = await pub.publish('nr:ev.a', 'ev');
      await until(() => got.length >= 2, 5000, 'two messages');
      const channels = await pub.pubSubChannels('nr:*');
      const numSub = await pub.pubSubNumSub(['nr:ch']);
      await sub.unsubscribe('nr:ch');
      await sub.pUnsubscribe('nr:ev.*');
      const n3 = await pub.publish('nr:ch', 'gone');
      return { n1, n2, n3, got, channels, numSub };
    });
  },

  async scripts(port) {
    const c = await open(port, {
      scripts: {
        incrTwice: defineScript({
          NUMBER_OF_KEYS: 1,
          SCRIPT: "redis.call('INCR', KEYS[1]); return redis.call('INCRBY', KEYS[1], ARGV[1])",
          transformArguments(key, by) { return [key, String(by)]; },
          transformReply(reply) { return reply; },
        }),
      },
    });
    return using([c], async () => {
      const first = await c.incrTwice('nr:sc', 10);
      await c.scriptFlush();
      const second = await c.incrTwice('nr:sc', 10); // NOSCRIPT, then EVAL
      const evalReply = await c.eval('return {KEYS[1], ARGV[1], 42}', { keys: ['k'], arguments: ['a'] });
      let err;
      try {
        await c.eval("return redis.call('HGET', KEYS[1], 'f')", { keys: ['nr:sc'] });
      } catch (e) {
        err = e.message.split(' script:')[0];
      }
      const fn = await c.sendCommand(['FUNCTION', 'LOAD', 'REPLACE',
        "#!lua name=nrlib\nredis.register_function('nrget', function(keys) return redis.call('GET', keys[1]) end)"]);
      const fcall = await c.fCall('nrget', { keys: ['nr:sc'] });
      return { first, second, evalReply, err, fn, fcall };
    });
  },

  async scanIterator(port) {
    const c = await open(port);
    return using([c], async () => {
      await Promise.all(Array.from({ length: 250 }, (_, i) => c.set(`nr:k:${i}`, String(i))));
      await c.sAdd('nr:members', Array.from({ length: 40 }, (_, i) => `m${i}`));
      const keys = new Set();
      for await (const k of c.scanIterator({ MATCH: 'nr:k:*', COUNT: 40 })) keys.add(k);
      const typed = new Set();
      for await (const k of c.scanIterator({ TYPE: 'set' })) typed.add(k);
      const members = new Set();
      for await (const m of c.sScanIterator('nr:members', { COUNT: 7 })) members.add(m);
      return { keys: keys.size, typed: [...typed].sort(), members: members.size };
    });
  },

  async reconnect(port) {
    const admin = await open(port);
    const victim = await open(port, { name: 'nr-victim' });
    return using([admin, victim], async () => {
      let reconnects = 0;
      victim.on('reconnecting', () => { reconnects++; });
      const id = await victim.clientId();
      const killed = await admin.clientKill({ filter: 'ID', id });
      await until(() => reconnects > 0 && victim.isReady, 5000, 'node-redis to reconnect');
      return { killed, name: await victim.clientGetName(), ping: await victim.ping() };
    });
  },

  async select(port) {
    const c = await open(port, { database: 2 });
    const d = await open(port);
    return using([c, d], async () => {
      await c.set('nr:db', 'two');
      const in0 = await d.get('nr:db');
      await d.select(2);
      return { in0, in2: await d.get('nr:db') };
    });
  },
};

run(scenarios);
