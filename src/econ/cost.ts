// Cost per token.
//
//   cost per 1M tokens = (GPUs x $/GPU-hour) / (tokens served per hour / 1e6)
//
// reported separately for output tokens and for all tokens (prefill + decode). GPU prices are
// presets labelled as assumptions (what kind of price, as of when); the user can override any.
// Cost per token is inversely proportional to utilization: an idle GPU-hour is paid for all the
// same. That is what lets a platform that is slower on paper but busier serve tokens for less,
// and what pooling many tenants onto one fleet buys over reserving GPUs for each tenant's peak.

import { percentile } from '../metrics/percentiles.js';

export const SECONDS_PER_HOUR = 3600;

// ---------------------------------------------------------------------------------------------
// Price presets

export type GpuPriceId = 'h100' | 'h200' | 'a100-80gb' | 'a10g' | 'l4' | 'l40s' | 'b200' | 'laptop';

/** A $/GPU-hour figure and what it stands for. Every preset is an assumption, not a quote. */
export interface GpuPrice {
  id: GpuPriceId;
  label: string;
  dollarsPerGpuHour: number;
  /** Spread of prices seen for this GPU, low to high, $/GPU-hour (when known). */
  range?: [number, number];
  /** When the figure was taken. */
  asOf: string;
  /** What kind of price it is. */
  kind: string;
  assumption: true;
  note: string;
}

const ON_DEMAND = 'on-demand cloud list price, per GPU-hour, ballpark';

/**
 * Ballpark on-demand prices, 2025. Specialist GPU clouds sit at the low end of each range,
 * hyperscalers (whose prices are per multi-GPU instance, here divided per GPU) at the high end.
 * Reserved and spot prices are lower; none of this includes networking, storage or staff.
 */
export const GPU_PRICES: readonly GpuPrice[] = [
  {
    id: 'h100',
    label: 'NVIDIA H100 80GB',
    dollarsPerGpuHour: 3.0,
    range: [2.0, 7.0],
    asOf: '2025',
    kind: ON_DEMAND,
    assumption: true,
    note: 'SXM, in 8-GPU instances; hyperscalers cut H100 prices in mid-2025.',
  },
  {
    id: 'h200',
    label: 'NVIDIA H200 141GB',
    dollarsPerGpuHour: 3.8,
    range: [3.0, 10.0],
    asOf: '2025',
    kind: ON_DEMAND,
    assumption: true,
    note: 'SXM, in 8-GPU instances.',
  },
  {
    id: 'a100-80gb',
    label: 'NVIDIA A100 80GB',
    dollarsPerGpuHour: 1.8,
    range: [1.2, 5.0],
    asOf: '2025',
    kind: ON_DEMAND,
    assumption: true,
    note: 'SXM, in 8-GPU instances.',
  },
  {
    id: 'a10g',
    label: 'NVIDIA A10G 24GB',
    dollarsPerGpuHour: 1.0,
    range: [0.75, 1.6],
    asOf: '2025',
    kind: ON_DEMAND,
    assumption: true,
    note: 'AWS-only part; a single-GPU instance with a few vCPUs (g5.xlarge class).',
  },
  {
    id: 'l4',
    label: 'NVIDIA L4 24GB',
    dollarsPerGpuHour: 0.8,
    range: [0.5, 1.0],
    asOf: '2025',
    kind: ON_DEMAND,
    assumption: true,
    note: 'A single-GPU instance with a few vCPUs (g2-standard-4 / g6.xlarge class).',
  },
  {
    id: 'l40s',
    label: 'NVIDIA L40S 48GB',
    dollarsPerGpuHour: 1.5,
    range: [0.9, 2.0],
    asOf: '2025',
    kind: ON_DEMAND,
    assumption: true,
    note: 'A single-GPU instance (g6e.xlarge class) or a specialist cloud.',
  },
  {
    id: 'b200',
    label: 'NVIDIA B200 180GB',
    dollarsPerGpuHour: 6.0,
    range: [4.0, 10.0],
    asOf: '2025',
    kind: ON_DEMAND,
    assumption: true,
    note: 'New in 2025; few public list prices, wide spread.',
  },
  laptopPrice(0.1),
];

/**
 * "This laptop": a price the user sets. The default 0.10 $/h is a placeholder: electricity for
 * ~50 W at ~0.30 $/kWh is ~0.015 $/h, and a ~1500 $ machine written off over three years of
 * 8 hours a day is ~0.17 $/h; where the truth lies depends on whose laptop it is.
 */
export function laptopPrice(dollarsPerHour: number): GpuPrice {
  if (!(dollarsPerHour >= 0)) throw new RangeError(`price must be >= 0, got ${dollarsPerHour}`);
  return {
    id: 'laptop',
    label: 'This laptop',
    dollarsPerGpuHour: dollarsPerHour,
    asOf: '2025',
    kind: 'user-set price per hour (electricity and amortized hardware)',
    assumption: true,
    note: 'Set by the user; the default is a placeholder, not a measurement.',
  };
}

export function gpuPrice(id: GpuPriceId): GpuPrice {
  const p = GPU_PRICES.find((g) => g.id === id);
  if (!p) throw new Error(`no price preset '${id}'`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Cost per token

/** $ per 1M tokens for `gpus` GPUs at $/GPU-hour serving tokensPerS in total. Infinity at 0 tokens/s. */
export function costPerMillionTokens(gpus: number, dollarsPerGpuHour: number, tokensPerS: number): number {
  const tokensPerHour = tokensPerS * SECONDS_PER_HOUR;
  return (gpus * dollarsPerGpuHour) / (tokensPerHour / 1e6);
}

export interface CostInput {
  gpus: number;
  dollarsPerGpuHour: number;
  /** Output tokens served per second, fleet total. */
  outputTokensPerS: number;
  /** Prefill + decode tokens per second, fleet total. */
  allTokensPerS: number;
}

export interface CostReport extends CostInput {
  /** gpus x $/GPU-hour. */
  dollarsPerHour: number;
  perMillionOutputTokens: number;
  perMillionAllTokens: number;
}

export function costReport(input: CostInput): CostReport {
  return {
    ...input,
    dollarsPerHour: input.gpus * input.dollarsPerGpuHour,
    perMillionOutputTokens: costPerMillionTokens(input.gpus, input.dollarsPerGpuHour, input.outputTokensPerS),
    perMillionAllTokens: costPerMillionTokens(input.gpus, input.dollarsPerGpuHour, input.allTokensPerS),
  };
}

/**
 * $ per 1M tokens of one GPU with the given capacity (tokens/s) busy a fraction `utilization` of
 * the time (capacity utilization, in (0, 1]): cost at full utilization / utilization.
 */
export function costPerMillionAtUtilization(dollarsPerGpuHour: number, capacityTokensPerS: number, utilization: number): number {
  return costPerMillionTokens(1, dollarsPerGpuHour, capacityTokensPerS * utilization);
}

export interface PlatformCase {
  name: string;
  dollarsPerGpuHour: number;
  /** Per-GPU capacity, tokens/s ("speed on paper"). */
  capacityTokensPerS: number;
  /** Capacity utilization it actually runs at. */
  utilization: number;
}

export interface PlatformCost extends PlatformCase {
  /** capacity x utilization. */
  achievedTokensPerS: number;
  costPerMillionTokens: number;
  /** costPerMillionTokens / the cheapest case's (1 for the cheapest). */
  relativeToCheapest: number;
}

/**
 * Cost per token of platforms that differ in speed and in how busy they are, cheapest first: e.g.
 * a GPU at half the speed but twice the utilization costs the same per token at the same price.
 */
export function comparePlatforms(cases: readonly PlatformCase[]): PlatformCost[] {
  const out = cases.map((c) => ({
    ...c,
    achievedTokensPerS: c.capacityTokensPerS * c.utilization,
    costPerMillionTokens: costPerMillionAtUtilization(c.dollarsPerGpuHour, c.capacityTokensPerS, c.utilization),
    relativeToCheapest: 1,
  }));
  out.sort((a, b) => a.costPerMillionTokens - b.costPerMillionTokens);
  const best = out.length ? out[0].costPerMillionTokens : NaN;
  for (const c of out) c.relativeToCheapest = c.costPerMillionTokens / best;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reserved vs pooled

export interface TenantDemand {
  name?: string;
  /** Demand the tenant's own GPUs are sized for (e.g. its p99), tokens/s. */
  peakTokensPerS: number;
  /** Mean demand, tokens/s: what is actually served. */
  meanTokensPerS: number;
}

export interface ProvisioningInput {
  tenants: readonly TenantDemand[];
  /** Peak of the tenants' summed demand (at the same percentile): at most the sum of the peaks. */
  pooledPeakTokensPerS: number;
  /** Per-GPU capacity, tokens/s (same kind of tokens as the demand). */
  gpuCapacityTokensPerS: number;
  dollarsPerGpuHour: number;
  /**
   * Highest capacity utilization provisioning allows at peak (default 1: size for the peak
   * exactly); e.g. 0.85 keeps headroom for tail latency.
   */
  maxUtilization?: number;
}

export interface Provisioning {
  /** Whole GPUs. */
  gpus: number;
  dollarsPerHour: number;
  /** Mean demand / provisioned capacity. */
  utilization: number;
  /** $ per 1M tokens of mean demand served. */
  costPerMillionTokens: number;
}

export interface ReservedVsPooled {
  reserved: Provisioning & { perTenantGpus: number[] };
  pooled: Provisioning;
  /** 1 - pooled $/h / reserved $/h. */
  savings: number;
}

/**
 * GPUs and cost when each tenant reserves GPUs for its own peak versus one pool sized for the
 * peak of the summed demand. Independent tenants' peaks rarely coincide, so the pooled peak is
 * well below the sum of the peaks (statistical multiplexing).
 */
export function reservedVsPooled(input: ProvisioningInput): ReservedVsPooled {
  const maxU = input.maxUtilization ?? 1;
  if (!(maxU > 0 && maxU <= 1)) throw new RangeError(`maxUtilization must be in (0, 1], got ${maxU}`);
  if (!(input.gpuCapacityTokensPerS > 0)) throw new RangeError('gpuCapacityTokensPerS must be > 0');
  const perGpu = input.gpuCapacityTokensPerS * maxU;
  // Tolerate float noise (e.g. 2000 / 1000.0000000001) before rounding up to whole GPUs.
  const gpusFor = (peak: number) => Math.max(0, Math.ceil(peak / perGpu - 1e-9));
  let mean = 0;
  const perTenantGpus = input.tenants.map((t) => {
    mean += t.meanTokensPerS;
    return gpusFor(t.peakTokensPerS);
  });
  const plan = (gpus: number): Provisioning => ({
    gpus,
    dollarsPerHour: gpus * input.dollarsPerGpuHour,
    utilization: gpus > 0 ? mean / (gpus * input.gpuCapacityTokensPerS) : NaN,
    costPerMillionTokens: costPerMillionTokens(gpus, input.dollarsPerGpuHour, mean),
  });
  const reserved = { ...plan(perTenantGpus.reduce((a, b) => a + b, 0)), perTenantGpus };
  const pooled = plan(gpusFor(input.pooledPeakTokensPerS));
  return {
    reserved,
    pooled,
    savings: reserved.dollarsPerHour > 0 ? 1 - pooled.dollarsPerHour / reserved.dollarsPerHour : 0,
  };
}

/**
 * Tenant peaks, means and the pooled peak from per-tenant demand series sampled on a common time
 * grid (series[tenant][i], tokens/s). Peaks are the nearest-rank percentile `p` (default 99).
 */
export function demandFromSeries(
  series: readonly (readonly number[])[],
  p = 99,
): { tenants: TenantDemand[]; pooledPeakTokensPerS: number; pooledMeanTokensPerS: number } {
  const len = series.length ? series[0].length : 0;
  for (const s of series) if (s.length !== len) throw new RangeError('demand series must have the same length');
  const sum = new Float64Array(len);
  const tenants = series.map((s) => {
    let m = 0;
    for (let i = 0; i < len; i++) {
      sum[i] += s[i];
      m += s[i];
    }
    return { peakTokensPerS: percentile(s, p), meanTokensPerS: len ? m / len : 0 };
  });
  let total = 0;
  for (const v of sum) total += v;
  return { tenants, pooledPeakTokensPerS: percentile(sum, p), pooledMeanTokensPerS: len ? total / len : 0 };
}
