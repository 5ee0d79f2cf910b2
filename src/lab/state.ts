// The lab's whole state lives in the URL, so a link restores it: `?view=lab&preset=pooled-8`
// opens a preset; any other parameter overrides the preset's value. Every value is checked; a bad
// one is reported by name and replaced by the preset's (or default) value, so a mistyped shared
// link still opens a working lab. Pure code (no DOM), tested in Node.
import { GPU_PRICES, type GpuPriceId } from '../econ/cost.js';

export type TrafficShape = 'poisson' | 'gamma' | 'diurnal' | 'onoff' | 'trace';
export const TRAFFIC_SHAPES: readonly TrafficShape[] = ['poisson', 'gamma', 'diurnal', 'onoff', 'trace'];
export const TRAFFIC_LABELS: Record<TrafficShape, string> = {
  poisson: 'Poisson (steady)',
  gamma: 'Gamma (set burstiness by CV)',
  diurnal: 'Diurnal (time zones)',
  onoff: 'On/off bursts',
  trace: 'Trace file',
};

/** An SLO in seconds, or 'auto': a multiple of this device's step time at capacity (traffic.ts sloSeconds). */
export type SloValue = number | 'auto';

export interface LabState {
  /** The preset the state started from ('' for none). */
  preset: string;
  tenants: number;
  traffic: TrafficShape;
  /** Coefficient of variation of gamma inter-arrival gaps. */
  cv: number;
  /** Offered load per tenant, as a fraction of capacity (ρ; capacity.ts: work per second). */
  load: number;
  /**
   * Max batch of the capacity the load is set against: 'run' (the run's own, `batch`), or a batch
   * size, so that a run at another batch can offer the same traffic (no-batching: pooled-8's).
   */
  loadBatch: number | 'run';
  /** Max batch (sequences per step). */
  batch: number;
  policy: 'fcfs' | 'fair';
  preempt: 'recompute' | 'none';
  /** Fraction of the KV cache the scheduler may use. */
  kv: number;
  ttft: SloValue;
  tpot: SloValue;
  /** Price preset, or 'custom' (then `price` is the user's). */
  gpu: GpuPriceId | 'custom';
  /** $/GPU-hour. */
  price: number;
  /** How fast the traffic pattern plays (diurnal day, on/off periods); load is kept. */
  speed: number;
  /** Run length, s. */
  duration: number;
  seed: number;
  /** Mean prompt and output tokens of generated requests. */
  prompt: number;
  output: number;
  /** Trace token scale, or 'auto' (the trace's mean request sized like prompt + output). */
  tokenScale: number | 'auto';
  /** Trace URL to fetch (relative to the page); a file chosen on the page is not in the URL. */
  trace: string;
  /** 'live': one run; 'compare': one tenant alone, then all tenants pooled, same duration. */
  mode: 'live' | 'compare';
  /** Start as soon as the engine is calibrated. */
  autoplay: boolean;
  backend: 'auto' | 'gpu' | 'cpu';
  /** Explicit model files (both or neither); default: the shipped model. */
  checkpoint: string;
  tokenizer: string;
}

export const LIMITS = {
  tenants: { min: 1, max: 32 },
  batch: { min: 1, max: 32 },
  load: { min: 0.001, max: 4 },
  cv: { min: 0.1, max: 20 },
  kv: { min: 0.05, max: 1 },
  slo: { min: 0.001, max: 600 },
  price: { min: 0, max: 1000 },
  speed: { min: 0.1, max: 10 },
  duration: { min: 5, max: 3600 },
  seed: { min: 0, max: 2 ** 32 - 1 },
  tokens: { min: 1, max: 4096 },
  tokenScale: { min: 1e-4, max: 100 },
} as const;

export const DEFAULT_STATE: LabState = {
  preset: '',
  tenants: 8,
  traffic: 'gamma',
  cv: 2,
  load: 0.05,
  loadBatch: 'run',
  batch: 16,
  policy: 'fcfs',
  preempt: 'recompute',
  kv: 1,
  ttft: 'auto',
  tpot: 'auto',
  gpu: 'h100',
  price: GPU_PRICES.find((p) => p.id === 'h100')!.dollarsPerGpuHour,
  speed: 1,
  duration: 60,
  seed: 3,
  prompt: 16,
  output: 32,
  tokenScale: 'auto',
  trace: '',
  mode: 'live',
  autoplay: true,
  backend: 'auto',
  checkpoint: '',
  tokenizer: '',
};

export interface Preset {
  id: string;
  label: string;
  /** One sentence for the workshop: what to look at. */
  lesson: string;
  values: Partial<LabState>;
}

// Loads (ρ per tenant) are set with margin from the thresholds each lesson is not about, in the
// shared definition of capacity (capacity.ts), so they hold on any device: pooled tenants offer
// 0.4 in total (well below the 85% where tails explode, even at CV 2); overload offers 1.6 (still
// an overload on a device that runs 30% faster than it calibrated, as a busy machine's can);
// no-batching offers pooled-8's traffic.
// tests/lab/presets.solo.test.ts runs the lessons through `lab run`.
export const PRESETS: readonly Preset[] = [
  {
    id: 'alone',
    label: '1 tenant alone',
    lesson: 'One bursty customer on its own GPU: most of the time the GPU waits, and every idle second is paid for.',
    values: { tenants: 1, traffic: 'gamma', cv: 2, load: 0.05 },
  },
  {
    id: 'pooled-8',
    label: '8 tenants pooled',
    lesson: 'Eight such customers share one GPU: their bursts interleave, batches fill, and the cost of a token falls.',
    values: { tenants: 8, traffic: 'gamma', cv: 2, load: 0.05 },
  },
  {
    id: 'compare',
    label: 'Alone vs pooled',
    lesson: 'The same GPU runs one tenant alone, then eight pooled, for the same time: compare utilization and cost side by side.',
    values: { tenants: 8, traffic: 'gamma', cv: 2, load: 0.05, mode: 'compare', duration: 30 },
  },
  {
    id: 'bursty',
    label: 'Bursty tenants',
    lesson: 'On/off tenants: each is idle three quarters of the time; pooled, their bursts mostly miss each other.',
    values: { tenants: 8, traffic: 'onoff', load: 0.05 },
  },
  {
    id: 'diurnal',
    label: 'Time zones',
    lesson: 'Diurnal tenants in different time zones (a day plays in a minute): their peaks fall at different times.',
    values: { tenants: 8, traffic: 'diurnal', load: 0.05 },
  },
  {
    id: 'overload',
    label: 'Overload past 85%',
    lesson: 'Offered load above 85% of capacity: utilization is high, but queues grow and tail latency explodes.',
    values: { tenants: 8, traffic: 'poisson', load: 0.2 },
  },
  {
    id: 'no-batching',
    label: 'No batching',
    lesson: 'The pooled traffic with max batch 1: one sequence per step, so the GPU cannot keep up and latency climbs.',
    values: { tenants: 8, traffic: 'gamma', cv: 2, load: 0.05, loadBatch: 16, batch: 1 },
  },
];

export const DEFAULT_PRESET = 'pooled-8';

export function presetById(id: string): Preset | undefined {
  return PRESETS.find((p) => p.id === id);
}

/** The state a preset stands for (defaults plus its values). */
export function presetState(id: string): LabState {
  const p = presetById(id);
  if (!p) throw new RangeError(`unknown preset '${id}'`);
  return { ...DEFAULT_STATE, ...p.values, preset: id };
}

const PRICE_IDS = GPU_PRICES.map((p) => p.id);

/**
 * Parses the lab's URL query; never throws: bad values are listed in `errors`. `strict`
 * (the command line, which refuses them): the messages name `--set` and no fallback.
 */
export function parseLabState(search: string, options: { strict?: boolean } = {}): { state: LabState; errors: string[] } {
  const q = new URLSearchParams(search);
  const errors: string[] = [];
  const strict = options.strict === true;
  const bad = (pair: string, expected: string, using: string) =>
    strict ? `--set ${pair}: expected ${expected}` : `URL parameter "${pair}" is invalid: expected ${expected}; using ${using}.`;
  let state: LabState;
  const presetRaw = q.get('preset');
  // No parameters at all: the default preset.
  const hasSettings = [...q.keys()].some((k) => k !== 'view' && k !== 'preset');
  if (presetRaw !== null && presetRaw !== '') {
    if (presetById(presetRaw)) state = presetState(presetRaw);
    else {
      errors.push(bad(`preset=${presetRaw}`, `one of ${PRESETS.map((p) => p.id).join(', ')}`, DEFAULT_PRESET));
      state = presetState(DEFAULT_PRESET);
    }
  } else state = hasSettings ? { ...DEFAULT_STATE } : presetState(DEFAULT_PRESET);

  const fallback = (v: unknown): string => (typeof v === 'number' ? `${+v.toPrecision(6)}` : String(v));
  const num = (key: string, field: keyof LabState, lim: { min: number; max: number }, integer: boolean, allow?: string): void => {
    const raw = q.get(key);
    if (raw === null) return;
    if (allow !== undefined && raw === allow) {
      (state as unknown as Record<string, unknown>)[field] = allow;
      return;
    }
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < lim.min || n > lim.max) {
      const what = `${integer ? 'an integer' : 'a number'} from ${lim.min} to ${lim.max}${allow ? ` or '${allow}'` : ''}`;
      errors.push(bad(`${key}=${raw}`, what, fallback(state[field])));
      return;
    }
    (state as unknown as Record<string, unknown>)[field] = n;
  };
  const choice = <K extends keyof LabState>(key: string, field: K, choices: readonly string[]): void => {
    const raw = q.get(key);
    if (raw === null) return;
    if (choices.includes(raw)) (state as unknown as Record<string, unknown>)[field] = raw;
    else errors.push(bad(`${key}=${raw}`, `one of ${choices.join(', ')}`, fallback(state[field])));
  };

  num('tenants', 'tenants', LIMITS.tenants, true);
  choice('traffic', 'traffic', TRAFFIC_SHAPES);
  num('cv', 'cv', LIMITS.cv, false);
  num('load', 'load', LIMITS.load, false);
  num('loadbatch', 'loadBatch', LIMITS.batch, true, 'run');
  num('batch', 'batch', LIMITS.batch, true);
  choice('policy', 'policy', ['fcfs', 'fair']);
  choice('preempt', 'preempt', ['recompute', 'none']);
  num('kv', 'kv', LIMITS.kv, false);
  num('ttft', 'ttft', LIMITS.slo, false, 'auto');
  num('tpot', 'tpot', LIMITS.slo, false, 'auto');
  choice('gpu', 'gpu', [...PRICE_IDS, 'custom']);
  if (state.gpu !== 'custom') state.price = GPU_PRICES.find((p) => p.id === state.gpu)!.dollarsPerGpuHour;
  if (q.get('price') !== null) {
    const before = state.price;
    num('price', 'price', LIMITS.price, false);
    // A price of its own makes the price custom (unless it is the preset's own figure).
    if (state.price !== before || q.get('gpu') === 'custom') state.gpu = 'custom';
  }
  num('speed', 'speed', LIMITS.speed, false);
  num('duration', 'duration', LIMITS.duration, false);
  num('seed', 'seed', LIMITS.seed, true);
  num('prompt', 'prompt', LIMITS.tokens, true);
  num('output', 'output', LIMITS.tokens, true);
  num('tokenscale', 'tokenScale', LIMITS.tokenScale, false, 'auto');
  const trace = q.get('trace');
  if (trace !== null) state.trace = trace;
  choice('mode', 'mode', ['live', 'compare']);
  const autoplay = q.get('autoplay');
  if (autoplay !== null) {
    if (autoplay === '1' || autoplay === '0') state.autoplay = autoplay === '1';
    else errors.push(bad(`autoplay=${autoplay}`, '1 or 0', String(state.autoplay ? 1 : 0)));
  }
  choice('backend', 'backend', ['auto', 'gpu', 'cpu']);
  const ck = q.get('checkpoint');
  const tk = q.get('tokenizer');
  if ((ck === null) !== (tk === null)) errors.push(
      strict ? '--set checkpoint=… and --set tokenizer=… go together: give both, or neither for the shipped model' : 'URL parameters "checkpoint" and "tokenizer" must be given together; using the shipped model.',
    );
  else if (ck !== null && tk !== null) {
    state.checkpoint = ck;
    state.tokenizer = tk;
  }
  if (state.traffic === 'trace' && state.trace === '') {
    // Not an error: the page asks for a file.
  }
  return { state, errors };
}

/** URL keys in the order they are written, with the state field each stands for. */
const KEYS: [string, keyof LabState][] = [
  ['tenants', 'tenants'],
  ['traffic', 'traffic'],
  ['cv', 'cv'],
  ['load', 'load'],
  ['loadbatch', 'loadBatch'],
  ['batch', 'batch'],
  ['policy', 'policy'],
  ['preempt', 'preempt'],
  ['kv', 'kv'],
  ['ttft', 'ttft'],
  ['tpot', 'tpot'],
  ['gpu', 'gpu'],
  ['price', 'price'],
  ['speed', 'speed'],
  ['duration', 'duration'],
  ['seed', 'seed'],
  ['prompt', 'prompt'],
  ['output', 'output'],
  ['tokenscale', 'tokenScale'],
  ['trace', 'trace'],
  ['mode', 'mode'],
  ['autoplay', 'autoplay'],
  ['backend', 'backend'],
  ['checkpoint', 'checkpoint'],
  ['tokenizer', 'tokenizer'],
];

/** The URL keys parseLabState reads besides `view` and `preset`, in the order they are written. */
export const LAB_URL_KEYS: readonly string[] = KEYS.map(([k]) => k);

/** The max batch of the capacity a state's load is set against. */
export function loadBatchOf(state: Pick<LabState, 'loadBatch' | 'batch'>): number {
  return state.loadBatch === 'run' ? state.batch : state.loadBatch;
}

/**
 * The query string for a state: `view=lab`, the preset, and every value that differs from the
 * preset's (or, without a preset, from the defaults). parseLabState(serializeLabState(s)) == s.
 */
export function serializeLabState(state: LabState): string {
  const q = new URLSearchParams();
  q.set('view', 'lab');
  const base = state.preset && presetById(state.preset) ? presetState(state.preset) : { ...DEFAULT_STATE };
  if (state.preset && presetById(state.preset)) q.set('preset', state.preset);
  for (const [key, field] of KEYS) {
    const v = state[field];
    // A preset price is named by `gpu`; only a custom one is written as a number.
    if (field === 'price') {
      if (state.gpu === 'custom') q.set(key, String(v));
      continue;
    }
    if (v === base[field]) continue;
    if (field === 'checkpoint' || field === 'tokenizer') {
      if (state.checkpoint && state.tokenizer) q.set(key, String(v));
      continue;
    }
    q.set(key, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  // Without a preset the defaults apply only when some setting is present: keep one so the
  // link does not fall back to the default preset.
  if (!q.has('preset') && [...q.keys()].length === 1) q.set('tenants', String(state.tenants));
  return q.toString();
}

/** The price's label, with what kind of assumption it is. */
export function priceLabel(state: Pick<LabState, 'gpu' | 'price'>): string {
  if (state.gpu === 'custom') return `custom: $${state.price}/GPU-hour (your assumption)`;
  const p = GPU_PRICES.find((g) => g.id === state.gpu)!;
  return `${p.label}: $${p.dollarsPerGpuHour}/GPU-hour (assumption: ${p.kind}, ${p.asOf})`;
}

/** Two states run the same experiment (the run must restart when they do not). */
export function sameExperiment(a: LabState, b: LabState): boolean {
  const keys: (keyof LabState)[] = [
    'tenants', 'traffic', 'cv', 'load', 'loadBatch', 'batch', 'policy', 'preempt', 'kv', 'speed', 'duration',
    'seed', 'prompt', 'output', 'tokenScale', 'trace', 'mode', 'backend', 'checkpoint', 'tokenizer',
  ];
  return keys.every((k) => a[k] === b[k]);
}
