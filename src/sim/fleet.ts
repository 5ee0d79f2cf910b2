// The discrete-event core: pools of servers (a server is one model replica: tp GPUs), each
// running the engine's own Scheduler over virtual time, fed by a router, optionally resized by an
// autoscaler. Events: arrivals (read in order from the workload's columns and merged with the
// queue), step completions (at most one per server), autoscaler ticks and servers becoming ready
// (binary heap, event-queue.ts). At equal times a step completion comes before an arrival.
//
// Life of a request: it arrives; the pool rejects it when its waiting requests reach maxQueue;
// else the router hands it to a server's scheduler (round-robin, least-loaded by outstanding
// tokens, join-shortest-queue by queued + running requests), or, with 'central-queue', to a
// server that has a free batch slot, else it waits in the pool's FIFO until one frees up (the
// textbook M/M/c queue). A server whose scheduler has work starts a step at once: the scheduler
// plans it, the step-time model says how long it keeps the server busy, and at its end the
// scheduler completes it (requests finish; their records stream to the collector) and the server
// plans the next step. Nothing here reads the wall clock or Math.random: same inputs, same run.
import { Scheduler, type SchedRequest, type SchedulerConfig, type StepPlan, type StepTiming } from '../engine/scheduler.js';
import type { RequestRecord, StepRecord } from '../metrics/records.js';
import type { TraceColumns } from '../traffic/columns.js';
import type { AutoscalerSpec, RouterKind } from './config.js';
import { Collector } from './collect.js';
import { EventQueue } from './event-queue.js';
import type { StepTimeModel } from './step-time.js';
import type { RequestWork } from './work.js';

export interface PoolSetup {
  name: string;
  model: StepTimeModel;
  /** Scheduler settings of every server (gpu, keepRecords and onRequest are set here). */
  scheduler: Omit<SchedulerConfig, 'gpu' | 'keepRecords' | 'onRequest'>;
  /** Servers at time 0. */
  servers: number;
  router: RouterKind;
  maxQueue?: number;
  autoscaler?: Required<AutoscalerSpec> & { maxServers: number };
}

export interface FleetInput {
  columns: TraceColumns;
  /** Pool of each tenant (dense tenant index → pool index). */
  tenantPool: Int32Array;
  pools: readonly PoolSetup[];
  collector: Collector;
  /**
   * Useful work of each request (work.ts), counted step by step into the collector (capacity
   * utilization) and the autoscaler's 'capacity' metric; without it no work is counted.
   */
  work?: RequestWork;
  /** The requests to simulate, by index into columns, in arrival order (default: all of them). */
  order?: Int32Array;
  /** The arrivals window: the measured span ends at max(this, the last event). */
  durationS: number;
  /** Called with every step's record (tests, calibration round trips); off by default. */
  onStep?: (record: StepRecord, pool: number) => void;
  /** Called every `progressEvery` arrivals with the fraction of arrivals processed, and with 1 at the end. */
  onProgress?: (fraction: number) => void;
  /** Default: 1% of the arrivals, at least 1,000 (about a hundred calls a run). */
  progressEvery?: number;
}

export interface PoolOutcome {
  /** Server-seconds billed in the measured span (provisioning, active and draining servers). */
  billedServerSeconds: number;
  /** Time-weighted mean servers billed over the span. */
  meanServers: number;
  peakServers: number;
  /** Servers at the end. */
  finalServers: number;
  /** [time, servers billed] at each change (starts with [0, initial]). */
  serverChanges: [number, number][];
  scaleUps: number;
  scaleDowns: number;
}

export interface FleetOutcome {
  /** The measured span [t0, t1). */
  t0: number;
  t1: number;
  /** Time of the last event. */
  lastEventS: number;
  events: number;
  steps: number;
  pools: PoolOutcome[];
}

const EV_STEP = 0;
const EV_TICK = 1;
const EV_READY = 2;

const OFF = 0;
const PROVISIONING = 1;
const ACTIVE = 2;
const DRAINING = 3;

/** A growable FIFO of request indices (the pool's central queue). */
class IndexQueue {
  private buf = new Int32Array(64);
  private head = 0;
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) % this.buf.length]!;
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.length) % this.buf.length] = v;
    this.length++;
  }
  shift(): number {
    const v = this.buf[this.head]!;
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return v;
  }
}

class Server {
  state = OFF;
  plan: StepPlan | null = null;
  stepStart = 0;
  stepBusy = 0;
  /** Prompt + output tokens of requests handed to it and not yet final (least-loaded router). */
  outstanding = 0;
  /** Its scheduler's queueDepth when last looked at (the pool's waiting count follows it). */
  queued = 0;
  readonly sched: Scheduler;
  constructor(
    readonly id: number,
    readonly pool: Pool,
    onRequest: (r: RequestRecord) => void,
  ) {
    const self = this;
    this.sched = new Scheduler({
      ...pool.setup.scheduler,
      gpu: id,
      keepRecords: false,
      onRequest(r) {
        if (r.status !== 'rejected') self.outstanding -= r.promptTokens + r.maxOutputTokens;
        onRequest(r);
      },
    });
  }
  /** Room for one more request without queueing behind a full batch. */
  get hasSlot(): boolean {
    return this.sched.runningCount + this.sched.queueDepth < this.pool.maxBatch;
  }
}

class Pool {
  readonly servers: Server[] = [];
  /** Active servers by id (the router's choices). */
  readonly active: Server[] = [];
  readonly central = new IndexQueue();
  readonly maxBatch: number;
  readonly router: RouterKind;
  readonly maxQueue: number;
  rr = 0;
  /** Requests waiting: the central queue plus every server's scheduler queue. */
  waiting = 0;
  /** Servers with a step in flight. */
  inFlight = 0;
  provisioning = 0;
  /** Busy seconds and sampled tokens of completed steps, whole run (the autoscaler's measures). */
  busyAll = 0;
  busyAtTick = 0;
  workAll = 0;
  workAtTick = 0;
  lowSince = -1;
  // Billing.
  billed = 0;
  billedSince = 0;
  billedSeconds = 0;
  peak = 0;
  readonly changes: [number, number][] = [];
  scaleUps = 0;
  scaleDowns = 0;
  constructor(
    readonly index: number,
    readonly setup: PoolSetup,
  ) {
    this.maxBatch = setup.scheduler.maxBatch;
    this.router = setup.router;
    this.maxQueue = setup.maxQueue ?? Infinity;
  }
}

/** Runs the fleet over the workload; figures accumulate in input.collector. */
export function simulateFleet(input: FleetInput): FleetOutcome {
  const { columns, tenantPool, collector } = input;
  const { arrival, promptTokens, outputTokens, tenant } = columns;
  const order = input.order;
  const n = order ? order.length : arrival.length;
  const work = input.work;
  // Prompt positions already charged per request: recomputation after a preemption is not work.
  const charged = work ? new Int32Array(arrival.length) : undefined;
  /** Useful work of a completed plan's entries, s (work.ts). */
  const planWork = (plan: StepPlan): number => {
    let w = 0;
    const e = plan.entries;
    for (let k = 0; k < e.length; k++) {
      const x = e[k]!;
      const id = x.seq.id;
      if (x.kind === 'prefill') {
        const P = x.seq.promptTokens;
        const hi = Math.min(x.start + x.tokens, P);
        const lo = Math.max(x.start, charged![id]!);
        if (hi > lo) {
          w += ((hi - lo) / P) * work!.prefillS[id]!;
          charged![id] = hi;
        }
      }
      // completeStep has counted the token this entry sampled; the first is the prompt's.
      if (x.samples && x.seq.outputTokens > 1) w += work!.decodeS[id]!;
    }
    return w;
  };
  const warmup = collector.warmupS;
  const heap = new EventQueue();
  const all: Server[] = [];
  const onRequest = (r: RequestRecord): void => collector.request(r);
  const req: SchedRequest = { id: 0, tenant: 0, arrival: 0, promptTokens: 0, maxOutputTokens: 0 };
  const timing: StepTiming = { start: 0, end: 0, busy: 0, timing: 'model' };
  const onStep = input.onStep;
  // Without an onStep listener nobody keeps step records: every step fills this one.
  const scratch: StepRecord | undefined = onStep
    ? undefined
    : { index: 0, gpu: 0, start: 0, end: 0, busy: 0, timing: 'model', batchSize: 0, decodeTokens: 0, outputTokens: 0, prefillTokens: 0, contextTokens: 0, queueDepth: 0, kvBlocksUsed: 0, kvBlocksTotal: 0 };
  let next = 0; // next arrival
  let now = 0;
  let events = 0;
  let steps = 0;

  const pools = input.pools.map((setup, i) => new Pool(i, setup));

  // --- billing -----------------------------------------------------------------------------
  const bill = (p: Pool, delta: number): void => {
    const from = Math.max(p.billedSince, warmup);
    if (now > from) p.billedSeconds += p.billed * (now - from);
    p.billedSince = now;
    p.billed += delta;
    if (p.billed > p.peak) p.peak = p.billed;
    const last = p.changes[p.changes.length - 1];
    if (last && last[0] === now) last[1] = p.billed;
    else p.changes.push([now, p.billed]);
  };

  // --- servers -----------------------------------------------------------------------------
  const syncQueue = (s: Server): void => {
    const q = s.sched.queueDepth;
    s.pool.waiting += q - s.queued;
    s.queued = q;
  };

  const activate = (s: Server): void => {
    s.state = ACTIVE;
    const a = s.pool.active;
    let j = a.length;
    a.push(s);
    while (j > 0 && a[j - 1]!.id > s.id) {
      a[j] = a[j - 1]!;
      j--;
    }
    a[j] = s;
  };

  const deactivate = (s: Server): void => {
    const a = s.pool.active;
    const j = a.indexOf(s);
    if (j >= 0) a.splice(j, 1);
  };

  const addServer = (p: Pool, ready: boolean): Server => {
    let s = p.servers.find((x) => x.state === OFF);
    if (!s) {
      s = new Server(all.length, p, onRequest);
      all.push(s);
      p.servers.push(s);
    }
    bill(p, +1);
    if (ready) activate(s);
    else {
      s.state = PROVISIONING;
      p.provisioning++;
    }
    return s;
  };

  const turnOff = (s: Server): void => {
    s.state = OFF;
    bill(s.pool, -1);
  };

  const startStep = (s: Server): void => {
    const plan = s.sched.nextStep(now);
    syncQueue(s);
    if (!plan) {
      if (s.state === DRAINING && s.sched.idle) turnOff(s);
      return;
    }
    // First admissions (the trailing entries that start at position 0) end their queueing wait.
    const e = plan.entries;
    for (let k = e.length - 1; k >= plan.decodeTokens; k--) {
      const x = e[k]!;
      if (x.start !== 0) break;
      if (x.seq.record.preemptions === 0) collector.admitted(x.seq.tenant, x.seq.arrival, now);
    }
    const d = s.pool.setup.model.stepTime(plan, s.id);
    s.plan = plan;
    s.stepStart = now;
    s.stepBusy = d;
    s.pool.inFlight++;
    heap.push(now + d, s.id * 4 + EV_STEP);
  };

  /** Hands request i to s's scheduler (and starts a step when s is idle and `start`). */
  const submit = (s: Server, i: number, start: boolean): void => {
    req.id = i;
    req.tenant = tenant[i]!;
    req.arrival = arrival[i]!;
    req.promptTokens = promptTokens[i]!;
    req.maxOutputTokens = outputTokens[i]!;
    const r = s.sched.submit(req);
    if (!r.accepted) return;
    s.outstanding += req.promptTokens + req.maxOutputTokens;
    syncQueue(s);
    if (start && !s.plan) startStep(s);
  };

  /** Moves requests from the pool's central queue to s while it has free batch slots, then starts a step if s is idle. */
  const pull = (s: Server): void => {
    const p = s.pool;
    while (p.central.length > 0 && s.hasSlot) {
      p.waiting--;
      submit(s, p.central.shift(), false);
    }
    if (!s.plan) startStep(s);
  };

  const route = (p: Pool): Server | undefined => {
    const a = p.active;
    const m = a.length;
    if (m === 0) return undefined;
    switch (p.router) {
      case 'round-robin': {
        const s = a[p.rr % m]!;
        p.rr = (p.rr + 1) % m;
        return s;
      }
      case 'jsq': {
        // Fewest queued + running; ties go round-robin (the scan starts after the last choice).
        let best = 0;
        let bestLoad = Infinity;
        const start = p.rr % m;
        for (let k = 0; k < m; k++) {
          const j = (start + k) % m;
          const s = a[j]!;
          const load = s.sched.queueDepth + s.sched.runningCount;
          if (load < bestLoad) {
            best = j;
            bestLoad = load;
            if (load === 0) break;
          }
        }
        p.rr = (best + 1) % m;
        return a[best];
      }
      case 'least-loaded': {
        let best = 0;
        let bestLoad = Infinity;
        const start = p.rr % m;
        for (let k = 0; k < m; k++) {
          const j = (start + k) % m;
          const load = a[j]!.outstanding;
          if (load < bestLoad) {
            best = j;
            bestLoad = load;
            if (load === 0) break;
          }
        }
        p.rr = (best + 1) % m;
        return a[best];
      }
      case 'central-queue': {
        const start = p.rr % m;
        for (let k = 0; k < m; k++) {
          const s = a[(start + k) % m]!;
          if (s.hasSlot) {
            p.rr = (start + k + 1) % m;
            return s;
          }
        }
        return undefined;
      }
    }
  };

  // --- autoscaler ----------------------------------------------------------------------------
  const tick = (p: Pool): void => {
    const a = p.setup.autoscaler!;
    const active = p.active.length;
    const busy = p.busyAll - p.busyAtTick;
    const done = p.workAll - p.workAtTick;
    p.busyAtTick = p.busyAll;
    p.workAtTick = p.workAll;
    const util = active === 0 ? 1 : (a.metric === 'busy' ? busy : done) / (active * a.intervalS);
    // The usual proportional rule: servers × measured busy fraction / target, clamped.
    const desired = Math.min(a.maxServers, Math.max(a.minServers, Math.ceil((active * util) / a.targetUtilization - 1e-9)));
    if (desired > active + p.provisioning) {
      for (let k = active + p.provisioning; k < desired; k++) {
        const s = addServer(p, a.provisioningDelayS === 0);
        if (a.provisioningDelayS === 0) pull(s);
        else heap.push(now + a.provisioningDelayS, s.id * 4 + EV_READY);
        p.scaleUps++;
      }
      p.lowSince = -1;
    } else if (desired < active) {
      if (p.lowSince < 0) p.lowSince = now;
      if (now - p.lowSince >= a.scaleDownDelayS) {
        for (let k = desired; k < active; k++) {
          const s = p.active[p.active.length - 1]!;
          deactivate(s);
          s.state = DRAINING;
          if (!s.plan && s.sched.idle) turnOff(s);
          p.scaleDowns++;
        }
        p.lowSince = -1;
      }
    } else p.lowSince = -1;
    if (next < n || p.waiting > 0 || p.inFlight > 0 || p.provisioning > 0) heap.push(now + a.intervalS, p.index * 4 + EV_TICK);
  };

  // --- start ---------------------------------------------------------------------------------
  for (const p of pools) {
    for (let k = 0; k < p.setup.servers; k++) addServer(p, true);
    if (p.changes.length === 0) p.changes.push([0, 0]);
    if (p.setup.autoscaler) heap.push(p.setup.autoscaler.intervalS, p.index * 4 + EV_TICK);
  }

  const progressEvery = Math.max(1, input.progressEvery ?? Math.max(1000, Math.ceil(n / 100)));
  const onProgress = input.onProgress;

  // --- event loop ------------------------------------------------------------------------------
  for (;;) {
    const tEv = heap.topTime;
    const tArr = next < n ? arrival[order ? order[next]! : next]! : Infinity;
    if (tEv === Infinity && tArr === Infinity) break;
    events++;
    if (tEv <= tArr) {
      now = tEv;
      const payload = heap.pop();
      const kind = payload & 3;
      const id = payload >> 2;
      if (kind === EV_STEP) {
        const s = all[id]!;
        const p = s.pool;
        const plan = s.plan!;
        s.plan = null;
        p.inFlight--;
        timing.start = s.stepStart;
        timing.end = now;
        timing.busy = s.stepBusy;
        const rec = s.sched.completeStep(plan, timing, undefined, scratch);
        steps++;
        const w = work ? planWork(plan) : 0;
        p.busyAll += s.stepBusy;
        p.workAll += w;
        collector.step(p.index, s.stepStart, now, s.stepBusy, plan.decodeTokens, plan.prefillTokens, plan.sampledTokens, w);
        if (onStep) onStep(rec, p.index);
        if (s.state === ACTIVE) pull(s);
        else startStep(s);
      } else if (kind === EV_TICK) {
        tick(pools[id]!);
      } else {
        const s = all[id]!;
        s.pool.provisioning--;
        activate(s);
        pull(s);
      }
      continue;
    }
    // Arrival.
    now = tArr;
    const i = order ? order[next++]! : next++;
    const t = tenant[i]!;
    const p = pools[tenantPool[t]!]!;
    collector.arrival(t, now);
    if (onProgress && next % progressEvery === 0) onProgress(next / n);
    if (p.waiting >= p.maxQueue) {
      collector.rejectAtRouter(t, now, 'queue-full');
      continue;
    }
    const s = route(p);
    if (s) submit(s, i, true);
    else {
      p.central.push(i);
      p.waiting++;
    }
  }

  const lastEventS = now;
  const t1 = Math.max(input.durationS, now);
  const outcomes: PoolOutcome[] = pools.map((p) => {
    now = t1;
    bill(p, 0);
    const span = t1 - warmup;
    return {
      billedServerSeconds: p.billedSeconds,
      meanServers: span > 0 ? p.billedSeconds / span : p.billed,
      peakServers: p.peak,
      finalServers: p.billed,
      serverChanges: p.changes,
      scaleUps: p.scaleUps,
      scaleDowns: p.scaleDowns,
    };
  });
  onProgress?.(1);
  return { t0: warmup, t1, lastEventS, events, steps, pools: outcomes };
}
