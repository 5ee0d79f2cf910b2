// Two real customers: the Azure LLM inference traces of November 2023 (code and conversation,
// one hour each, recorded over the same hour) served reserved (a fleet for each, sized by SLO for
// that customer alone) against pooled (one fleet, sized by SLO for both). Every figure comes from
// replaying the traces' own arrivals and token counts through the simulator; nothing is scaled.
//
// Inputs and their sources:
// - traffic: ../shared/data/traces/azure-llm-2023 (Patel et al., "Splitwise", ISCA 2024; Azure
//   Public Dataset, CC-BY 4.0): code 8,819 requests (inter-arrival CV ~13, its busiest second 26×
//   its mean), conversation 19,366 (CV ~1.1). Both traces are placed on one clock (their recorded
//   timestamps), so their bursts coincide as they did.
// - SLO: TTFT ≤ 2 s and TPOT ≤ 100 ms for 99% of requests (the sizing default of DESIGN.md; a
//   stated assumption, the same for both customers and both deployments).
// - hardware: the roofline step-time model of a named GPU and model (default Llama 3.1 8B on one
//   H100 SXM; 70B takes tp 2–4), priced by the econ presets.
// The data folder is $MULTIPLEX_DATA, else ../shared/data beside the repository or the current
// folder; where the traces are absent the scenario says so in one sentence and runs nothing.
import { azureTimestampSeconds, parseAzureCsv } from '../../traffic/azure.js';
import type { Trace } from '../../traffic/types.js';
import type { Experiment } from '../claims.js';
import type { SimConfig } from '../config.js';
import { num, secs, table } from '../report.js';
import type { SimResult } from '../run.js';
import { registerScenario, type Scenario } from '../scenarios.js';
import { GPU_PARAM, MODEL_PARAM, params, pctText, roofline } from './common.js';

const AZURE_DIR = 'traces/azure-llm-2023';
const AZURE_FILES = { code: 'AzureLLMInferenceTrace_code.csv', conversation: 'AzureLLMInferenceTrace_conv.csv' } as const;

/** Which two customers: the two real traces, or one trace twice (controls for the multiplexing check). */
const PAIRS = {
  'code+conversation': 'the code and the conversation trace, on their recorded clock',
  'code+code': 'the code trace twice, perfectly aligned (a control: no multiplexing gain beyond rounding)',
  'code+code-shifted': 'the code trace twice, the second copy rotated by half the run (the same traffic, its bursts no longer aligned)',
} as const;
export type Pair = keyof typeof PAIRS;

interface AzureParams {
  customers: Pair;
  minutes: number;
  ttftSlo: number;
  tpotSlo: number;
  sloTarget: number;
  gpu: string;
  model: string;
}

/** The two parsed traces and where each starts on the common clock (s after the earlier one). */
interface AzureTraces {
  dir: string;
  code: Trace;
  conversation: Trace;
  offsetS: { code: number; conversation: number };
}

type NodeFs = typeof import('node:fs');
type NodePath = typeof import('node:path');
type NodeUrl = typeof import('node:url');

/** node:fs, path and url where the scenario runs in Node (none in a browser: no data folder there). */
function nodeModules(): { fs: NodeFs; path: NodePath; url: NodeUrl; process: NodeJS.Process } | null {
  const p = (globalThis as { process?: NodeJS.Process }).process;
  if (typeof p?.getBuiltinModule !== 'function') return null;
  return { fs: p.getBuiltinModule('node:fs'), path: p.getBuiltinModule('node:path'), url: p.getBuiltinModule('node:url'), process: p };
}

/** Folders searched for the shared data, in order. */
function dataDirCandidates(): string[] {
  const m = nodeModules();
  if (!m) return [];
  const env = m.process.env.MULTIPLEX_DATA;
  if (env) return [m.path.resolve(env)];
  const repo = m.path.resolve(m.path.dirname(m.url.fileURLToPath(import.meta.url)), '../../..');
  const out = [m.path.resolve(repo, '../shared/data'), m.path.resolve(m.process.cwd(), '../shared/data')];
  return [...new Set(out)];
}

const loaded = new Map<string, AzureTraces>();

/** The first data row's TIMESTAMP, epoch seconds (the parser's arrivals are relative to it). */
function firstTimestamp(text: string, file: string): number {
  const lines = text.split('\n', 3);
  const row = lines[1];
  if (!row) throw new Error(`${file}: no data rows`);
  return azureTimestampSeconds(row.slice(0, row.indexOf(',')).replace(/"/g, ''));
}

/**
 * Loads the two traces from the first candidate folder that holds both; a sentence saying where
 * they were looked for when none does.
 */
function loadAzureTraces(dirs: readonly string[] = dataDirCandidates()): AzureTraces | string {
  const m = nodeModules();
  if (!m) return 'The Azure traces are read from a data folder, which this environment (a browser) does not have: run `npm run lab -- sim azure-two-customers` in the repository.';
  for (const dir of dirs) {
    const files = { code: m.path.join(dir, AZURE_DIR, AZURE_FILES.code), conversation: m.path.join(dir, AZURE_DIR, AZURE_FILES.conversation) };
    if (!m.fs.existsSync(files.code) || !m.fs.existsSync(files.conversation)) continue;
    const hit = loaded.get(dir);
    if (hit) return hit;
    const text = { code: m.fs.readFileSync(files.code, 'utf8'), conversation: m.fs.readFileSync(files.conversation, 'utf8') };
    const code = parseAzureCsv(text.code, files.code);
    const conversation = parseAzureCsv(text.conversation, files.conversation);
    for (const t of [code, conversation]) {
      if (t.badRows.length > 0) throw new Error(`${t.source}: ${t.badRows.length} bad rows (first: line ${t.badRows[0]!.line}, ${t.badRows[0]!.reason})`);
    }
    const t0 = { code: firstTimestamp(text.code, files.code), conversation: firstTimestamp(text.conversation, files.conversation) };
    const start = Math.min(t0.code, t0.conversation);
    const out: AzureTraces = { dir, code, conversation, offsetS: { code: t0.code - start, conversation: t0.conversation - start } };
    loaded.set(dir, out);
    return out;
  }
  return `The Azure LLM inference traces (${AZURE_DIR}/${AZURE_FILES.code} and ${AZURE_FILES.conversation}) are not in ${dirs.length ? dirs.join(' or ') : 'any data folder'}; set MULTIPLEX_DATA to the folder that holds ${AZURE_DIR} to run this scenario.`;
}

/** Requests of `t` placed `offsetS` later, those before `cutS` (arrival order kept), and the span they cover. */
function slice(t: Trace, offsetS: number, cutS: number, label: string, rotateS = 0): Trace {
  const requests = [];
  for (const r of t.requests) {
    let a = r.arrival + offsetS;
    if (a >= cutS) continue;
    if (rotateS > 0) a = (a + rotateS) % cutS;
    requests.push({ ...r, arrival: a });
  }
  if (rotateS > 0) requests.sort((x, y) => x.arrival - y.arrival);
  return { source: `${t.source} (${label})`, format: t.format, requests, badRows: [], durationS: cutS };
}

interface AzureWorkload {
  /** The run's traces, by the path the config's tenants name. */
  traces: Map<string, Trace>;
  /** Pooled and reserved configs over the same two customers. */
  pooled: SimConfig;
  reserved: SimConfig;
  durationS: number;
}

/** The two customers of `p.customers` over the first `p.minutes` of the common clock, as configs. */
function azureWorkload(data: AzureTraces, p: AzureParams, seed: number): AzureWorkload {
  const end = Math.max(
    data.offsetS.code + (data.code.requests.at(-1)?.arrival ?? 0),
    data.offsetS.conversation + (data.conversation.requests.at(-1)?.arrival ?? 0),
  );
  const cut = Math.min(p.minutes * 60, end + 1e-6);
  const span = `first ${num(cut / 60)} min`;
  const traces = new Map<string, Trace>();
  const add = (name: string, t: Trace, offsetS: number, rotateS = 0): { name: string; trace: { path: string } } => {
    const path = `${name}: ${span}`;
    traces.set(path, slice(t, offsetS, cut, span, rotateS));
    return { name, trace: { path } };
  };
  const tenants =
    p.customers === 'code+conversation'
      ? [add('code', data.code, data.offsetS.code), add('conversation', data.conversation, data.offsetS.conversation)]
      : [add('code-a', data.code, 0), add('code-b', data.code, 0, p.customers === 'code+code-shifted' ? cut / 2 : 0)];
  const sizing = { method: 'slo' as const, sloTarget: p.sloTarget };
  const common: SimConfig = {
    name: 'azure-two-customers',
    seed,
    durationS: cut,
    warmupS: 0,
    stepTime: roofline(p.gpu, p.model),
    slo: { ttft: p.ttftSlo, tpot: p.tpotSlo },
    tenants,
    report: { tenantRows: 'all' },
  };
  return {
    traces,
    durationS: cut,
    pooled: { ...common, deployment: { kind: 'pooled', servers: 'auto', router: 'jsq', sizing } },
    reserved: { ...common, deployment: { kind: 'reserved', router: 'jsq', sizing } },
  };
}

/** One column of the reserved-vs-pooled table. */
interface Column {
  label: string;
  servers: number;
  gpus: number;
  perMillionOutput: number;
  perMillionAll: number;
  capacityUtilization: number;
  timeUtilization: number;
  attainment: number;
  /** SLO attainment with one server fewer (the sizing search's N − 1), where searched. */
  attainmentBelow: number | null;
  ttftP99S: number;
  tpotP99S: number;
}

function columns(reserved: SimResult, pooled: SimResult): Column[] {
  const cols: Column[] = reserved.pools.map((p, i) => {
    const t = reserved.tenants.rows[i]!;
    const search = p.sizing?.method === 'slo' ? p.sizing.search : undefined;
    return {
      label: `${p.name} alone`,
      servers: p.servers.mean,
      gpus: p.servers.mean * p.gpusPerServer,
      perMillionOutput: p.cost.perMillionOutputTokens,
      perMillionAll: p.cost.perMillionAllTokens,
      capacityUtilization: p.capacityUtilization,
      timeUtilization: p.timeUtilization,
      attainment: t.sloAttainment ?? NaN,
      attainmentBelow: search?.below?.attainment ?? null,
      ttftP99S: t.ttftP99S,
      tpotP99S: NaN,
    };
  });
  const whole = (label: string, r: SimResult): Column => {
    const search = r.pools.length === 1 && r.pools[0]!.sizing?.method === 'slo' ? r.pools[0]!.sizing.search : undefined;
    return {
      label,
      servers: r.fleet.servers.mean,
      gpus: r.fleet.gpus.mean,
      perMillionOutput: r.fleet.cost.perMillionOutputTokens,
      perMillionAll: r.fleet.cost.perMillionAllTokens,
      capacityUtilization: r.fleet.capacityUtilization,
      timeUtilization: r.fleet.timeUtilization,
      attainment: r.fleet.slo?.attainment ?? NaN,
      attainmentBelow: search?.below?.attainment ?? null,
      ttftP99S: r.fleet.latency.ttft.p99,
      tpotP99S: r.fleet.latency.tpot.p99,
    };
  };
  cols.push(whole('reserved (both)', reserved), whole('pooled', pooled));
  return cols;
}

/** The reserved-vs-pooled table: one column per fleet, one row per figure. */
function formatAzureTable(cols: readonly Column[]): string {
  const row = (name: string, f: (c: Column) => string): string[] => [name, ...cols.map(f)];
  return table(
    ['', ...cols.map((c) => c.label)],
    [
      row('servers', (c) => num(c.servers)),
      row('GPUs', (c) => num(c.gpus)),
      row('$ per 1M output tokens', (c) => `$${num(c.perMillionOutput)}`),
      row('$ per 1M tokens (all)', (c) => `$${num(c.perMillionAll)}`),
      row('capacity utilization', (c) => pctText(c.capacityUtilization)),
      row('time utilization', (c) => pctText(c.timeUtilization)),
      row('SLO attainment', (c) => pctText(c.attainment)),
      row('  with one server fewer', (c) => (c.attainmentBelow === null ? '—' : pctText(c.attainmentBelow))),
      row('p99 TTFT', (c) => secs(c.ttftP99S)),
      row('p99 TPOT', (c) => (Number.isFinite(c.tpotP99S) ? secs(c.tpotP99S) : '—')),
    ],
  );
}

function defaults(ex: Experiment): AzureParams {
  return {
    customers: ex.str('customers') as Pair,
    minutes: ex.num('minutes'),
    ttftSlo: ex.num('ttftSlo'),
    tpotSlo: ex.num('tpotSlo'),
    sloTarget: ex.num('sloTarget'),
    gpu: ex.str('gpu'),
    model: ex.str('model'),
  };
}

const azure: Scenario = {
  name: 'azure-two-customers',
  title: 'Two real customers (Azure code and conversation traces): a fleet each against one pooled fleet, both sized by SLO',
  claim:
    'Pooling customers onto one fleet needs no more GPUs than a fleet for each and runs at a higher capacity utilization, because their bursts share headroom (statistical multiplexing).',
  lesson: 'The code customer bursts to 26× its mean within a second: alone it must keep servers idle for its bursts; pooled, the conversation traffic fills them.',
  params: [
    { key: 'customers', label: 'Customers', kind: 'choice', options: Object.keys(PAIRS), default: 'code+conversation' },
    { key: 'minutes', label: 'Minutes of trace', hint: 'from the start of the common clock; 60 = all of both traces', kind: 'number', min: 1, max: 60, default: 60, reduced: 10 },
    { key: 'ttftSlo', label: 'TTFT SLO (s)', kind: 'number', min: 0.05, max: 60, default: 2 },
    { key: 'tpotSlo', label: 'TPOT SLO (s)', kind: 'number', min: 0.005, max: 10, default: 0.1 },
    { key: 'sloTarget', label: 'SLO attainment target', hint: 'fraction of requests within both SLOs', kind: 'number', min: 0.5, max: 0.9999, default: 0.99 },
    GPU_PARAM,
    MODEL_PARAM,
  ],
  config: (o = {}) => {
    const p = params<AzureParams>(azure, o);
    const data = loadAzureTraces();
    if (typeof data === 'string') throw new Error(data);
    return azureWorkload(data, p, o.seed ?? 1).pooled;
  },
  run(ex) {
    const p = defaults(ex);
    const data = loadAzureTraces();
    if (typeof data === 'string') {
      ex.unavailable(data);
      return;
    }
    const w = azureWorkload(data, p, ex.seed);
    const inputs = { traces: w.traces };
    ex.plan(2);
    const reserved = ex.simulate('reserved: a fleet for each customer, each sized by SLO', w.reserved, true, inputs);
    const pooled = ex.simulate('pooled: one fleet for both, sized by SLO', w.pooled, true, inputs);
    const cols = columns(reserved, pooled);
    const T = reserved.pools.length;
    const rGpus = reserved.fleet.gpus.mean;
    const pGpus = pooled.fleet.gpus.mean;
    const saved = reserved.fleet.servers.mean - pooled.fleet.servers.mean;

    ex.check({
      id: 'gpus',
      claim: 'pooling needs no more GPUs than a fleet for each customer',
      figure: 'pooled GPUs ÷ reserved GPUs (both sized by SLO)',
      simulated: pGpus / rGpus,
      high: 1,
      unit: 'ratio',
      note: `${num(pGpus)} pooled against ${num(rGpus)} reserved; the issue measured 25–33% fewer GPUs pooled (0.67–0.75×).`,
    });
    ex.check({
      id: 'utilization',
      claim: 'the pooled fleet runs at the higher capacity utilization',
      figure: 'pooled ÷ reserved capacity utilization',
      simulated: pooled.fleet.capacityUtilization / reserved.fleet.capacityUtilization,
      low: 1,
      lowOpen: true,
      unit: 'ratio',
      note: `${pctText(pooled.fleet.capacityUtilization)} pooled against ${pctText(reserved.fleet.capacityUtilization)} reserved (work served ÷ billed GPU-seconds).`,
    });
    ex.check({
      id: 'multiplexing',
      claim: 'the saving is statistical multiplexing, not whole-server rounding',
      figure: `servers saved by pooling ${T} customers`,
      simulated: saved,
      low: T,
      unit: 'number',
      note:
        `Each reserved fleet rounds its need up to whole servers and the pool rounds once, so pooling customers whose bursts coincide saves at most ${T - 1} (${T} − 1) server${T - 1 === 1 ? '' : 's'}; ` +
        `${T} or more means their bursts share headroom.`,
    });

    ex.note(`Reserved against pooled (${PAIRS[p.customers]}; first ${num(w.durationS / 60)} min):\n${formatAzureTable(cols)}`);
    if (p.customers === 'code+conversation') {
      const row = pooled.tenants.rows;
      ex.note(
        `In the pooled fleet each customer's SLO attainment: ${row.map((r) => `${r.name} ${pctText(r.sloAttainment ?? NaN)}`).join(', ')} (the pool is sized for ${pctText(p.sloTarget)} over all requests; a reserved fleet for its own).`,
      );
    }
    ex.note(
      `Traffic: ${PAIRS[p.customers]}, replayed as recorded (arrivals and token counts unscaled), from ${data.dir}/${AZURE_DIR} (Patel et al., Splitwise, ISCA 2024; Azure Public Dataset, CC-BY 4.0)` +
        (p.customers === 'code+conversation' ? `; the code trace starts ${num(data.offsetS.code)} s after the conversation trace on their recorded clock.` : '.'),
    );
    ex.note(
      `Sizing: both deployments by the same rule, the smallest fleet where ${pctText(p.sloTarget)} of requests meet TTFT ≤ ${secs(p.ttftSlo)} and TPOT ≤ ${secs(p.tpotSlo)} (an assumption stated here, not the report's); reserved sizes each customer alone. ` +
        `Hardware: ${p.model} on ${p.gpu} (roofline step-time model, tp ${reserved.pools[0]!.gpusPerServer}), join-shortest-queue routing, no warm-up left out.`,
    );
  },
};

registerScenario(azure);
