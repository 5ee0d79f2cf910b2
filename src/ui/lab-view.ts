// The live load lab: tenants (web workers) send requests to the engine worker, which batches them
// on this device's GPU; the page shows throughput, batch size, utilization, latency and the cost
// of a token as they happen. Everything it shows comes from LabController; every setting is in
// the URL (src/lab/state.ts).
import { viewStyles } from './view-styles.js';
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { GPU_PRICES, type GpuPriceId } from '../econ/cost.js';
import './charts.js';
import type { ChartSeries } from './charts.js';
import { LabController } from './lab-controller.js';
import {
  LIMITS,
  PRESETS,
  TRAFFIC_LABELS,
  TRAFFIC_SHAPES,
  parseLabState,
  presetById,
  presetState,
  priceLabel,
  sameExperiment,
  serializeLabState,
  type LabState,
  type SloValue,
  type TrafficShape,
} from '../lab/state.js';
import { WINDOW_S, type Figures } from '../lab/metrics.js';
import { runJson, seriesCsv } from '../lab/export.js';
import { exportObject } from '../lab/session.js';
import { StepDrift } from '../lab/drift.js';
import { download } from './download.js';
import { fmt } from '../lab/traffic.js';

const C = {
  out: '#5ec2ff',
  all: '#b48cff',
  cap: '#9aa0aa',
  batch: '#7ee787',
  queue: '#ffb454',
  time: '#5ec2ff',
  capu: '#7ee787',
  p50: '#5ec2ff',
  p99: '#ff6b6b',
};

function tokensPerS(v: number): string {
  return Number.isFinite(v) ? fmt(v) : '—';
}
function pct(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(v < 0.1 ? 1 : 0)}%` : '—';
}
function secs(v: number): string {
  if (!Number.isFinite(v)) return '—';
  return v < 1 ? `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)} ms` : `${v.toFixed(v < 10 ? 2 : 1)} s`;
}
function dollars(v: number): string {
  if (!Number.isFinite(v)) return '—';
  return v >= 1000 ? `$${Math.round(v).toLocaleString('en-US')}` : v >= 10 ? `$${v.toFixed(1)}` : `$${v.toFixed(2)}`;
}

@customElement('mx-lab-view')
export class MxLabView extends LitElement {
  static override styles = [
    viewStyles,
    css`
      .presets button { background: #10131a; color: var(--text); border: 1px solid #2c313c; font-weight: 600; font-size: 1rem; padding: 8px 14px; }
      .transport { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
      .transport .clock { font-size: 1.6rem; font-variant-numeric: tabular-nums; margin-left: 8px; }
      progress { width: 160px; }
      .figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin-bottom: 12px; }
      .fig { background: var(--panel); border-radius: 8px; padding: 10px 12px; }
      .fig .name { color: var(--muted); font-size: 0.85rem; }
      .fig b { display: block; font-size: 2.1rem; line-height: 1.15; font-variant-numeric: tabular-nums; }
      .fig .run { color: var(--muted); font-size: 0.85rem; font-variant-numeric: tabular-nums; }
      .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 10px; }
      form label { display: flex; justify-content: space-between; align-items: center; gap: 8px; font-size: 0.9rem; margin: 5px 0; }
      form label span.hint { color: var(--muted); font-size: 0.75rem; }
      input, select { font: inherit; font-size: 0.9rem; color: var(--text); background: #10131a; border: 1px solid #2c313c; border-radius: 6px; padding: 4px 6px; width: 9em; box-sizing: border-box; }
      input[type='file'] { width: 100%; }
      fieldset { border: 1px solid #2c313c; border-radius: 8px; margin: 0 0 10px; padding: 6px 10px; }
      legend { color: var(--muted); font-size: 0.8rem; padding: 0 4px; }
      table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
      th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid #262b36; }
      th:first-child, td:first-child { text-align: left; }
      .cmp td { font-size: 1.25rem; }
      .cmp td:first-child { font-size: 1rem; }
      .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #2a303c; font-size: 0.85rem; margin-left: 6px; }
      .badge.cpu { background: #4a3a10; color: var(--warn); }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; font-size: 0.9rem; }
      dt { font-weight: 600; }
      dd { margin: 0; color: var(--muted); }
  
    `,
  ];

  @state() private s: LabState = parseLabState(location.search).state;
  @state() private paramErrors: string[] = parseLabState(location.search).errors;
  private readonly lab = new LabController(this);

  override connectedCallback(): void {
    super.connectedCallback();
    this.writeUrl();
    void this.start();
  }

  private async start(): Promise<void> {
    if (this.s.trace) await this.lab.fetchTrace(this.s.trace);
    const ok = await this.lab.prepare(this.s);
    if (ok && this.s.autoplay) await this.lab.play(this.s);
  }

  private writeUrl(): void {
    const q = serializeLabState(this.s);
    if (location.search !== `?${q}`) history.replaceState(null, '', `?${q}`);
  }

  /** Applies a change of settings: the URL follows; price and SLOs apply at once. */
  private set(patch: Partial<LabState>): void {
    // The preset stays named: the URL lists the settings that differ from it.
    const next: LabState = { ...this.s, ...patch };
    this.s = next;
    this.paramErrors = [];
    this.writeUrl();
    if ('price' in patch || 'gpu' in patch || 'ttft' in patch || 'tpot' in patch) this.lab.reprice(next);
  }

  private async choosePreset(id: string): Promise<void> {
    const keep = { checkpoint: this.s.checkpoint, tokenizer: this.s.tokenizer, backend: this.s.backend };
    this.s = { ...presetState(id), ...keep };
    this.paramErrors = [];
    this.writeUrl();
    // Still loading or calibrating: start() plays the new state when that is done.
    if (this.lab.phase === 'loading' || this.lab.phase === 'calibrating') {
      this.s.autoplay = true;
      return;
    }
    await this.lab.reset();
    await this.lab.play(this.s);
  }

  private async playPause(): Promise<void> {
    const l = this.lab;
    if (l.phase === 'running') return l.pause();
    if (l.phase === 'paused' && l.runState && sameExperiment(l.runState, this.s)) return l.play(this.s);
    if (l.phase === 'paused' || l.phase === 'done') await l.reset();
    return l.play(this.s);
  }

  private exportRun(kind: 'json' | 'csv'): void {
    const l = this.lab;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    if (kind === 'csv') {
      if (l.series) download(`multiplex-lab-${stamp}.csv`, seriesCsv(l.series), 'text/csv');
      return;
    }
    if (!l.store || !l.prepared || !l.runInfo || !l.calibration) return;
    const drift = new StepDrift(l.prepared.capacity.spec);
    drift.add(l.store.steps);
    const text = runJson(
      exportObject({
        outcome: { prepared: l.prepared, info: l.runInfo, store: l.store, whole: l.store.runFigures(), drift: drift.verdict() },
        calibration: l.calibration,
        device: l.info ?? null,
        comparison: l.compare,
        baseUrl: `${location.origin}${location.pathname}`,
      }),
    );
    download(`multiplex-lab-${stamp}.json`, text, 'application/json');
  }

  // --- rendering ------------------------------------------------------------------------------

  override render() {
    const l = this.lab;
    return html`
      <h2>Live load lab</h2>
      <p class="sub">Tenants in web workers send requests to a continuous-batching engine on ${this.deviceWords()}. Watch batching and idle time set the cost of a token.</p>
      ${this.paramErrors.length ? html`<div class="panel warn" id="param-errors">${this.paramErrors.map((e) => html`<div>${e}</div>`)}</div>` : nothing}
      ${this.renderStatus()}
      ${this.renderPresets()}
      <div class="layout">
        <div>${this.renderControls()}</div>
        <div>
          ${this.renderTransport()}
          ${l.error ? html`<div class="panel err" id="error">${l.error}</div>` : nothing}
          ${this.renderComparison()}
          ${this.renderFigures()}
          ${this.renderCharts()}
          ${this.renderExplain()}
        </div>
      </div>
    `;
  }

  private deviceWords(): TemplateResult | string {
    const i = this.lab.info;
    if (!i) return 'this device';
    return i.backend === 'gpu' ? 'your GPU' : html`the <b>CPU reference backend</b> (no WebGPU here)`;
  }

  private renderStatus() {
    const l = this.lab;
    const i = l.info;
    const cap = l.prepared?.capacity;
    return html`<div class="panel" id="status">
      ${i
        ? html`<div id="adapter">
              ${i.backend === 'gpu' ? html`<b>GPU</b>: ${i.adapter}` : html`<b>CPU reference backend</b><span class="badge cpu">not a GPU</span>`}
              · model <b>${i.model.name}</b> (${(i.model.parameters / 1e6).toFixed(2)}M parameters, context ${i.model.config.seqLen})
            </div>
            ${i.gpuUnavailable
              ? html`<div class="warn" id="gpu-unavailable">WebGPU is unavailable: ${i.gpuUnavailable.message} The lab runs on the CPU reference backend instead; every figure below is the CPU's.</div>`
              : nothing}`
        : l.loadProgress
          ? html`Loading the model's ${l.loadProgress.file}… ${(l.loadProgress.loaded / 1e6).toFixed(1)} MB`
          : l.phase === 'error'
            ? nothing
            : html`Starting the engine worker…`}
      ${l.calProgress
        ? html`<div id="calibrating">Calibrating: measuring ${l.calProgress.what} (${l.calProgress.done + 1}/${l.calProgress.total})
            <progress max=${l.calProgress.total} value=${l.calProgress.done}></progress></div>`
        : nothing}
      ${l.calibration
        ? html`<div id="capacity">
            ${cap ? html`Capacity: <b>${cap.sentence()}</b>` : nothing}
            <div class="muted" id="calibration">Measured on start: decode tokens/s at batch
            ${l.calibration.points.map((p, k) => html`${k ? ', ' : ''}${p.batch}: ${fmt(p.tokensPerS)}`)}; prefill ${fmt(l.calibration.prefill.tokensPerS)} tokens/s.
            ${l.calibration.stability.verdict}</div>
          </div>`
        : nothing}
    </div>`;
  }

  private renderPresets() {
    const active = presetById(this.s.preset);
    return html`<div class="panel">
      <div class="presets" id="presets">
        ${PRESETS.map(
          (p) => html`<button data-preset=${p.id} aria-pressed=${p.id === this.s.preset ? 'true' : 'false'} @click=${() => this.choosePreset(p.id)}>${p.label}</button>`,
        )}
      </div>
      ${active ? html`<p class="lesson" id="lesson">${active.lesson}</p>` : nothing}
    </div>`;
  }

  private renderTransport() {
    const l = this.lab;
    const busy = l.phase === 'loading' || l.phase === 'calibrating';
    const t = l.store?.now ?? 0;
    const dur = l.runState?.duration ?? this.s.duration;
    const changed = l.runState && !sameExperiment(l.runState, this.s) && (l.phase === 'running' || l.phase === 'paused');
    const plan = l.prepared?.plan;
    const label = l.phase === 'running' ? 'Pause' : l.phase === 'paused' && !changed ? 'Resume' : l.phase === 'done' || changed ? 'Run again' : 'Play';
    return html`<div class="panel">
      <div class="transport">
        <button id="play" ?disabled=${busy || l.phase === 'error'} @click=${() => this.playPause()}>${label}</button>
        <button id="reset" class="secondary" ?disabled=${busy} @click=${() => this.lab.reset()}>Reset</button>
        <button id="export-json" class="secondary" ?disabled=${!l.store} @click=${() => this.exportRun('json')}>Export JSON</button>
        <button id="export-csv" class="secondary" ?disabled=${!l.series} @click=${() => this.exportRun('csv')}>Export CSV</button>
        <span class="clock" id="clock">${t.toFixed(1)} s / ${dur} s</span>
        <span class="badge" id="phase">${l.compare && l.phase !== 'done' ? `${l.phase}: ${l.compare.step === 'alone' ? '1 tenant alone' : `${l.compare.tenants} tenants pooled`}` : l.phase}</span>
      </div>
      ${changed ? html`<div class="warn">Settings changed: press “Run again” to start a run with them (price and SLO changes apply at once).</div>` : nothing}
      ${plan ? html`<div class="muted" id="plan">${plan.description}.${plan.scaling ? html` Trace scaling: <span id="scaling">${plan.scaling.text}</span>.` : nothing}</div>` : nothing}
      ${this.renderOverload()}
      ${l.drift && !l.drift.ok && l.drift.steps >= 50 ? html`<div class="warn" id="drift">${l.drift.sentence}</div>` : nothing}
      ${l.store && l.store.rejectReasons.size
        ? html`<div class="warn">Rejected: ${[...l.store.rejectReasons].map(([r, n]) => `${n} (${r})`).join(', ')}</div>`
        : nothing}
    </div>`;
  }

  private fig(id: string, name: string, main: string, run: string): TemplateResult {
    return html`<div class="fig" id=${id}><div class="name">${name}</div><b>${main}</b><div class="run">${run}</div></div>`;
  }

  /** Says so when more work is offered than this GPU can serve (whole run, after the first seconds). */
  private renderOverload() {
    const l = this.lab;
    const r = l.whole;
    const w = l.window;
    if (!r || !w || r.t1 - r.t0 < 5) return nothing;
    const aboutOverload = l.runState?.preset === 'overload';
    if (r.offeredLoad > 1) {
      return html`<div class="warn" id="overload">Offered load so far is <b>${pct(r.offeredLoad)} of capacity</b>: more work arrives than this GPU can serve, so the queue grows whatever the batch.
        ${aboutOverload ? 'That is this preset’s lesson.' : 'This setting was meant to run below capacity: the calibration overestimated this device, or the load is set too high.'}</div>`;
    }
    if (w.offeredLoad > 1 && !aboutOverload) {
      return html`<div class="muted" id="overload">In the last ${WINDOW_S} s the tenants offered ${pct(w.offeredLoad)} of capacity (a burst); over the whole run, ${pct(r.offeredLoad)}.</div>`;
    }
    return nothing;
  }

  private renderFigures() {
    const w = this.lab.window;
    const r = this.lab.whole;
    if (!w || !r) return nothing;
    const two = (a: string, b: string) => `${a} / ${b}`;
    const ms = (v: number) => secs(v / 1000);
    const ws = w.serve;
    const rs = r.serve;
    const counts = (m: typeof rs) =>
      `${m.pending} waiting (oldest ${ms(m.max_pending_age_ms)}) · ${m.completed} done · ${m.rejected} rejected · ${m.aborted} aborted`;
    return html`
      <div class="muted" id="figures-label">Big numbers: <b>sliding ${WINDOW_S} s window</b>; small print: <b>whole run</b>. TTFT and SLO figures count each request still waiting at its age so far.</div>
      <div class="figs" id="figures">
        ${this.fig('fig-throughput', 'Throughput (output tokens/s)', tokensPerS(w.outputTokensPerS), `whole run ${tokensPerS(r.outputTokensPerS)} · all tokens ${tokensPerS(w.allTokensPerS)}`)}
        ${this.fig('fig-batch', 'Mean batch size', Number.isFinite(w.meanBatch) ? w.meanBatch.toFixed(1) : '—', `whole run ${Number.isFinite(r.meanBatch) ? r.meanBatch.toFixed(1) : '—'} · max ${this.lab.runState?.batch ?? this.s.batch} · queue ${this.lab.store?.queueDepth ?? 0}`)}
        ${this.fig('fig-time-util', 'Time utilization (busy/wall)', pct(w.timeUtilization), `whole run ${pct(r.timeUtilization)}`)}
        ${this.fig('fig-cap-util', 'Capacity utilization', pct(w.capacityUtilization), `whole run ${pct(r.capacityUtilization)} · offered ${pct(r.offeredLoad)}`)}
        ${this.fig('fig-ttft', 'TTFT p50 / p99 (waiting included)', two(ms(ws.median_ttft_ms_with_waiting), ms(ws.p99_ttft_ms_with_waiting)), `whole run ${two(ms(rs.median_ttft_ms_with_waiting), ms(rs.p99_ttft_ms_with_waiting))} · completed only ${two(ms(rs.median_ttft_ms), ms(rs.p99_ttft_ms))}`)}
        ${this.fig('fig-tpot', 'TPOT p50 / p99', two(ms(ws.median_tpot_ms), ms(ws.p99_tpot_ms)), `whole run ${two(ms(rs.median_tpot_ms), ms(rs.p99_tpot_ms))} · ITL p99 ${ms(rs.p99_itl_ms)}`)}
        ${this.fig('fig-cost-output', 'Cost per 1M output tokens', dollars(w.costPerMOutput), `whole run ${dollars(r.costPerMOutput)}`)}
        ${this.fig('fig-cost-all', 'Cost per 1M tokens (all)', dollars(w.costPerMAll), `whole run ${dollars(r.costPerMAll)} · prefill + decode`)}
        ${this.fig('fig-goodput', 'Met SLO (waiting included)', pct(ws.slo_attainment_with_waiting), `whole run ${pct(rs.slo_attainment_with_waiting)} · completed only ${pct(rs.slo_attainment)} · goodput ${fmt(rs.request_goodput)} req/s`)}
        ${this.fig('fig-requests', 'Requests waiting', String(rs.pending), counts(rs) + ` · ${r.preempted} preempted`)}
      </div>`;
  }

  private renderCharts() {
    const sr = this.lab.series;
    if (!sr) return nothing;
    const t = sr.t;
    const win = `sliding ${WINDOW_S} s window at each point`;
    const sx = (s: ChartSeries[]) => s;
    return html`<div class="charts" id="charts">
      <mx-chart heading="Throughput" note="tokens/s per ${sr.interval} s"
        .series=${sx([{ label: 'output', color: C.out }, { label: 'all (prefill + decode)', color: C.all }])}
        .axes=${{ y: 'tokens/s' }} .data=${[t, sr.outputTokensPerS, sr.allTokensPerS]}></mx-chart>
      <mx-chart heading="Batch size and queue" note="mean sequences per step; requests waiting"
        .series=${sx([{ label: 'batch size', color: C.batch }, { label: 'queue depth', color: C.queue, scale: 'q' }])}
        .axes=${{ y: 'sequences', q: 'waiting' }} .data=${[t, sr.batchSize, sr.queueDepth]}></mx-chart>
      <mx-chart heading="Utilization" note="time: busy / wall; capacity: work served ÷ wall; offered: work arriving ÷ wall"
        .series=${sx([{ label: 'time utilization %', color: C.time }, { label: 'capacity utilization %', color: C.capu }, { label: 'offered load %', color: C.cap, dash: true }])}
        .axes=${{ y: '%' }} .data=${[t, sr.timeUtilization, sr.capacityUtilization, sr.offeredLoad]}></mx-chart>
      ${this.renderDemand()}
      <mx-chart heading="Cost per 1M tokens" note="${priceLabel(this.lab.runState ?? this.s)}; 10 s rolling tokens/s"
        .series=${sx([{ label: '$ / 1M output tokens', color: C.out }, { label: '$ / 1M all tokens', color: C.all }])}
        .axes=${{ y: '$' }} .log=${true} .data=${[t, sr.costPerMOutput, sr.costPerMAll]}></mx-chart>
      <mx-chart heading="Time to first token" note="ms, ${win}; with waiting: requests still waiting at their age"
        .series=${sx([{ label: 'TTFT p50', color: C.p50 }, { label: 'TTFT p99', color: C.p99 }, { label: 'TTFT p99 with waiting', color: C.queue, dash: true }])}
        .axes=${{ y: 'ms' }} .data=${[t, sr.ttftP50, sr.ttftP99, sr.ttftP99WithWaiting]}></mx-chart>
      <mx-chart heading="Time per output token" note="ms, ${win}"
        .series=${sx([{ label: 'TPOT p50', color: C.p50 }, { label: 'TPOT p99', color: C.p99 }])}
        .axes=${{ y: 'ms' }} .data=${[t, sr.tpotP50, sr.tpotP99]}></mx-chart>
    </div>`;
  }

  /** Each tenant's offered demand, stacked (the top line is the total), so bursts and peaks can be seen interleaving. */
  private renderDemand() {
    const d = this.lab.demand;
    if (!d || d.perTenant.length === 0) return nothing;
    const n = d.perTenant.length;
    const colors = ['#5ec2ff', '#7ee787', '#ffb454', '#ff6b6b', '#b48cff', '#f2cc60', '#56d4bc', '#ff8fd0'];
    const series: ChartSeries[] = d.stacked.map((_, i) => ({ label: i === n - 1 && n > 1 ? `total (tenants 1–${n})` : n === 1 ? 'tenant 1' : `tenants 1–${i + 1}`, color: colors[i % colors.length]! }));
    const pctRows = d.stacked.map((row) => row.map((v) => 100 * v));
    return html`<mx-chart id="demand" heading="Demand by tenant" note="offered work per ${this.lab.series?.interval ?? 1} s as % of capacity, stacked: each band is one tenant; peak ÷ mean of the total ${fmt(d.peakToMean)}"
      .series=${series} .axes=${{ y: '%' }} .data=${[d.t, ...pctRows]}></mx-chart>`;
  }

  private renderComparison() {
    const c = this.lab.compare;
    if (!c) return nothing;
    const a = c.alone;
    const p = c.pooled;
    const row = (name: string, f: (x: Figures) => number, show: (v: number) => string) => {
      const va = a ? f(a) : NaN;
      const vp = p ? f(p) : NaN;
      const ratio = Number.isFinite(va) && Number.isFinite(vp) && va !== 0 ? `${fmt(vp / va)}×` : '—';
      return html`<tr><td>${name}</td><td>${a ? show(va) : '…'}</td><td>${p ? show(vp) : '…'}</td><td>${ratio}</td></tr>`;
    };
    return html`<div class="panel" id="comparison">
      <h3>One tenant alone vs ${c.tenants} tenants pooled</h3>
      <p class="muted">What was done: on this ${this.lab.info?.backend === 'gpu' ? 'GPU' : 'CPU reference backend'}, one tenant ran alone for ${c.duration} s,
        then ${c.tenants} tenants were pooled for ${c.duration} s, with the same model, max batch, policy and traffic shape; each tenant offers
        ρ = ${fmt(c.load)} of capacity. Figures are whole-run. ${c.step !== 'done' ? html`<b>Now running: ${c.step === 'alone' ? 'one tenant alone' : `${c.tenants} tenants pooled`}.</b>` : nothing}</p>
      <table class="cmp">
        <thead><tr><th></th><th>1 tenant alone</th><th>${c.tenants} tenants pooled</th><th>pooled ÷ alone</th></tr></thead>
        <tbody>
          ${row('Time utilization', (x) => x.timeUtilization, pct)}
          ${row('Capacity utilization', (x) => x.capacityUtilization, pct)}
          ${row('Output tokens/s', (x) => x.outputTokensPerS, tokensPerS)}
          ${row('Mean batch size', (x) => x.meanBatch, (v) => (Number.isFinite(v) ? v.toFixed(1) : '—'))}
          ${row('$ per 1M output tokens', (x) => x.costPerMOutput, dollars)}
          ${row('$ per 1M tokens (all)', (x) => x.costPerMAll, dollars)}
          ${row('TTFT p99 (waiting included)', (x) => x.serve.p99_ttft_ms_with_waiting / 1000, secs)}
          ${row('TPOT p99', (x) => x.serve.p99_tpot_ms / 1000, secs)}
          ${row('Met SLO (waiting included)', (x) => x.serve.slo_attainment_with_waiting, pct)}
        </tbody>
      </table>
    </div>`;
  }

  private renderControls() {
    const s = this.s;
    const l = this.lab;
    const slo = l.slo(s);
    const num = (id: string, label: string, value: number, lim: { min: number; max: number }, step: number, apply: (v: number) => void, hint?: string) =>
      html`<label>${label}${hint ? html` <span class="hint">${hint}</span>` : nothing}
        <input id=${id} type="number" min=${lim.min} max=${lim.max} step=${step} .value=${String(value)}
          @change=${(e: Event) => {
            const el = e.target as HTMLInputElement;
            const v = Number(el.value);
            if (el.value.trim() === '' || !Number.isFinite(v) || v < lim.min || v > lim.max || (step === 1 && !Number.isInteger(v))) {
              this.paramErrors = [`${label}: ${el.value} is invalid: expected ${step === 1 ? 'an integer' : 'a number'} from ${lim.min} to ${lim.max}.`];
              el.value = String(value);
              return;
            }
            apply(v);
          }} /></label>`;
    const sel = <T extends string>(id: string, label: string, value: T, options: readonly [T, string][], apply: (v: T) => void) =>
      html`<label>${label}<select id=${id} @change=${(e: Event) => apply((e.target as HTMLSelectElement).value as T)}>
        ${options.map(([v, text]) => html`<option value=${v} ?selected=${v === value}>${text}</option>`)}
      </select></label>`;
    const sloInput = (id: string, label: string, value: SloValue, auto: number, apply: (v: SloValue) => void) =>
      html`<label>${label} <span class="hint">${value === 'auto' ? `auto = ${secs(auto)}` : ''}</span>
        <input id=${id} type="text" .value=${value === 'auto' ? 'auto' : String(value)} title="seconds, or auto"
          @change=${(e: Event) => {
            const el = e.target as HTMLInputElement;
            const raw = el.value.trim();
            const v = Number(raw);
            if (raw === 'auto') apply('auto');
            else if (raw !== '' && Number.isFinite(v) && v >= LIMITS.slo.min && v <= LIMITS.slo.max) apply(v);
            else {
              this.paramErrors = [`${label}: ${raw} is invalid: expected seconds from ${LIMITS.slo.min} to ${LIMITS.slo.max}, or auto.`];
              el.value = value === 'auto' ? 'auto' : String(value);
            }
          }} /></label>`;
    return html`<form class="panel" id="controls" @submit=${(e: Event) => e.preventDefault()}>
      <h3>Settings</h3>
      <fieldset><legend>Traffic</legend>
        ${num('ctl-tenants', 'Tenants', s.tenants, LIMITS.tenants, 1, (v) => this.set({ tenants: v }))}
        ${sel('ctl-traffic', 'Shape', s.traffic, TRAFFIC_SHAPES.map((t) => [t, TRAFFIC_LABELS[t]] as [TrafficShape, string]), (v) => this.set({ traffic: v }))}
        ${s.traffic === 'gamma' ? num('ctl-cv', 'Burstiness (CV)', s.cv, LIMITS.cv, 0.1, (v) => this.set({ cv: v }), '1 = Poisson') : nothing}
        ${num('ctl-load', 'Load per tenant ρ', s.load, LIMITS.load, 0.01, (v) => this.set({ load: v }), `total ${fmt(s.load * s.tenants)}`)}
        ${num('ctl-prompt', 'Prompt tokens (mean)', s.prompt, LIMITS.tokens, 1, (v) => this.set({ prompt: v }))}
        ${num('ctl-output', 'Output tokens (mean)', s.output, LIMITS.tokens, 1, (v) => this.set({ output: v }))}
        ${num('ctl-speed', 'Pattern speed', s.speed, LIMITS.speed, 0.25, (v) => this.set({ speed: v }), 'diurnal, on/off')}
        ${num('ctl-seed', 'Seed', s.seed, LIMITS.seed, 1, (v) => this.set({ seed: v }))}
        ${s.traffic === 'trace' ? this.renderTraceControls() : nothing}
      </fieldset>
      <fieldset><legend>Engine</legend>
        ${num('ctl-batch', 'Max batch', s.batch, LIMITS.batch, 1, (v) => this.set({ batch: v }))}
        ${sel('ctl-policy', 'Policy', s.policy, [['fcfs', 'first come, first served'], ['fair', 'fair share per tenant']], (v) => this.set({ policy: v }))}
        ${sel('ctl-preempt', 'When KV is full', s.preempt, [['recompute', 'preempt (recompute)'], ['none', 'reserve, never preempt']], (v) => this.set({ preempt: v }))}
        ${num('ctl-kv', 'KV cache fraction', s.kv, LIMITS.kv, 0.05, (v) => this.set({ kv: v }))}
        ${num('ctl-duration', 'Run length (s)', s.duration, LIMITS.duration, 5, (v) => this.set({ duration: v }))}
        ${sel('ctl-mode', 'Mode', s.mode, [['live', 'one live run'], ['compare', 'alone vs pooled']], (v) => this.set({ mode: v }))}
      </fieldset>
      <fieldset><legend>SLOs and price</legend>
        ${sloInput('ctl-ttft', 'TTFT SLO (s)', s.ttft, slo.ttft, (v) => this.set({ ttft: v }))}
        ${sloInput('ctl-tpot', 'TPOT SLO (s)', s.tpot, slo.tpot, (v) => this.set({ tpot: v }))}
        ${sel('ctl-gpu', 'Price preset', s.gpu, [...GPU_PRICES.map((p) => [p.id, `${p.label} ($${p.dollarsPerGpuHour}/h)`] as [GpuPriceId, string]), ['custom', 'custom']] as [GpuPriceId | 'custom', string][], (v) =>
          this.set(v === 'custom' ? { gpu: v } : { gpu: v, price: GPU_PRICES.find((p) => p.id === v)!.dollarsPerGpuHour }),
        )}
        ${num('ctl-price', '$ per GPU-hour', s.price, LIMITS.price, 0.1, (v) => this.set({ price: v, gpu: 'custom' }))}
        <div class="muted" id="price-label">${priceLabel(s)}. Prices are assumptions, not quotes.</div>
      </fieldset>
      <div class="muted">Every setting is in the page's URL: copy it to share or restore this lab.</div>
    </form>`;
  }

  private renderTraceControls() {
    const s = this.s;
    return html`
      <label>Trace file <input id="ctl-trace-file" type="file" accept=".csv,.jsonl,.json,.txt" @change=${async (e: Event) => {
        const f = (e.target as HTMLInputElement).files?.[0];
        if (f) this.lab.useTrace(await f.text(), f.name);
      }} /></label>
      <label>Token scale <span class="hint">× counts; auto fits prompt + output</span>
        <input id="ctl-tokenscale" type="text" .value=${String(s.tokenScale)} @change=${(e: Event) => {
          const raw = (e.target as HTMLInputElement).value.trim();
          const v = Number(raw);
          if (raw === 'auto') this.set({ tokenScale: 'auto' });
          else if (Number.isFinite(v) && v >= LIMITS.tokenScale.min && v <= LIMITS.tokenScale.max) this.set({ tokenScale: v });
          else this.paramErrors = [`Token scale: ${raw} is invalid: expected a number from ${LIMITS.tokenScale.min} to ${LIMITS.tokenScale.max}, or auto.`];
        }} /></label>
      <div class="muted" id="trace-message">${this.lab.traceMessage || 'No trace yet. Time is compressed so each tenant offers ρ; tokens are scaled and clipped to the model’s context; the run states both.'}</div>`;
  }

  private renderExplain() {
    return html`<div class="panel" id="explain">
      <h3>What the numbers mean</h3>
      <dl>
        <dt>Time utilization</dt><dd>Busy time ÷ wall time. Busy time is the GPU execution time of each step, from timestamp queries where the device has them; otherwise each step's wall time from submission to results (so it includes the readback), and the notes say so.</dd>
        <dt>Capacity utilization</dt><dd>Work served ÷ wall time. A request's work is the GPU-seconds it costs this device flat out: its prompt in full chunks, its output at the largest batch that fits, from the step-time model fitted when the lab calibrated on start. It is the fleet view's unit: 100% means nothing more fits.</dd>
        <dt>Load ρ, offered load</dt><dd>Each tenant's offered work as a fraction of capacity (requests/s × work per request). The same preset loads any device alike. Offered load is what actually arrived; above 100%, queues grow whatever the scheduler does.</dd>
        <dt>Cost per 1M tokens</dt><dd>$/GPU-hour ÷ (tokens served per hour ÷ 1M), for output tokens and for all tokens (prompt + output). An idle hour costs the same as a busy one.</dd>
        <dt>TTFT, TPOT, ITL</dt><dd>Arrival to first token; (end-to-end − TTFT) ÷ (output tokens − 1); the gaps between a request's tokens (vLLM bench serve's definitions). p50/p99 over the ${WINDOW_S} s sliding window (big numbers and charts) or the whole run (small print). A request still waiting for its first token counts at its age so far, a lower bound of its TTFT, and as an SLO miss once that age passes the TTFT SLO: otherwise a queue that never drains would look fast. “Completed only” figures leave waiting requests out, as vLLM's do.</dd>
      </dl>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mx-lab-view': MxLabView;
  }
}
