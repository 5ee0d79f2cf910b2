// Tenants and generated traces. Each tenant has its own random streams, derived from the run's
// seed and the tenant id (arrivals and lengths separately), so a tenant's requests do not change
// when other tenants are added or its length distribution is swapped; a tenant worker calling
// generateTenantRequests() gets exactly that tenant's share of generateTenants().
// Merging: every tenant's arrivals come out sorted, so the trace is a k-way merge (binary heap
// on the tenants' next arrivals; ties go to the lower index in the list): O(n log k), no
// re-sort, into typed-array columns (generateTenantColumns, for the simulator) or objects.
import { Rng } from '../ops/random.js';
import { arrivalTimes, describeArrival, validateArrival, type ArrivalProcess } from './arrivals.js';
import { fromColumns, mergeColumnStreams, type TraceColumns } from './columns.js';
import { lengthSampler, validateLengths, type LengthDist } from './lengths.js';
import { deriveSeed } from './sampling.js';
import type { Trace, TraceRequest } from './types.js';

export interface Tenant {
  /** Non-negative integer, unique within a mix; becomes TraceRequest.tenant. */
  id: number;
  name: string;
  arrival: ArrivalProcess;
  lengths: LengthDist;
  /** Hours east of UTC (shifts a diurnal process's day; others ignore it). Default 0. */
  tzOffsetH?: number;
}

const ARRIVAL_STREAM = 1;
const LENGTH_STREAM = 2;

/** One tenant's generated stream (arrivals sorted). */
interface Columns {
  arrival: number[];
  prompt: Int32Array;
  output: Int32Array;
}

function generateColumns(arrival: ArrivalProcess, lengths: LengthDist, durationS: number, seed: number, tzOffsetH: number): Columns {
  const times = arrivalTimes(arrival, durationS, new Rng(deriveSeed(seed, ARRIVAL_STREAM)), tzOffsetH);
  const n = times.length;
  const prompt = new Int32Array(n);
  const output = new Int32Array(n);
  const rng = new Rng(deriveSeed(seed, LENGTH_STREAM));
  const s = lengthSampler(lengths);
  for (let i = 0; i < n; i++) {
    s.next(rng);
    prompt[i] = s.prompt;
    output[i] = s.output;
  }
  return { arrival: times, prompt, output };
}

/** Requests over [0, durationS) from one arrival process and length distribution. */
export function generateRequests(
  arrival: ArrivalProcess,
  lengths: LengthDist,
  durationS: number,
  seed: number,
  options: { tzOffsetH?: number; tenant?: number } = {},
): TraceRequest[] {
  const c = generateColumns(arrival, lengths, durationS, seed, options.tzOffsetH ?? 0);
  const out: TraceRequest[] = new Array(c.arrival.length);
  for (let i = 0; i < c.arrival.length; i++) {
    const r: TraceRequest = { arrival: c.arrival[i]!, promptTokens: c.prompt[i]!, outputTokens: c.output[i]! };
    if (options.tenant !== undefined) r.tenant = options.tenant;
    out[i] = r;
  }
  return out;
}

/** The seed a tenant's streams derive from, given the mix's seed. */
export function tenantSeed(seed: number, tenantId: number): number {
  return deriveSeed(seed, 0x7e4a47, tenantId);
}

/** One tenant's requests, exactly as generateTenants() includes them. */
export function generateTenantRequests(tenant: Tenant, durationS: number, seed: number): TraceRequest[] {
  return generateRequests(tenant.arrival, tenant.lengths, durationS, tenantSeed(seed, tenant.id), {
    tzOffsetH: tenant.tzOffsetH ?? 0,
    tenant: tenant.id,
  });
}

function validateTenants(tenants: readonly Tenant[]): void {
  const seen = new Set<number>();
  for (const t of tenants) {
    if (!Number.isInteger(t.id) || t.id < 0 || t.id > 0x7fffffff) throw new RangeError(`tenant '${t.name}': id must be an integer in [0, 2^31), got ${t.id}`);
    if (seen.has(t.id)) throw new RangeError(`tenant id ${t.id} is used twice`);
    seen.add(t.id);
    if (t.tzOffsetH !== undefined && !Number.isFinite(t.tzOffsetH)) throw new RangeError(`tenant '${t.name}': tzOffsetH must be finite`);
    try {
      validateArrival(t.arrival);
      validateLengths(t.lengths);
    } catch (e) {
      throw new RangeError(`tenant '${t.name}' (${t.id}): ${(e as Error).message}`);
    }
  }
}

/** All tenants' requests over [0, durationS), merged by arrival, as columns (no objects). */
export function generateTenantColumns(tenants: readonly Tenant[], durationS: number, seed: number): TraceColumns {
  validateTenants(tenants);
  const cols = tenants.map((t) => generateColumns(t.arrival, t.lengths, durationS, tenantSeed(seed, t.id), t.tzOffsetH ?? 0));
  return mergeColumnStreams(cols, { tenantIds: tenants.map((t) => t.id) });
}

/** All tenants' requests over [0, durationS), merged by arrival, each with its tenant id. */
export function generateTenants(tenants: readonly Tenant[], durationS: number, seed: number): Trace {
  const requests = fromColumns(generateTenantColumns(tenants, durationS, seed));
  const k = tenants.length;
  const what = k === 1 ? `${tenants[0]!.name}: ${describeArrival(tenants[0]!.arrival)}` : `${k} tenants`;
  return {
    source: `generated (${what}; ${durationS} s; seed ${seed})`,
    format: 'generated',
    requests,
    badRows: [],
    durationS,
  };
}
