// `lab run [--preset NAME] [--set key=value ...] [--seconds S] [--out FILE]`: runs one lab
// experiment (any preset, any URL state) in Node, with the page's own steps (src/lab/session.ts):
// calibrate, set the load, replay the tenants against the live engine, and write the page's JSON
// export. Every setting is checked before the model is opened; a bad one stops the command with a
// message naming it. The summary goes to stdout, progress to stderr.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, floatArg } from './args.js';
import { openModel, type OpenedModel } from './model-files.js';
import type { Calibration } from '../lab/calibrate.js';
import { runJson } from '../lab/export.js';
import type { Figures } from '../lab/metrics.js';
import { anchorBatches, calibrationBatch, calibrationCovers, exportObject, runSession, startProblems, type SessionResult } from '../lab/session.js';
import { DEFAULT_PRESET, LAB_URL_KEYS, LIMITS, PRESETS, parseLabState, serializeLabState, type LabState } from '../lab/state.js';
import { fmt } from '../lab/traffic.js';
import { parseTraceAuto } from '../traffic/auto.js';
import type { Trace } from '../traffic/types.js';

export const RUN_USAGE = `  run [--preset NAME] [--set KEY=VALUE ...] [--seconds S] [--calibration FILE] [--out FILE] [--quiet]
      Runs a lab experiment on this machine's GPU in Node (Dawn; SwiftShader where there is no GPU;
      the CPU reference with --set backend=cpu, or with backend=auto when no adapter is found):
      calibrates, offers the preset's traffic to the live engine for S seconds, prints the figures,
      and writes the page's JSON export with --out. mode=compare runs one tenant alone, then all.
      --preset NAME   ${PRESETS.map((p) => p.id).join(', ')} (default ${DEFAULT_PRESET})
      --set KEY=VALUE a lab setting by its URL key (repeatable): ${LAB_URL_KEYS.filter((k) => k !== 'autoplay').join(', ')};
                      trace, checkpoint and tokenizer are file paths here
      --seconds S     run length (each half of a comparison), ${LIMITS.duration.min} to ${LIMITS.duration.max} (default: the preset's)
      --calibration FILE
                      reuses the calibration of a lab export (the page's Export JSON, or --out's):
                      the same capacity, SLOs and traffic as that run, instead of measuring again
      --out FILE      writes the page's JSON export of the run
      --quiet         no progress on stderr`;

/** What the command runs on; tests pass an opened model and keep the calibration between runs. */
export interface LabRunDeps {
  open?: (state: LabState) => Promise<OpenedModel>;
  /** Read and filled: a calibration that covers the next run on the same backend is reused. */
  cache?: { calibration?: Calibration };
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

/** The state of --preset, --set and --seconds; throws a UsageError naming the first bad option. */
export function labRunState(values: { preset?: string; set?: string[]; seconds?: string }): LabState {
  const q = new URLSearchParams();
  const preset = values.preset ?? DEFAULT_PRESET;
  if (!PRESETS.some((p) => p.id === preset)) throw new UsageError(`--preset ${preset}: expected one of ${PRESETS.map((p) => p.id).join(', ')}`);
  q.set('preset', preset);
  const seen = new Set<string>();
  for (const kv of values.set ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--set takes KEY=VALUE, got "${kv}"`);
    const key = kv.slice(0, i);
    if (key === 'preset') throw new UsageError('--set preset=…: use --preset');
    if (!LAB_URL_KEYS.includes(key)) throw new UsageError(`--set ${kv}: unknown key "${key}" (keys: ${LAB_URL_KEYS.join(', ')})`);
    if (seen.has(key)) throw new UsageError(`--set ${key}=… is given twice`);
    seen.add(key);
    q.set(key, kv.slice(i + 1));
  }
  if (values.seconds !== undefined) {
    if (seen.has('duration')) throw new UsageError('--seconds and --set duration=… both set the run length: give one');
    const d = LIMITS.duration;
    q.set('duration', String(floatArg('seconds', values.seconds, d.min, d.min, d.max)));
  }
  const { state, errors } = parseLabState(q.toString(), { strict: true });
  if (errors.length) throw new UsageError(errors.join('; '));
  return state;
}

/** Reads and parses the state's trace file; bad rows are reported, none is dropped silently. */
function readTrace(path: string, log: (s: string) => void): Trace {
  if (!existsSync(path)) throw new UsageError(`--set trace=${path}: file not found`);
  let trace: Trace;
  try {
    trace = parseTraceAuto(readFileSync(path, 'utf8'), path);
  } catch (e) {
    throw new UsageError(`--set trace=${path}: ${(e as Error).message}`);
  }
  const bad = trace.badRows.length;
  log(
    `trace ${path}: ${trace.format}, ${trace.requests.length} requests` +
      (bad ? `; ${bad} bad row${bad === 1 ? '' : 's'} left out (first: line ${trace.badRows[0]!.line}: ${trace.badRows[0]!.reason})` : '') +
      '\n',
  );
  return trace;
}

/** Opens the state's model on its backend; 'auto' falls back to the CPU reference when there is no adapter, and says so. */
async function openFor(state: LabState, log: (s: string) => void): Promise<OpenedModel> {
  const paths = state.checkpoint ? { model: state.checkpoint, tokenizer: state.tokenizer } : {};
  const options = { maxSequences: LIMITS.batch.max };
  if (state.backend === 'cpu') return openModel(paths, 'cpu', options);
  try {
    return await openModel(paths, 'gpu', options);
  } catch (e) {
    if (state.backend === 'gpu') throw e;
    log(`no usable WebGPU adapter (${(e as Error).message}): running on the CPU reference instead\n`);
    return openModel(paths, 'cpu', options);
  }
}

/**
 * The calibration of a lab export (or a bare calibration) from a JSON file, checked enough to use:
 * the page's export carries it under `calibration`.
 */
export function readCalibration(path: string): Calibration {
  if (!existsSync(path)) throw new UsageError(`--calibration ${path}: file not found`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--calibration ${path}: not JSON (${(e as Error).message})`);
  }
  const obj = json as Record<string, unknown> | null;
  const cal = (obj && typeof obj === 'object' && 'calibration' in obj ? obj.calibration : obj) as Partial<Calibration> | null;
  const missing = (['backend', 'maxBatch', 'device', 'stepTime', 'stability'] as const).filter((k) => !cal || typeof cal !== 'object' || cal[k] === undefined || cal[k] === null);
  if (missing.length) throw new UsageError(`--calibration ${path}: no lab calibration in it (missing ${missing.join(', ')}); give a lab export (Export JSON on the page, or lab run --out)`);
  return cal as Calibration;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : 'n/a');
const ms = (v: number) => (Number.isFinite(v) ? `${fmt(v)} ms` : 'n/a');

function figureLines(f: Figures): string[] {
  const m = f.serve;
  return [
    `requests: ${f.arrived} arrived, ${m.completed} completed, ${m.pending} still waiting (oldest ${ms(m.max_pending_age_ms)}), ${m.rejected} rejected, ${m.aborted} aborted; ${f.preempted} preempted`,
    `output tokens/s ${fmt(f.outputTokensPerS)}, all tokens/s ${fmt(f.allTokensPerS)}, mean batch ${fmt(f.meanBatch)}, mean queue ${fmt(f.meanQueueDepth)}`,
    `offered load ${pct(f.offeredLoad)} of capacity; capacity utilization ${pct(f.capacityUtilization)}, time utilization ${pct(f.timeUtilization)}`,
    `TTFT p50 ${ms(m.median_ttft_ms)}, p99 ${ms(m.p99_ttft_ms)} (p99 with the waiting requests ${ms(m.p99_ttft_ms_with_waiting)}); TPOT p50 ${ms(m.median_tpot_ms)}, p99 ${ms(m.p99_tpot_ms)}`,
    `SLO attainment ${pct(m.slo_attainment)} (${pct(m.slo_attainment_with_waiting)} with the waiting requests), goodput ${fmt(m.request_goodput)} req/s; $ per 1M output tokens ${fmt(f.costPerMOutput)}`,
  ];
}

/** The stdout summary of a session. */
export function summary(state: LabState, r: SessionResult, device: string): string {
  const p = r.outcome.prepared;
  const lines = [
    `lab run: ${state.preset || 'custom settings'} for ${state.duration} s on ${device} (settings: ?${serializeLabState(state)})`,
    `calibration: ${r.calibration.stability.verdict}`,
    `capacity: ${p.capacity.sentence()}`,
    `traffic: ${p.plan.description}`,
    `SLOs: TTFT ${fmt(p.slo.ttft)} s, TPOT ${fmt(p.slo.tpot)} s`,
  ];
  if (r.alone && r.comparison) {
    lines.push('', `alone (1 tenant):`, ...figureLines(r.alone.whole).map((l) => `  ${l}`), '', `pooled (${state.tenants} tenants):`);
  } else lines.push('', 'whole run:');
  lines.push(...figureLines(r.outcome.whole).map((l) => `  ${l}`), `calibration check: ${r.outcome.drift.sentence}`);
  return `${lines.join('\n')}\n`;
}

export async function runLabRun(argv: string[], deps: LabRunDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      preset: { type: 'string' },
      set: { type: 'string', multiple: true },
      seconds: { type: 'string' },
      out: { type: 'string' },
      calibration: { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
  if (positionals.length) throw new UsageError(`run takes options only, got "${positionals.join(' ')}"`);
  const stdout = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const stderr = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const log = (s: string) => {
    if (!values.quiet) stderr(s);
  };
  const state = labRunState(values);
  // Everything that can be checked without the device, before it is opened.
  const trace = state.traffic === 'trace' && state.trace ? readTrace(state.trace, log) : undefined;
  const early = startProblems(state, { maxSequences: LIMITS.batch.max }, trace);
  if (early.length) throw new UsageError(early.join('; '));
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out needs a file name');
  const given = values.calibration !== undefined ? readCalibration(values.calibration) : undefined;
  if (given && !calibrationCovers(given, state)) {
    const g: Calibration = given;
    const has = [g.maxBatch, ...(g.anchors ?? []).map((a) => a.batch)].sort((x, y) => x - y).join(', ');
    const needs = [...anchorBatches(state), calibrationBatch(state)].join(', ');
    throw new UsageError(`--calibration ${values.calibration}: it measured up to max batch ${g.maxBatch} (levels at max batch ${has}); this run needs max batch ${needs}`);
  }

  const opened = await (deps.open ?? ((s: LabState) => openFor(s, log)))(state);
  const device = opened.backend.kind === 'gpu' ? `${opened.label} (Dawn)` : opened.label;
  log(`device: ${device}; model ${opened.model.source}\n`);
  try {
    if (given && given.backend !== opened.backend.kind) {
      throw new UsageError(`--calibration ${values.calibration}: it was measured on the ${given.backend} backend; this run is on ${opened.backend.kind}`);
    }
    if (given) log(`calibration from ${values.calibration}: ${given.stability.verdict}\n`);
    const result = await runSession(opened.backend, state, { calibration: given ?? deps.cache?.calibration, trace, onProgress: (l) => log(`${l}\n`) });
    if (deps.cache) deps.cache.calibration = result.calibration;
    stdout(summary(state, result, device));
    if (values.out) {
      const info = { backend: opened.backend.kind, adapter: opened.label, model: { name: opened.model.source, config: opened.model.config }, maxSequences: opened.backend.maxSequences };
      writeFileSync(values.out, `${runJson(exportObject({ outcome: result.outcome, calibration: result.calibration, device: info, comparison: result.comparison }))}\n`);
      log(`wrote ${values.out}\n`);
    }
  } finally {
    // A model the caller opened stays open for its next run.
    if (!deps.open) opened.backend.destroy();
  }
  return 0;
}
