// The fleet view: the report's claims tested on a simulated fleet. A scenario (preset) runs the
// discrete-event simulator in a web worker (the same scheduler as the live engine, on virtual
// time); the page shows the progress, the claim check (each simulated figure beside the report's
// range, and whether they agree), each run's figures, the sweeps as charts, and the notes that say
// what was assumed. Every setting is in the URL (fleet-state.ts); the run exports as JSON or CSV.
import { viewStyles } from './view-styles.js';
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import {
  checksSummary,
  findScenario,
  formatFigure,
  formatRange,
  paramExpectation,
  parseParam,
  type ScenarioParam,
  type ScenarioSweep,
  type SimResult,
} from '../sim/index.js';
import { num, pct, secs } from '../sim/report.js';
import { formatTraceReport, type TraceReport } from '../traffic/report.js';
import './charts.js';
import type { ChartSeries, Column } from './charts.js';
import { FleetController } from './fleet-controller.js';
import { fleetCsv, fleetJson } from './fleet-export.js';
import {
  SEED_LIMITS,
  defaultFleetState,
  effectiveParams,
  fleetScenarios,
  parseFleetState,
  sameFleetRun,
  serializeFleetState,
  type FleetSize,
  type FleetState,
} from './fleet-state.js';
import { download } from './download.js';

const C = { a: '#5ec2ff', b: '#ffb454', c: '#7ee787', d: '#ff6b6b', muted: '#9aa0aa' };
const finite = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v);

@customElement('mx-fleet-view')
export class MxFleetView extends LitElement {
  static override styles = [
    viewStyles,
    css`
      .presets button { background: #10131a; color: var(--text); border: 1px solid #2c313c; font-weight: 600; font-size: 0.95rem; padding: 8px 12px; }
      .claim { margin: 6px 0 0; }
      .transport { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
      progress { width: 220px; height: 14px; }
      .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #2a303c; font-size: 0.85rem; }
      .agree { color: var(--ok, #7ee787); font-weight: 600; }
      .disagree { color: var(--warn); font-weight: 600; }
      table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
      th, td { text-align: right; padding: 5px 8px; border-bottom: 1px solid #262b36; vertical-align: top; }
      th:first-child, td:first-child { text-align: left; }
      .checks td.sim, .checks td.range { font-size: 1.35rem; white-space: nowrap; }
      .checks td.verdict { text-align: left; }
      .checks .note { color: var(--muted); font-size: 0.8rem; }
      .runs td { font-size: 1.1rem; }
      .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 10px; margin-bottom: 12px; }
      form label { display: flex; justify-content: space-between; align-items: center; gap: 8px; font-size: 0.9rem; margin: 5px 0; }
      form label span.hint { color: var(--muted); font-size: 0.75rem; display: block; }
      input, select { font: inherit; font-size: 0.9rem; color: var(--text); background: #10131a; border: 1px solid #2c313c; border-radius: 6px; padding: 4px 6px; width: 9.5em; box-sizing: border-box; }
      fieldset { border: 1px solid #2c313c; border-radius: 8px; margin: 0 0 10px; padding: 6px 10px; }
      legend { color: var(--muted); font-size: 0.8rem; padding: 0 4px; }
      ul.notes { margin: 0; padding-left: 18px; }
      ul.notes li { margin: 3px 0; color: var(--muted); font-size: 0.9rem; }
  
    `,
  ];

  @state() private s: FleetState = parseFleetState(location.search).state;
  @state() private paramErrors: string[] = parseFleetState(location.search).errors;
  private readonly sim = new FleetController(this);

  override connectedCallback(): void {
    super.connectedCallback();
    this.writeUrl();
    if (this.s.autorun) void this.sim.run(this.s);
  }

  private writeUrl(): void {
    const q = serializeFleetState(this.s);
    if (location.search !== `?${q}`) history.replaceState(null, '', `?${q}`);
  }

  private set(patch: Partial<FleetState>): void {
    this.s = { ...this.s, ...patch };
    this.paramErrors = [];
    this.writeUrl();
  }

  private setParam(p: ScenarioParam, raw: string, el: HTMLInputElement | HTMLSelectElement): void {
    const r = parseParam(p, raw);
    if ('error' in r) {
      this.paramErrors = [`${p.label}: ${r.error}.`];
      el.value = String(effectiveParams(this.s)[p.key]);
      return;
    }
    const params = { ...this.s.params, [p.key]: r.value };
    // Keep only what differs from the defaults (the URL lists just that).
    const defaults = effectiveParams({ ...this.s, params: {} });
    if (defaults[p.key] === r.value) delete params[p.key];
    this.set({ params });
  }

  private choose(name: string): void {
    this.s = { ...defaultFleetState(name), seed: this.s.seed, size: this.s.size };
    this.paramErrors = [];
    this.writeUrl();
    void this.sim.run(this.s);
  }

  private exportRun(kind: 'json' | 'csv'): void {
    const o = this.sim.outcome;
    if (!o) return;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const s = this.sim.runState ?? this.s;
    if (kind === 'csv') {
      download(`multiplex-fleet-${o.scenario}-${stamp}.csv`, fleetCsv(o), 'text/csv');
      return;
    }
    const text = fleetJson({
      exportedAt: new Date().toISOString(),
      settings: { ...s, params: effectiveParams(s) },
      url: `${location.origin}${location.pathname}?${serializeFleetState(s)}`,
      outcome: o,
    });
    download(`multiplex-fleet-${o.scenario}-${stamp}.json`, text, 'application/json');
  }

  // --- rendering ------------------------------------------------------------------------------

  override render() {
    const sim = this.sim;
    return html`
      <h2>Fleet simulator</h2>
      <p class="sub">The report's claims, tested on a simulated fleet: every server runs the live engine's own scheduler on virtual time, with the step time of a named GPU and model.
        Each scenario prints what it measured beside the report's range and says whether they agree.</p>
      ${this.paramErrors.length ? html`<div class="panel warn" id="param-errors">${this.paramErrors.map((e) => html`<div>${e}</div>`)}</div>` : nothing}
      ${this.renderPresets()}
      <div class="layout">
        <div>${this.renderControls()}</div>
        <div>
          ${this.renderTransport()}
          ${sim.error ? html`<div class="panel err" id="error">${sim.error}</div>` : nothing}
          ${this.renderChecks()}
          ${this.renderRuns()}
          ${this.renderCharts()}
          ${this.renderNotes()}
        </div>
      </div>
    `;
  }

  private renderPresets() {
    const sc = findScenario(this.s.scenario);
    return html`<div class="panel">
      <div class="presets" id="presets">
        ${fleetScenarios().map(
          (x) => html`<button data-scenario=${x.name} title=${x.title} aria-pressed=${x.name === this.s.scenario ? 'true' : 'false'} @click=${() => this.choose(x.name)}>${shortLabel(x.name)}</button>`,
        )}
      </div>
      ${sc ? html`<p class="lesson" id="lesson"><b>${sc.title}.</b> ${sc.lesson ?? ''}</p><p class="claim muted" id="claim">The report: ${sc.claim}</p>` : nothing}
    </div>`;
  }

  private renderControls() {
    const sc = findScenario(this.s.scenario);
    const values = effectiveParams(this.s);
    const input = (p: ScenarioParam) => {
      const v = values[p.key];
      const label = html`<span>${p.label}${p.hint ? html`<span class="hint">${p.hint}</span>` : nothing}</span>`;
      if (p.kind === 'choice') {
        return html`<label>${label}<select id=${`ctl-${p.key}`} @change=${(e: Event) => this.setParam(p, (e.target as HTMLSelectElement).value, e.target as HTMLSelectElement)}>
          ${(p.options ?? []).map((o) => html`<option value=${o} ?selected=${o === v}>${o}</option>`)}
        </select></label>`;
      }
      return html`<label>${label}<input id=${`ctl-${p.key}`} type="number" min=${p.min ?? ''} max=${p.max ?? ''} step=${p.kind === 'int' ? 1 : 'any'}
        title=${paramExpectation(p)} .value=${String(v)}
        @change=${(e: Event) => this.setParam(p, (e.target as HTMLInputElement).value, e.target as HTMLInputElement)} /></label>`;
    };
    return html`<form class="panel" id="controls" @submit=${(e: Event) => e.preventDefault()}>
      <h3>Settings</h3>
      <fieldset><legend>${this.s.scenario}</legend>${(sc?.params ?? []).map(input)}</fieldset>
      <fieldset><legend>Run</legend>
        <label>Seed<input id="ctl-seed" type="number" min=${SEED_LIMITS.min} max=${SEED_LIMITS.max} step="1" .value=${String(this.s.seed)}
          @change=${(e: Event) => {
            const el = e.target as HTMLInputElement;
            const n = Number(el.value);
            if (el.value.trim() === '' || !Number.isInteger(n) || n < SEED_LIMITS.min || n > SEED_LIMITS.max) {
              this.paramErrors = [`Seed: ${el.value} is invalid: expected an integer from ${SEED_LIMITS.min} to ${SEED_LIMITS.max}.`];
              el.value = String(this.s.seed);
              return;
            }
            this.set({ seed: n });
          }} /></label>
        <label>Size<select id="ctl-size" @change=${(e: Event) => this.set({ size: (e.target as HTMLSelectElement).value as FleetSize, params: {} })}>
          <option value="full" ?selected=${this.s.size === 'full'}>full (the claim check's)</option>
          <option value="reduced" ?selected=${this.s.size === 'reduced'}>reduced (the tests', seconds)</option>
        </select></label>
      </fieldset>
      <div class="muted">Every setting is in the page's URL: copy it to share or restore this run. The same seed gives the same figures.</div>
    </form>`;
  }

  private renderTransport() {
    const sim = this.sim;
    const running = sim.phase === 'running';
    const changed = sim.runState && !sameFleetRun(sim.runState, this.s);
    return html`<div class="panel">
      <div class="transport">
        <button id="run" ?disabled=${running} @click=${() => this.sim.run(this.s)}>${sim.phase === 'idle' ? 'Run' : 'Run again'}</button>
        <button id="stop" class="secondary" ?disabled=${!running} @click=${() => this.sim.stop()}>Stop</button>
        <button id="export-json" class="secondary" ?disabled=${!sim.outcome || running} @click=${() => this.exportRun('json')}>Export JSON</button>
        <button id="export-csv" class="secondary" ?disabled=${!sim.outcome || running} @click=${() => this.exportRun('csv')}>Export CSV</button>
        <progress id="progress" max="1" .value=${sim.progress}></progress>
        <span class="badge" id="phase">${sim.phase}</span>
        <span class="muted" id="progress-label">${running ? `${Math.round(100 * sim.progress)}% · ${sim.progressLabel}` : sim.phase === 'done' ? `simulated in ${sim.seconds.toFixed(1)} s` : sim.progressLabel}</span>
      </div>
      ${changed && !running ? html`<div class="warn">Settings changed: press “Run again” to simulate with them.</div>` : nothing}
    </div>`;
  }

  private renderChecks() {
    const o = this.sim.outcome;
    if (!o) return nothing;
    const stale = o.scenario !== this.s.scenario;
    return html`<div class="panel" id="claim-check">
      <h3>Claim check: <span id="claim-summary">${checksSummary(o.checks)}</span>${stale ? html` <span class="muted">(${o.scenario}; run this scenario to update)</span>` : nothing}</h3>
      <table class="checks">
        <thead><tr><th>What was measured</th><th>Simulated</th><th>Report</th><th>Verdict</th></tr></thead>
        <tbody>
          ${o.checks.map(
            (c) => html`<tr data-check=${c.id} data-agrees=${c.agrees ? 'yes' : 'no'}>
              <td>${c.figure}${c.note ? html`<div class="note">${c.note}</div>` : nothing}</td>
              <td class="sim">${formatFigure(c.simulated, c.unit)}</td>
              <td class="range">${formatRange(c)}</td>
              <td class="verdict ${c.agrees ? 'agree' : 'disagree'}">${c.agrees ? 'agrees' : c.verdict}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      <p class="muted">${o.simulations} simulation${o.simulations === 1 ? '' : 's'}, ${o.requests.toLocaleString('en-US')} simulated requests, seed ${o.seed}${o.reduced ? ', reduced size' : ''}.
        Where the simulation disagrees with the report it says so: the lab reports what it measures.</p>
    </div>`;
  }

  private renderRuns() {
    const o = this.sim.outcome;
    if (!o || o.runs.length === 0) return nothing;
    const row = (name: string, f: (r: SimResult) => string) => html`<tr><td>${name}</td>${o.runs.map((r) => html`<td>${f(r.result)}</td>`)}</tr>`;
    return html`<div class="panel" id="figures">
      <h3>Figures per run</h3>
      <table class="runs">
        <thead><tr><th></th>${o.runs.map((r) => html`<th>${r.label}</th>`)}</tr></thead>
        <tbody>
          ${row('Servers (mean / peak)', (r) => `${num(r.fleet.servers.mean)} / ${num(r.fleet.servers.peak)}`)}
          ${row('GPUs (mean)', (r) => num(r.fleet.gpus.mean))}
          ${row('Sized by', sizingCell)}
          ${row('Capacity utilization', (r) => pct(r.fleet.capacityUtilization))}
          ${row('Time utilization', (r) => pct(r.fleet.timeUtilization))}
          ${row('Output tokens/s', (r) => num(r.fleet.outputTokensPerS))}
          ${row('$ per 1M output tokens', (r) => `$${num(r.fleet.cost.perMillionOutputTokens)}`)}
          ${row('TTFT p50 / p99', (r) => `${secs(r.fleet.latency.ttft.p50)} / ${secs(r.fleet.latency.ttft.p99)}`)}
          ${row('TPOT p50 / p99', (r) => `${secs(r.fleet.latency.tpot.p50)} / ${secs(r.fleet.latency.tpot.p99)}`)}
          ${row('SLO attainment', (r) => (r.fleet.slo ? pct(r.fleet.slo.attainment, 2) : '—'))}
          ${row('Requests', (r) => r.workload.requests.toLocaleString('en-US'))}
          ${o.runs.some((r) => r.result.workload.traces?.length) ? row('Trace rows → requests', traceCell) : nothing}
          ${row('Price', (r) => r.pools[0]?.cost.priceLabel ?? '—')}
        </tbody>
      </table>
      ${renderTraceReports(o.runs.map((r) => r.result))}
      <p class="muted" id="definitions"><b>Capacity utilization</b>: useful work served ÷ billed server time, where a request's work is the server time it costs a server running flat out
        (its prompt at full-chunk speed, each later token at the largest batch that fits its context, its TPOT SLO and the max batch): comparable across request shapes, pools and models, ~100% for a saturated server.
        The report's bands (10–40% alone, 60–85% pooled) are about this figure. <b>Time utilization</b>: busy ÷ billed server time, what nvidia-smi shows; a batching server is busy whenever one request runs, so it reads higher.
        <b>Sizing</b>: unless a run fixes its servers, each fleet is the smallest that meets the SLO-attainment target (99% of requests within every SLO) on the run's own traffic, found by simulating it at several sizes; "Sized by" gives N and what N − 1 would attain.
        Cost per 1M tokens: billed GPU-hours × $/GPU-hour ÷ tokens served; prices are assumptions, not quotes.</p>
    </div>`;
  }

  private renderCharts() {
    const o = this.sim.outcome;
    if (!o) return nothing;
    const charts: TemplateResult[] = [];
    for (const s of o.sweeps) charts.push(this.sweepChart(s));
    const first = o.runs[0]?.result;
    if (first) charts.push(this.timeChart(first, o.runs[0]!.label));
    return html`<div class="charts" id="charts">${charts}</div>`;
  }

  private sweepChart(s: ScenarioSweep): TemplateResult {
    const w = s.sweep;
    switch (w.kind) {
      case 'load': {
        const x = w.rows.map((r) => 100 * r.offeredLoad);
        const slo = findScenario(this.sim.outcome!.scenario)?.params?.some((p) => p.key === 'ttftSlo') ? Number(this.sim.outcome!.params.ttftSlo) : NaN;
        const series: ChartSeries[] = [
          { label: 'TTFT p99 (s)', color: C.d },
          { label: 'E2E p99 (s)', color: C.a },
        ];
        const data: Column[] = [x, w.rows.map((r) => finite(r.ttftP99S)), w.rows.map((r) => finite(r.e2eP99S))];
        if (Number.isFinite(slo)) {
          series.push({ label: 'TTFT SLO', color: C.muted, dash: true });
          data.push(x.map(() => slo));
        }
        return html`<mx-chart data-sweep="load" heading="Offered load vs p99 latency" note=${s.note ?? 'each point one run at that load, servers held fixed; log scale'}
          .series=${series} .axes=${{ y: 's' }} .log=${true} .points=${true} xLabel="offered load (% of capacity)" .data=${data}></mx-chart>`;
      }
      case 'tenants': {
        const x = w.rows.map((r) => Math.log10(r.tenants));
        return html`<mx-chart data-sweep="tenants" heading="Pooled customers vs utilization" note=${s.note ?? ''}
          .series=${[
            { label: 'pooled: capacity utilization %', color: C.c },
            { label: 'reserved: capacity utilization %', color: C.b },
          ]}
          .axes=${{ y: '%' }} .yRange=${[0, 100] as [number, number]} .points=${true} xLabel=${`log10 customers (${w.rows.map((r) => r.tenants).join(', ')})`}
          .data=${[x, w.rows.map((r) => finite(100 * r.pooled.capacityUtilization)), w.rows.map((r) => finite(100 * r.reserved.capacityUtilization))]}></mx-chart>`;
      }
      case 'servers': {
        const x = w.rows.map((r) => r.servers);
        const best = w.cheapestMeetingTarget;
        return html`<mx-chart data-sweep="servers" heading="Servers vs cost at the SLO"
          note=${`${s.note ?? ''}; ${best === null ? `no count meets ${pct(w.sloTarget)} SLO attainment` : `cheapest meeting ${pct(w.sloTarget)} SLO attainment: ${best} servers`}`}
          .series=${[
            { label: '$ / 1M output tokens', color: C.a },
            { label: 'SLO attainment %', color: C.c, scale: 'att' },
          ]}
          .axes=${{ y: '$', att: '%' }} .points=${true} xLabel="servers"
          .data=${[x, w.rows.map((r) => finite(r.perMillionOutputTokens)), w.rows.map((r) => finite(r.sloAttainment === null ? NaN : 100 * r.sloAttainment))]}></mx-chart>`;
      }
    }
  }

  private timeChart(r: SimResult, label: string): TemplateResult {
    const t = r.timeSeries;
    return html`<mx-chart data-series="time" heading=${`Over the run: ${label}`} note=${`per ${num(t.intervalS)} s bucket; ${t.note}`}
      .series=${[
        { label: 'servers billed', color: C.muted, dash: true },
        { label: 'servers busy', color: C.a },
        { label: 'output tokens/s', color: C.c, scale: 'tok' },
      ]}
      .axes=${{ y: 'servers', tok: 'tokens/s' }} .data=${[t.t, t.servers, t.busyServers, t.outputTokensPerS]}></mx-chart>`;
  }

  private renderNotes() {
    const o = this.sim.outcome;
    if (!o) return nothing;
    return html`<div class="panel" id="notes">
      <h3>What was simulated</h3>
      <ul class="notes">${o.notes.map((n) => html`<li>${n}</li>`)}</ul>
      <p class="muted">Settings: ${Object.entries(o.params).map(([k, v]) => `${k}=${v}`).join(', ')}.</p>
    </div>`;
  }
}

/** A run's trace files in one cell: rows read → requests kept, and what was left out. */
/** How a run's fleets were sized: "SLO: 4 servers attain 99.3% (3: 97.1%)", per pool when there are a few. */
function sizingCell(r: SimResult): string {
  const sized = r.pools.filter((p) => p.sizing);
  if (sized.length === 0) return r.pools[0]?.servers.sizedBy === 'autoscaler' ? 'autoscaler' : 'given';
  const one = (p: (typeof sized)[number]): string => {
    const z = p.sizing!;
    if (z.method === 'peak') return `peak rule: ${p.servers.initial}`;
    const s = z.search;
    return `${s.servers} at ${pct(s.attainment, 1)}${s.below ? ` (${s.below.servers}: ${pct(s.below.attainment, 1)})` : ''}`;
  };
  if (sized.length === 1) return `${sized[0]!.sizing!.method === 'slo' ? 'SLO: ' : ''}${one(sized[0]!)}`;
  const total = sized.reduce((a, p) => a + p.servers.initial, 0);
  return `${sized[0]!.sizing!.method === 'slo' ? 'SLO, ' : ''}${sized.length} fleets, ${total} servers${sized.length <= 3 ? `: ${sized.map(one).join('; ')}` : ''}`;
}

function traceCell(r: SimResult): string {
  const t = r.workload.traces ?? [];
  if (t.length === 0) return '—';
  const rows = t.reduce((a, x) => a + x.rows, 0);
  const kept = t.reduce((a, x) => a + x.requests, 0);
  const bad = t.reduce((a, x) => a + x.badRows, 0);
  const skipped = t.reduce((a, x) => a + x.skipped.reduce((n, s) => n + s.count, 0), 0);
  const out = [`${rows.toLocaleString('en-US')} → ${kept.toLocaleString('en-US')}`];
  if (bad) out.push(`${bad.toLocaleString('en-US')} bad`);
  if (skipped) out.push(`${skipped.toLocaleString('en-US')} skipped`);
  return out.join(', ');
}

/** Each trace file the runs replayed, once: the CLI's summary line, its skips by reason and its notes. */
function renderTraceReports(results: readonly SimResult[]) {
  const seen = new Map<string, TraceReport>();
  for (const r of results) for (const t of r.workload.traces ?? []) seen.set(JSON.stringify({ ...t, usedBy: [] }), t);
  if (seen.size === 0) return nothing;
  return html`<ul class="notes" id="trace-reports">
    ${[...seen.values()].map((t) => {
      const [head, ...rest] = formatTraceReport(t);
      return html`<li data-trace=${t.path}>${head}${rest.length ? html`<ul>${rest.map((l) => html`<li>${l.trim()}</li>`)}</ul>` : nothing}</li>`;
    })}
  </ul>`;
}

/** Button text for a scenario. */
function shortLabel(name: string): string {
  const labels: Record<string, string> = {
    'startup-reserved': 'Startup, reserved',
    'mature-tenant': 'Mature tenant',
    'platform-pooling': 'Platform pooling',
    'ceiling-85': 'The 85% ceiling',
    'peak-5x': 'Peak 5× average',
    'peak-8h-16h': '8 h peak, 16 h low',
    'multi-model': 'Multi-model',
    'fast-vs-slow': 'Fast vs slow',
    'real-world-8h-16h': '8 h/16 h, real world',
    'customer-population': 'Customer population',
    'azure-two-customers': 'Azure traces, two customers',
  };
  return labels[name] ?? name;
}

declare global {
  interface HTMLElementTagNameMap {
    'mx-fleet-view': MxFleetView;
  }
}
