'use strict';
// BullMQ 5, a job queue built on Lua scripts over lists, sorted sets, hashes and streams,
// blocking pops and INFO (node bullmq.js PORT [scenario...]).
const { Queue, Worker, QueueEvents, FlowProducer } = require('bullmq');
const { assert, run, until, SLOWDOWN } = require('./harness');

const connection = (port) => ({ host: '127.0.0.1', port, maxRetriesPerRequest: null });

// Each scenario has its own queue; everything is closed and the queue obliterated at its end.
async function withQueue(port, name, fn) {
  const queue = new Queue(name, { connection: connection(port) });
  const closers = [];
  try {
    return await fn(queue, (c) => { closers.push(c); return c; });
  } finally {
    for (const c of closers.reverse()) await c.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

const worker = (port, name, processor, opts = {}) =>
  new Worker(name, processor, { connection: connection(port), drainDelay: 1, ...opts });

const scenarios = {
  async inOrder(port) {
    return withQueue(port, 'bq-order', async (queue, closing) => {
      const added = [];
      for (let i = 1; i <= 5; i++) added.push((await queue.add('square', { n: i })).id);
      const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
      const seen = [];
      const done = [];
      const w = closing(worker(port, 'bq-order', async (job) => {
        seen.push(job.data.n);
        return { square: job.data.n * job.data.n };
      }));
      w.on('completed', (job, result) => done.push([job.id, result.square]));
      await until(() => done.length === 5, 10000, 'five completed jobs');
      const job = await queue.getJob(added[2]);
      return {
        added, counts, seen, done,
        returnvalue: job.returnvalue, finished: await job.isCompleted(),
        after: await queue.getJobCounts('waiting', 'active', 'completed', 'failed'),
        completedIds: (await queue.getCompleted()).map((j) => j.id).sort(),
      };
    });
  },

  async retries(port) {
    return withQueue(port, 'bq-retry', async (queue, closing) => {
      const attempts = [];
      const failed = [];
      const w = closing(worker(port, 'bq-retry', async (job) => {
        attempts.push(job.attemptsMade);
        if (job.data.succeedOn !== undefined && job.attemptsMade + 1 >= job.data.succeedOn) return 'finally';
        throw new Error(`boom ${job.attemptsMade}`);
      }));
      w.on('failed', (job, err) => { if (job.attemptsMade >= job.opts.attempts) failed.push([job.id, err.message]); });
      const a = await queue.add('always', {}, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
      await until(() => failed.length === 1, 10000, 'the job to fail for good');
      const b = await queue.add('third', { succeedOn: 3 }, { attempts: 3, backoff: { type: 'exponential', delay: 20 } });
      await until(async () => (await b.isCompleted()) || (await queue.getJobState(b.id)) === 'completed', 10000, 'the retried job to complete');
      const ja = await queue.getJob(a.id);
      const jb = await queue.getJob(b.id);
      return {
        attempts, failed, state: await ja.getState(), attemptsMade: ja.attemptsMade,
        failedReason: ja.failedReason, stacktraceLines: ja.stacktrace.length,
        b: { state: await jb.getState(), attemptsMade: jb.attemptsMade, returnvalue: jb.returnvalue },
        counts: await queue.getJobCounts('failed', 'completed', 'delayed', 'wait'),
      };
    });
  },

  async delayed(port) {
    return withQueue(port, 'bq-delay', async (queue, closing) => {
      const job = await queue.add('later', { x: 1 }, { delay: 300 });
      const before = { state: await job.getState(), counts: await queue.getJobCounts('delayed', 'waiting') };
      const done = [];
      const w = closing(worker(port, 'bq-delay', async (j) => `ran ${j.data.x}`));
      w.on('completed', (j, r) => done.push([j.id, r]));
      await until(() => done.length === 1, 10000, 'the delayed job');
      const finished = await queue.getJob(job.id);
      return { before, done, waitedAtLeastDelay: finished.processedOn - finished.timestamp >= 300 };
    });
  },

  async priorities(port) {
    return withQueue(port, 'bq-prio', async (queue, closing) => {
      await queue.add('low', { p: 10 }, { priority: 10 });
      await queue.add('none', { p: 0 });
      await queue.add('high', { p: 1 }, { priority: 1 });
      await queue.add('mid', { p: 5 }, { priority: 5 });
      await queue.add('high2', { p: 1 }, { priority: 1 });
      const counts = await queue.getJobCounts('prioritized', 'waiting');
      const order = [];
      const w = closing(worker(port, 'bq-prio', async (j) => { order.push(j.name); }, { concurrency: 1 }));
      await until(async () => (await queue.getJobCounts('completed')).completed === 5, 10000, 'five jobs');
      await w.close();
      return { counts, order };
    });
  },

  async pausedAndCounts(port) {
    return withQueue(port, 'bq-pause', async (queue, closing) => {
      await queue.pause();
      await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }, { name: 'c', data: {} }]);
      const w = closing(worker(port, 'bq-pause', async () => 'ok'));
      const whilePaused = await queue.getJobCounts('paused', 'waiting', 'active');
      const isPaused = await queue.isPaused();
      await queue.resume();
      await until(async () => (await queue.getJobCounts('completed')).completed === 3, 10000, 'three jobs');
      await queue.drain();
      const removed = await queue.clean(0, 100, 'completed');
      return { whilePaused, isPaused, removed: removed.length, counts: await queue.getJobCounts() };
    });
  },

  async repeatable(port) {
    return withQueue(port, 'bq-repeat', async (queue, closing) => {
      const runs = [];
      await queue.add('tick', {}, { repeat: { every: 100, limit: 3 } });
      const repeatables = (await queue.getRepeatableJobs()).map((r) => [r.name, r.every]);
      closing(worker(port, 'bq-repeat', async (j) => { runs.push(j.name); }));
      await until(() => runs.length >= 3, 10000, 'three repeats');
      return { runs: runs.slice(0, 3), repeatables };
    });
  },

  async queueEvents(port) {
    return withQueue(port, 'bq-events', async (queue, closing) => {
      // From the stream's start ('0-0'), not '$': no event is lost to the first XREAD's timing.
      const events = closing(new QueueEvents('bq-events', { connection: connection(port), lastEventId: '0-0' }));
      await events.waitUntilReady();
      const seen = [];
      for (const ev of ['waiting', 'active', 'completed', 'failed']) {
        events.on(ev, (args) => seen.push([ev, args.jobId, args.returnvalue ?? args.failedReason ?? null]));
      }
      const job = await queue.add('ev', { ok: true });
      const bad = await queue.add('ev', { ok: false });
      closing(worker(port, 'bq-events', async (j) => { if (!j.data.ok) throw new Error('nope'); return 'yes'; }));
      // waitUntilFinished resolves through QueueEvents (XREAD BLOCK on the events stream).
      const result = await job.waitUntilFinished(events, 10000 * SLOWDOWN);
      let failure;
      try { await bad.waitUntilFinished(events, 10000 * SLOWDOWN); } catch (e) { failure = e.message; }
      await until(() => seen.filter(([e]) => e === 'completed' || e === 'failed').length === 2, 5000, 'both final events');
      const order = (id) => seen.filter(([, j]) => j === id).map(([e]) => e);
      return { result, failure, job: order(job.id), bad: order(bad.id),
        finals: seen.filter(([e]) => e === 'completed' || e === 'failed').sort() };
    });
  },

  async flowsAndWorkers(port) {
    return withQueue(port, 'bq-flow', async (queue, closing) => {
      const flows = closing(new FlowProducer({ connection: connection(port) }));
      const tree = await flows.add({
        name: 'parent', queueName: 'bq-flow', data: { kind: 'sum' },
        children: [
          { name: 'child', queueName: 'bq-flow', data: { n: 2 } },
          { name: 'child', queueName: 'bq-flow', data: { n: 3 } },
        ],
      });
      const parentState = await tree.job.getState();
      const done = [];
      const w = closing(worker(port, 'bq-flow', async (job) => {
        if (job.name === 'child') {
          await job.updateProgress(50);
          await job.log(`child ${job.data.n}`);
          return job.data.n * 10;
        }
        const kids = await job.getChildrenValues();
        return Object.values(kids).reduce((a, b) => a + b, 0);
      }, { name: 'bq-flow-worker' }));
      w.on('completed', (job, result) => done.push([job.name, result]));
      await until(() => done.length === 3, 10000, 'the flow');
      // getWorkers parses CLIENT LIST for the workers' connection names (CLIENT SETNAME).
      const workers = await queue.getWorkers();
      const child = tree.children[0].job;
      const logs = await queue.getJobLogs(child.id);
      const fresh = await queue.getJob(child.id);
      return {
        parentState, done: done.sort((a, b) => String(a).localeCompare(String(b))),
        workers: workers.length, workerName: workers[0] && workers[0].rawname.endsWith(':w:bq-flow-worker'),
        logs: logs.logs, progress: fresh.progress,
        parent: (await queue.getJob(tree.job.id)).returnvalue,
      };
    });
  },

  async rateLimited(port) {
    return withQueue(port, 'bq-limit', async (queue, closing) => {
      await queue.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'r', data: { i } })));
      const seen = [];
      // At most 2 jobs per 300 ms: the limiter key (INCR + PEXPIRE in moveToActive) holds the rest back.
      closing(worker(port, 'bq-limit', async (job) => { seen.push([job.data.i]); },
        { limiter: { max: 2, duration: 300 } }));
      await until(() => seen.length === 4, 10000, 'four rate-limited jobs');
      return { order: seen.map(([i]) => i) };
    });
  },

  async obliterate(port) {
    const queue = new Queue('bq-gone', { connection: connection(port) });
    try {
      await queue.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'j', data: { i } })));
      await queue.add('d', {}, { delay: 60000 });
      const before = await queue.getJobCounts('waiting', 'delayed');
      await queue.drain(true);
      const drained = await queue.getJobCounts('waiting', 'delayed');
      await queue.add('again', {});
      await queue.obliterate({ force: true });
      const probe = new Queue('bq-gone', { connection: connection(port) });
      const keys = await (await probe.client).keys('bull:bq-gone:*');
      await probe.close();
      return { before, drained, keysLeft: keys.sort() };
    } finally {
      await queue.close();
    }
  },
};

run(scenarios);
