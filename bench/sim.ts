// `npm run bench:sim [-- --out FILE] [--case NAME] [--requests N]`
// How fast the fleet simulator runs, on two cases:
// - azure-conv-8gpu: the Azure LLM conversation trace (19,366 requests, one hour) replayed on 8
//   H100s serving Llama 3.1 8B (roofline), least-loaded router; skipped when the trace is absent.
// - day-1000-tenants: a synthetic day of 1,000 diurnal tenants (time zones UTC−8..+8, lognormal
//   tenant sizes, Azure-conversation-like lengths: prompt mean 1,000, output mean 200, CV 1) —
//   about 1.08 million requests — on a pooled fleet of A100s (Llama 3.1 8B) sized by SLO (the
//   default: the smallest fleet with 99% of requests within TTFT 2 s and TPOT 100 ms),
//   join-shortest-queue. Target: one simulation of the day under 30 s on one core. The SLO search
//   simulates the day at several fleet sizes; it is timed on its own (sizing s, fleets) and the
//   timed run is the day at the size it found.
// Each case runs in its own child process so that its peak RSS is its own. Printed and written
// per case: requests, wall_s, cpu_s, requests_per_s (simulated requests per wall second),
// peak_rss_mb, steps and token-steps (sequence-steps the schedulers planned), and a few of the
// simulation's own figures.
import { parseBenchArgs } from './args.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { intArg } from '../src/cli/args.js';
import { parseAzureCsv } from '../src/traffic/azure.js';
import type { Trace } from '../src/traffic/types.js';
import { runSimulation, table, type SimConfig } from '../src/sim/index.js';
import { AZURE_TRACES } from '../tests/helpers/data.js';

const { values } = parseBenchArgs('bench:sim', {
    out: { type: 'string' },
    case: { type: 'string' },
    requests: { type: 'string' },
    child: { type: 'boolean' },
  });

const AZURE_FILE = 'AzureLLMInferenceTrace_conv.csv';

interface Case {
  name: string;
  describe: string;
  config: () => SimConfig;
  traces?: () => Map<string, Trace> | string;
}

const dayRequests = intArg('requests', values.requests, 1_000_000, 1000);
const CASES: Case[] = [
  {
    name: 'azure-conv-8gpu',
    describe: 'Azure conversation trace (19,366 requests) on 8 × H100, Llama 3.1 8B',
    config: () => ({
      name: 'azure-conv-8gpu',
      stepTime: { kind: 'roofline', gpu: 'h100-sxm', model: 'llama-3.1-8b' },
      scheduler: { maxContext: 16384 },
      slo: { ttft: 1, tpot: 0.05 },
      tenants: [{ name: 'azure-conv', trace: { path: AZURE_FILE } }],
      deployment: { kind: 'pooled', servers: 8, router: 'least-loaded' },
    }),
    traces: () => {
      const file = `${AZURE_TRACES}${AZURE_FILE}`;
      if (!existsSync(file)) return `skipped: ${file} is absent`;
      return new Map([[AZURE_FILE, parseAzureCsv(readFileSync(file, 'utf8'), AZURE_FILE)]]);
    },
  },
  {
    name: 'day-1000-tenants',
    describe: `a day of 1,000 diurnal tenants (~${(dayRequests / 1e6).toFixed(2)}M requests) on a pooled A100 fleet, Llama 3.1 8B`,
    config: () => ({
      name: 'day-1000-tenants',
      seed: 1,
      durationS: 86400,
      stepTime: { kind: 'roofline', gpu: 'a100-80gb', model: 'llama-3.1-8b' },
      slo: { ttft: 2, tpot: 0.1 },
      tenants: [
        {
          name: 't',
          count: 1000,
          // 1000 tenants × rate × 86,400 s ≈ 1.08 × dayRequests.
          arrival: { kind: 'diurnal', rate: (dayRequests * 1.08) / 1000 / 86400, amplitude: 0.8 },
          rateSpread: { cv: 1 },
          tzOffsetH: { min: -8, max: 8 },
          lengths: {
            kind: 'parametric',
            prompt: { kind: 'lognormal', mean: 1000, cv: 1, max: 6000 },
            output: { kind: 'lognormal', mean: 200, cv: 1, max: 1500 },
          },
        },
      ],
      deployment: { kind: 'pooled', servers: 'auto', router: 'jsq' },
    }),
  },
];

interface Row {
  name: string;
  describe: string;
  skipped?: string;
  requests: number;
  tenants: number;
  wall_s: number;
  cpu_s: number;
  requests_per_s: number;
  peak_rss_mb: number;
  steps: number;
  token_steps: number;
  /** Wall seconds of `lab sim` with servers 'auto' (the SLO search, whose last trial is the run), and the fleets it simulated. */
  sizing_s?: number;
  sizing_fleets?: number;
  events: number;
  servers: number;
  time_utilization: number;
  capacity_utilization: number;
  ttft_p99_s: number;
  cost_per_million_output_tokens: number;
}

function runCase(c: Case): Row {
  const traces = c.traces?.();
  const base = { name: c.name, describe: c.describe };
  if (typeof traces === 'string') {
    return { ...base, skipped: traces, requests: 0, tenants: 0, wall_s: 0, cpu_s: 0, requests_per_s: 0, peak_rss_mb: 0, steps: 0, token_steps: 0, events: 0, servers: 0, time_utilization: 0, capacity_utilization: 0, ttft_p99_s: 0, cost_per_million_output_tokens: 0 };
  }
  let config = c.config();
  let sizing: { s: number; fleets: number } | undefined;
  const dep = config.deployment;
  if (dep?.kind === 'pooled' && dep.servers === 'auto') {
    const t = performance.now();
    const sized = runSimulation(config, traces ? { traces } : {});
    const z = sized.pools[0]!.sizing;
    sizing = { s: (performance.now() - t) / 1000, fleets: z?.method === 'slo' ? z.search.trials.length : 0 };
    config = { ...config, deployment: { ...dep, servers: sized.pools[0]!.servers.initial } };
  }
  let tokenSteps = 0;
  const onStep = (s: { batchSize: number }) => {
    tokenSteps += s.batchSize;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = runSimulation(config, traces ? { traces, onStep } : { onStep });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const f = r.fleet;
  return {
    ...base,
    requests: r.workload.requests,
    tenants: r.workload.tenants,
    wall_s: wall,
    cpu_s: (cpu.user + cpu.system) / 1e6,
    requests_per_s: r.workload.requests / wall,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    steps: r.run.steps,
    // Sequences summed over steps: the work the schedulers did (each is O(1) per step).
    token_steps: tokenSteps,
    events: r.run.events,
    servers: f.servers.mean,
    time_utilization: f.timeUtilization,
    capacity_utilization: f.capacityUtilization,
    ttft_p99_s: f.latency.ttft.p99,
    cost_per_million_output_tokens: f.cost.perMillionOutputTokens,
    ...(sizing ? { sizing_s: sizing.s, sizing_fleets: sizing.fleets } : {}),
  };
}

const selected = values.case ? CASES.filter((c) => c.name === values.case) : CASES;
if (selected.length === 0) throw new Error(`--case: no case named ${values.case} (cases: ${CASES.map((c) => c.name).join(', ')})`);

if (values.child) {
  // One case, in this process; the parent reads the JSON line.
  process.stdout.write(`${JSON.stringify(runCase(selected[0]!))}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  const rows: Row[] = [];
  for (const c of selected) {
    process.stderr.write(`${c.name}: ${c.describe}…\n`);
    const args = [...process.execArgv, self, '--child', '--case', c.name];
    if (values.requests) args.push('--requests', values.requests);
    const p = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (p.status !== 0) {
      process.stderr.write(p.stderr);
      throw new Error(`case ${c.name} failed (exit ${p.status})`);
    }
    const row = JSON.parse(p.stdout.trim().split('\n').pop()!) as Row;
    rows.push(row);
    if (row.skipped) process.stderr.write(`  ${row.skipped}\n`);
  }
  const done = rows.filter((r) => !r.skipped);
  const n = (v: number, d = 1) => v.toLocaleString('en-US', { maximumFractionDigits: d });
  process.stdout.write(
    `${table(
      ['case', 'requests', 'wall s', 'cpu s', 'requests/s', 'peak RSS MB', 'steps', 'seq-steps', 'servers', 'time util', 'cap util', 'TTFT p99 s', '$/1M out'],
      done.map((r) => [
        r.name,
        n(r.requests, 0),
        n(r.wall_s, 2),
        n(r.cpu_s, 2),
        n(r.requests_per_s, 0),
        n(r.peak_rss_mb, 0),
        n(r.steps, 0),
        n(r.token_steps, 0),
        n(r.servers, 1),
        `${n(100 * r.time_utilization)}%`,
        `${n(100 * r.capacity_utilization)}%`,
        n(r.ttft_p99_s, 3),
        n(r.cost_per_million_output_tokens, 3),
      ]),
    )}\n`,
  );
  const day = done.find((r) => r.name === 'day-1000-tenants');
  if (day) {
    process.stdout.write(
      `million-request day: ${n(day.wall_s, 1)} s wall (${n(day.cpu_s, 1)} s CPU) for one simulation at ${n(day.servers, 0)} servers, against the 30 s target: ${day.wall_s < 30 ? 'met' : 'NOT met'}` +
        (day.sizing_s !== undefined ? `; sizing it by SLO took ${n(day.sizing_s, 1)} s (${day.sizing_fleets} fleets simulated, the last one kept as the run)` : '') +
        '\n',
    );
  }
  if (values.out) {
    const out = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cases: rows };
    writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
    process.stderr.write(`wrote ${values.out}\n`);
  }
}
