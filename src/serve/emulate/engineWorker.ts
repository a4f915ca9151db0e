/**
 * The emulator's engine thread: the RealTimeDriver and the engine core of the scenario, stepping
 * on the wall clock with nothing else on its event loop. Like vLLM's engine-core process beside
 * its API server, it keeps the step clock away from HTTP work: a step's burst of SSE writes on
 * the HTTP thread no longer delays the next step's end (docs/emulate.md, "Timing").
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RealTimeDriver, type RequestSink } from './driver.ts';
import { scenarioCoreFactory } from './scenarioCore.ts';
import { EV, OUTCOMES, RECORD, STATS_FIELDS, type FromWorker, type ToWorker, type WorkerInit } from './workerProtocol.ts';

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  start(workerData as WorkerInit);
} catch (e) {
  post({ type: 'failed', message: (e as Error).message, stack: (e as Error).stack });
}

function start(init: WorkerInit): void {
  // Engine time 0 on this thread's performance clock: the same instant as on the HTTP thread.
  const wall0 = performance.now() - Number(process.hrtime.bigint() - init.hrtime0) / 1e6;
  const stats = new Float64Array(init.stats);
  let buf = new Float64Array(RECORD * 1024);
  let n = 0;
  let flushQueued = false;
  const push = (kind: number, id: number, x: number, t: number) => {
    if (n + RECORD > buf.length) {
      const grown = new Float64Array(buf.length * 2);
      grown.set(buf.subarray(0, n));
      buf = grown;
    }
    buf[n] = kind;
    buf[n + 1] = id;
    buf[n + 2] = x;
    buf[n + 3] = t;
    n += RECORD;
    queueFlush();
  };
  const queueFlush = () => {
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flush);
    }
  };
  const driver = new RealTimeDriver(scenarioCoreFactory(init.scenario), {
    speed: init.speed,
    sync: init.sync,
    wall0,
    observers: {
      onRoute: (id, rank, t) => push(EV.ROUTE, id, rank, t),
      onToken: (id, emitted, t) => push(EV.TOKEN, id, emitted, t),
      onFinish: (id, outcome, t) => push(EV.FINISH, id, OUTCOMES.indexOf(outcome), t),
      onPreempt: (id, rank, t) => push(EV.PREEMPT, id, rank, t),
      onQueued: (id, rank, t) => push(EV.QUEUED, id, rank, t),
      onScheduled: (id, rank, t) => push(EV.SCHEDULED_AT, id, rank, t),
    },
  });
  driver.onStepEvents = (_deadline, endUs) => push(EV.STEP, 0, endUs, endUs);
  const G = driver.G;
  function flush(): void {
    flushQueued = false;
    for (let g = 0; g < G; g++) {
      const s = driver.rankStats(g);
      const o = g * STATS_FIELDS;
      stats[o] = s.running;
      stats[o + 1] = s.waiting;
      stats[o + 2] = s.kvBlocksUsed;
      stats[o + 3] = s.kvBlocksTotal;
      stats[o + 4] = s.preemptions;
      stats[o + 5] = s.promptTokens;
      stats[o + 6] = s.generationTokens;
    }
    stats[G * STATS_FIELDS] = driver.steps;
    if (n === 0) return;
    const records = buf.slice(0, n);
    n = 0;
    post({ type: 'events', records }, [records.buffer]);
  }
  // Events reach the HTTP thread through the observers; the driver's own sinks are placeholders.
  const sink: RequestSink = { onToken() {}, onFinish() {} };
  port.on('message', (m: ToWorker) => {
    queueFlush(); // an abort between steps changes the gauges without an event
    switch (m.type) {
      case 'submit': {
        const id = driver.submit({ promptTokens: m.promptTokens, outputTokens: m.outputTokens, rank: m.rank }, sink, m.stampUs);
        if (id !== m.id) throw new Error(`engine worker: request id ${id} where the HTTP thread expected ${m.id}`);
        push(EV.ARRIVE, id, driver.arrivalUs[id], driver.arrivalUs[id]);
        return;
      }
      case 'abort':
        driver.abort(m.id);
        return;
      case 'stop': {
        driver.stop();
        flush();
        const timingErrors = driver.timingErrors();
        post({ type: 'stopped', timingErrors }, [timingErrors.buffer as ArrayBuffer]);
        port.close();
        return;
      }
    }
  });
  flush();
  post({ type: 'ready' });
}
