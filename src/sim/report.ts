// Plain-text tables of a simulation result and of a sweep, for the CLI (and anything else that
// prints): fixed-width columns, numbers with a sensible number of digits, "—" for a missing one.
import type { SimResult } from './run.js';
import type { SweepResult } from './sweep.js';

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** A number for a table: 3–4 significant digits, thousands kept whole; "—" when not finite. */
export function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a === 0) return '0';
  return String(+v.toPrecision(digits));
}

export const pct = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(digits)}%`;

/** Seconds as ms below 1 s. */
export function secs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v < 1 ? `${num(v * 1000)} ms` : `${num(v)} s`;
}

export function formatResult(r: SimResult, options: { tenantRows?: number; poolRows?: number } = {}): string {
  const out: string[] = [];
  const f = r.fleet;
  const w = r.workload;
  out.push(`${r.name ?? 'simulation'} — ${r.deployment}, seed ${r.seed}`);
  out.push(
    `workload: ${w.requests.toLocaleString('en-US')} requests from ${w.tenants} tenant${w.tenants === 1 ? '' : 's'} over ${num(w.durationS)} s; ` +
      `mean prompt ${num(w.meanPrompt)}, output ${num(w.meanOutput)} tokens; offered ${num(w.offeredOutputTokensPerS)} output tokens/s, ` +
      `${num(w.offeredWorkServers)} servers of work (offered load ${pct(w.offeredLoad)} of the initial servers)`,
  );
  const models = [...new Set(r.pools.map((p) => p.stepTime))];
  out.push(`step time: ${models.slice(0, 3).join('; ')}${models.length > 3 ? ` (+${models.length - 3} more)` : ''}`);
  for (const n of w.notes) out.push(`note: ${n}`);
  out.push(`measured span: [${num(r.span.t0)}, ${num(r.span.t1)}) s; ${r.run.events.toLocaleString('en-US')} events, ${r.run.steps.toLocaleString('en-US')} steps`);
  for (const line of sizingLines(r)) out.push(line);
  out.push('');

  out.push(
    table(
      ['fleet', 'value'],
      [
        ['servers (mean / peak)', `${num(f.servers.mean)} / ${num(f.servers.peak)}`],
        ['GPUs (mean / peak)', `${num(f.gpus.mean)} / ${num(f.gpus.peak)}`],
        ['time utilization (busy ÷ billed)', pct(f.timeUtilization)],
        ['capacity utilization (work ÷ billed)', pct(f.capacityUtilization)],
        ['output tokens/s', num(f.outputTokensPerS)],
        ['all tokens/s', num(f.allTokensPerS)],
        ['cost', `$${num(f.cost.dollars)} for ${num(f.gpuHours)} GPU-hours`],
        ['$ per 1M output tokens', num(f.cost.perMillionOutputTokens)],
        ['$ per 1M tokens (all)', num(f.cost.perMillionAllTokens)],
        ['requests arrived / finished', `${f.requests.arrived.toLocaleString('en-US')} / ${f.requests.finished.toLocaleString('en-US')}`],
        [
          'rejected',
          `${f.requests.rejected.toLocaleString('en-US')}${Object.keys(f.requests.rejectedByReason).length ? ` (${Object.entries(f.requests.rejectedByReason).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
        ],
        ['preempted requests', f.requests.preempted.toLocaleString('en-US')],
        ['mean queueing wait', secs(f.queueing.meanWaitS)],
        ['mean time in system (E2E)', secs(f.queueing.meanTimeInSystemS)],
        ['SLO attainment', f.slo ? pct(f.slo.attainment, 2) : '— (no SLO)'],
        ['goodput (req/s meeting SLO)', f.slo ? num(f.slo.goodputPerS) : '—'],
      ],
    ),
  );
  out.push('capacity utilization = useful work served (GPU time at saturated efficiency) ÷ billed time: the report\'s bands are about it; time utilization = busy ÷ billed (what nvidia-smi shows), higher whenever small batches run.');
  out.push('');
  const lat = (name: string, s: SimResult['fleet']['latency']['ttft']) => [name, secs(s.mean), secs(s.p50), secs(s.p90), secs(s.p95), secs(s.p99)];
  out.push(
    table(
      ['latency', 'mean', 'p50', 'p90', 'p95', 'p99'],
      [lat('TTFT', f.latency.ttft), lat('TPOT', f.latency.tpot), lat('E2E', f.latency.e2e), lat('queueing wait', f.latency.wait)],
    ),
  );

  if (r.queueing) {
    const q = r.queueing;
    out.push('');
    out.push(`textbook check: ${q.theory.model}${q.theory.exact ? '' : ' (approximation)'}, λ = ${num(q.theory.arrivalRate, 4)}/s, S = ${num(q.theory.meanServiceS, 4)} s, ρ = ${num(q.theory.utilization, 4)}, ${q.simulated.requests.toLocaleString('en-US')} requests`);
    out.push(
      table(
        ['', 'simulated', 'theory', 'error'],
        [
          ['mean wait in queue', num(q.simulated.waitS, 5), num(q.theory.waitS, 5), pct(q.relativeError.waitS, 2)],
          ['mean time in system', num(q.simulated.timeInSystemS, 5), num(q.theory.timeInSystemS, 5), pct(q.relativeError.timeInSystemS, 2)],
          ['utilization', num(q.simulated.utilization, 5), num(q.theory.utilization, 5), pct(q.relativeError.utilization, 2)],
        ],
      ),
    );
  }

  const poolRows = options.poolRows ?? 12;
  if (r.pools.length > 1 || r.pools[0]?.autoscaler) {
    out.push('');
    const pools = [...r.pools].sort((a, b) => b.servers.mean - a.servers.mean).slice(0, poolRows);
    out.push(
      table(
        ['pool', 'tenants', 'servers', 'sized by', 'offered', 'time util', 'cap util', '$/1M out'],
        pools.map((p) => [
          p.name,
          p.tenants,
          p.autoscaler ? `${num(p.servers.mean)} (peak ${p.servers.peak})` : p.servers.initial,
          p.servers.sizedBy,
          pct(p.offeredLoad),
          pct(p.timeUtilization),
          pct(p.capacityUtilization),
          num(p.cost.perMillionOutputTokens),
        ]),
      ),
    );
    if (r.pools.length > poolRows) out.push(`(${r.pools.length - poolRows} more pools in the JSON)`);
  }
  if (r.fragmentation) {
    const g = r.fragmentation;
    out.push(`fragmentation: ${g.servers} servers in per-model pools vs ${g.serversIfShared} if any server could hold any model (${g.extraServers} extra)`);
  }

  const rows = r.tenants.rows;
  if (r.tenants.count > 1) {
    out.push('');
    if (r.tenants.timeUtilization) {
      const u = r.tenants.timeUtilization;
      out.push(`tenant time utilization (own servers): mean ${pct(u.mean)}, p50 ${pct(u.p50)}, p90 ${pct(u.p90)}, min ${pct(u.min)}, max ${pct(u.max)}`);
    }
    if (r.tenants.sloAttainment) {
      const a = r.tenants.sloAttainment;
      out.push(`tenant SLO attainment: mean ${pct(a.mean, 2)}, p50 ${pct(a.p50, 2)}, min ${pct(a.min, 2)}`);
    }
    const top = [...rows].sort((a, b) => b.requests - a.requests).slice(0, options.tenantRows ?? 10);
    out.push(
      table(
        ['tenant', 'requests', 'rejected', 'mean tok/s', 'work (servers)', 'servers', 'time util', 'TTFT p99', 'E2E p99', 'SLO'],
        top.map((t) => [
          t.name,
          t.requests,
          t.rejected,
          num(t.demand.meanTokensPerS),
          num(t.demand.meanServers),
          t.servers === null ? 'shared' : num(t.servers),
          t.timeUtilization === null ? '—' : pct(t.timeUtilization),
          secs(t.ttftP99S),
          secs(t.e2eP99S),
          t.sloAttainment === null ? '—' : pct(t.sloAttainment, 2),
        ]),
      ),
    );
    if (r.tenants.count > top.length) out.push(`(top ${top.length} tenants by requests of ${r.tenants.count}; all in the JSON)`);
  }
  return out.join('\n');
}

/** How each sized pool got its servers: the SLO search's N and N − 1, or the peak rule's figures (at most `limit` pools). */
export function sizingLines(r: SimResult, limit = 6): string[] {
  const out: string[] = [];
  const sized = r.pools.filter((p) => p.sizing);
  for (const p of sized.slice(0, limit)) {
    const z = p.sizing!;
    const name = r.pools.length > 1 ? `pool ${p.name}: ` : '';
    if (z.method === 'slo') {
      const s = z.search;
      const below = s.below ? `; ${s.below.servers} would attain ${pct(s.below.attainment, 2)}` : ' (the minimum allowed)';
      out.push(`sizing: ${name}${s.servers} servers attain ${pct(s.attainment, 2)} of requests within the SLO (target ${pct(s.target, 2)})${below}; ${s.trials.length} fleets simulated`);
    } else {
      out.push(`sizing: ${name}peak rule: p${num(z.percentile)} of ${num(z.windowS)} s windows = ${num(z.peakServers)} servers of work ÷ ${pct(z.targetUtilization, 0)} → ${p.servers.initial} servers`);
    }
  }
  if (sized.length > limit) out.push(`sizing: (${sized.length - limit} more pools in the JSON)`);
  return out;
}

export function formatSweep(s: SweepResult): string {
  switch (s.kind) {
    case 'load':
      return table(
        ['target load', 'offered load', 'servers', 'time util', 'cap util', 'mean wait', 'TTFT p99', 'TPOT p99', 'E2E p99', 'SLO', 'rejected'],
        s.rows.map((r) => [
          pct(r.target),
          pct(r.offeredLoad),
          r.servers,
          pct(r.timeUtilization),
          pct(r.capacityUtilization),
          secs(r.meanWaitS),
          secs(r.ttftP99S),
          secs(r.tpotP99S),
          secs(r.e2eP99S),
          r.sloAttainment === null ? '—' : pct(r.sloAttainment, 2),
          r.rejected,
        ]),
      );
    case 'tenants':
      return table(
        ['tenants', 'pooled servers', 'pooled util', 'pooled cap util', 'pooled $/1M', 'reserved servers', 'reserved util', 'reserved cap util', 'reserved $/1M'],
        s.rows.map((r) => [
          r.tenants,
          num(r.pooled.servers),
          pct(r.pooled.timeUtilization),
          pct(r.pooled.capacityUtilization),
          num(r.pooled.perMillionOutputTokens),
          num(r.reserved.servers),
          pct(r.reserved.timeUtilization),
          pct(r.reserved.capacityUtilization),
          num(r.reserved.perMillionOutputTokens),
        ]),
      );
    case 'servers':
      return [
        table(
          ['servers', 'GPUs', '$/1M out', 'time util', 'cap util', 'TTFT p99', 'SLO', `meets ${pct(s.sloTarget)}`],
          s.rows.map((r) => [
            r.servers,
            num(r.gpus),
            num(r.perMillionOutputTokens),
            pct(r.timeUtilization),
            pct(r.capacityUtilization),
            secs(r.ttftP99S),
            r.sloAttainment === null ? '—' : pct(r.sloAttainment, 2),
            r.meetsTarget ? 'yes' : 'no',
          ]),
        ),
        s.cheapestMeetingTarget === null
          ? `no server count in the sweep meets ${pct(s.sloTarget)} SLO attainment`
          : `cheapest meeting ${pct(s.sloTarget)} SLO attainment: ${s.cheapestMeetingTarget} servers`,
      ].join('\n');
  }
}
