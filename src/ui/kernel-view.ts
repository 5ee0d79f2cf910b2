// The kernel view (`?view=kernels`), for kernel developers: the device's measured peaks, every
// matmul variant on the model's shapes side by side with GFLOPS, GB/s, fraction of peak and the
// check against the CPU reference, a roofline chart, the other kernels, a decode step's time per
// kernel, and onnxruntime-web on the same shapes where its peer is available. Everything it shows
// comes from KernelController, which runs the kernel worker (the page holds no GPUDevice).
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import './kernel-roofline.js';
import type { RooflineGroup, RooflinePoint } from './kernel-roofline.js';
import { KernelController, parseKernelSettings } from './kernel-controller.js';
import type { KernelReport, MatmulRow } from '../workers/kernel-api.js';

const GROUPS: RooflineGroup[] = [
  { name: 'matmul: fastest variant (ours)', color: '#7ee787' },
  { name: 'matmul: default rule', color: '#5ec2ff' },
  { name: 'matmul: other variants', color: '#6b7280' },
  { name: 'other kernels', color: '#ffb454' },
];

const num = (v: number | null | undefined, d = 2): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v !== 0 && Math.abs(v) < 0.1 ? v.toPrecision(2) : v.toFixed(d);
const ms = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v < 0.1 ? v.toFixed(4) : v < 10 ? v.toFixed(3) : v.toFixed(1);
const pct = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(1)}%`);
const ratio = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(2)}x`);

/** How the peer's matmul times were taken, in words. */
function ortTiming(rows: MatmulRow[]): string {
  const kinds = new Set(rows.map((r) => r.ort_timing).filter((t): t is string => t !== null));
  if (kinds.size === 0) return 'none measured';
  return [...kinds].map((k) => (k === 'gpu-timestamps' ? 'GPU timestamps of its kernels' : k === 'wall' ? 'wall time per run' : k)).join(', ');
}

@customElement('mx-kernel-view')
export class MxKernelView extends LitElement {
  static override styles = css`
    :host { display: block; padding: 12px 20px 40px; max-width: 1400px; margin: 0 auto; }
    h2 { font-size: 1.25rem; margin: 0 0 4px; }
    h3 { font-size: 1rem; margin: 0 0 6px; }
    .sub, .note { color: var(--muted); font-size: 0.85rem; }
    .panel { background: var(--panel); border-radius: 8px; padding: 12px 14px; margin-bottom: 12px; overflow-x: auto; }
    .figures { display: flex; gap: 28px; flex-wrap: wrap; align-items: end; }
    .fig b { font-size: 1.5rem; display: block; }
    .fig span { color: var(--muted); font-size: 0.8rem; }
    .row { display: flex; gap: 10px; flex-wrap: wrap; align-items: center; }
    button { font: inherit; background: var(--accent); color: #001018; border: none; border-radius: 6px; font-weight: 600; cursor: pointer; padding: 8px 14px; }
    button.secondary { background: #2c313c; color: var(--text); }
    button[disabled] { opacity: 0.5; cursor: default; }
    table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
    th, td { padding: 3px 8px; text-align: right; white-space: nowrap; border-bottom: 1px solid #232833; }
    th { color: var(--muted); font-weight: 500; }
    td.l, th.l { text-align: left; }
    td.bad { color: var(--err); }
    td.good { color: #7ee787; }
    .warn { color: var(--warn); }
    .err { color: var(--err); white-space: pre-wrap; }
    details summary { cursor: pointer; color: var(--muted); margin: 6px 0; }
    progress { width: 220px; }
  `;

  private readonly parsed = parseKernelSettings(location.search);
  private readonly ctl = new KernelController(this, this.parsed.settings);
  @state() private showAll = false;

  override render() {
    const c = this.ctl;
    return html`
      ${this.parsed.errors.length ? html`<div class="panel warn" id="param-errors">${this.parsed.errors.join(' ')}</div>` : nothing}
      ${this.renderHeader()} ${c.error ? html`<div class="panel err" id="error">${c.error}</div>` : nothing}
      ${c.peak ? html`<mx-roofline .peak=${c.peak} .points=${this.points()} .groups=${GROUPS}></mx-roofline>` : nothing}
      ${this.renderMatmul()} ${this.renderKernels()} ${this.renderDecode()}
    `;
  }

  private renderHeader(): TemplateResult {
    const c = this.ctl;
    const i = c.info;
    const p = c.peak;
    const s = c.settings;
    return html`<div class="panel">
      <h2>Kernel lab</h2>
      <div class="sub">Every WGSL kernel timed on this device, against its measured peak (the roofline) and its CPU reference.</div>
      ${i
        ? html`<div id="adapter">GPU: ${i.adapter}</div>
            <div class="sub" id="timing">
              ${i.timing === 'timestamp'
                ? 'Times: GPU timestamp queries, median per dispatch, warm-up excluded.'
                : html`<span class="warn">No timestamp queries on this adapter: times are submit→done wall time, which includes submission overhead.</span>`}
              Model: ${i.model.name} (dim ${i.model.dims.dim}, hidden ${i.model.dims.hiddenDim}, vocab ${i.model.dims.vocabSize}); shapes at M =
              ${s.batches.join(', ')}. ${i.tunedShapes > 0 ? `The autotuner holds ${i.tunedShapes} tuned shapes for this adapter.` : ''}
            </div>`
        : html`<div>${c.task === 'open' ? 'Starting the kernel worker and loading the model…' : ''}</div>`}
      <div class="figures" style="margin-top:10px">
        <div class="fig"><b id="peak-gflops">${p ? num(p.gflops) : '…'}</b><span>peak GFLOPS (FMA)</span></div>
        <div class="fig"><b id="peak-gbs">${p ? num(p.gbs) : '…'}</b><span>peak GB/s (copy ${p ? num(p.copy_gbs) : '…'}, read ${p ? num(p.read_gbs) : '…'})</span></div>
        <div class="fig"><b id="ridge">${p ? num(p.ridge) : '…'}</b><span>ridge, FLOP/byte</span></div>
      </div>
      <div class="row" style="margin-top:12px">
        <button id="run-matmul" ?disabled=${!i || c.busy} @click=${() => void c.runMatmul()}>Run matmul benchmark</button>
        <button id="run-kernels" class="secondary" ?disabled=${!i || c.busy} @click=${() => void c.runKernels()}>Run other kernels</button>
        <button id="run-decode" class="secondary" ?disabled=${!i || c.busy} @click=${() => void c.runDecode()}>Run decode step breakdown</button>
        <button id="remeasure-peak" class="secondary" ?disabled=${!i || c.busy} @click=${() => void c.measurePeak(true)}>Measure peak again</button>
        <button id="download-json" class="secondary" ?disabled=${!c.matmul && !c.kernels && !c.decode} @click=${() => this.download()}>Download JSON</button>
        ${c.task ? html`<span id="progress">${this.taskLabel()}${c.progress ? html` <progress max=${c.progress.total} value=${c.progress.done}></progress> ${c.progress.what}` : '…'}</span>` : nothing}
      </div>
    </div>`;
  }

  private taskLabel(): string {
    return { open: 'Opening', peak: 'Measuring the peaks', matmul: 'Matmul benchmark', kernels: 'Other kernels', decode: 'Decode steps' }[this.ctl.task!];
  }

  private points(): RooflinePoint[] {
    const out: RooflinePoint[] = [];
    for (const r of this.ctl.matmul?.rows ?? []) {
      const ai = r.arithmetic_intensity;
      for (const v of r.variants) {
        if (v.gflops === null || !v.correct) continue;
        const group = v.variant === r.ours_variant ? GROUPS[0]!.name : v.is_default ? GROUPS[1]!.name : GROUPS[2]!.name;
        out.push({ group, label: `${v.variant} M=${r.m} N=${r.n} K=${r.k}`, intensity: ai, gflops: v.gflops });
      }
    }
    for (const k of this.ctl.kernels ?? []) {
      if (k.gflops !== null && k.arithmetic_intensity > 0) out.push({ group: GROUPS[3]!.name, label: `${k.kernel} ${k.shape}`, intensity: k.arithmetic_intensity, gflops: k.gflops });
    }
    return out;
  }

  private renderMatmul(): TemplateResult | typeof nothing {
    const m = this.ctl.matmul;
    if (!m) return nothing;
    const ort = m.ort;
    const showOrt = ort.available;
    return html`<div class="panel">
      <h3>Matmul y(M,N) = x(M,K)·w(N,K)ᵀ on the model's shapes</h3>
      <div class="sub">
        "Ours" is the fastest variant that passed its check (the autotuner's pick, saved for this adapter: ${m.autotune.differ_from_default} of
        ${m.rows.length} shapes differ from the default rule). Fraction of peak: achieved GFLOPS over the roofline at the shape's
        arithmetic intensity (above 100%: the working set sat in a cache faster than the measured DRAM bandwidth).
      </div>
      <div class="note" id="ort-note">${showOrt ? `Compared with ${ort.note}; its times: ${ortTiming(m.rows)}.` : ort.note}</div>
      <table id="matmul-table">
        <thead>
          <tr>
            <th class="l">weights</th><th>M</th><th>N</th><th>K</th><th class="l">default rule</th><th>ms</th><th class="l">fastest (ours)</th><th>ms</th>
            <th>fastest / default</th><th>GFLOPS</th><th>GB/s</th><th>FLOP/byte</th><th>fraction of peak</th><th class="l">bound</th><th>correct</th>
            ${showOrt ? html`<th id="ort-col">onnxruntime-web ms</th><th>ORT / ours</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${m.rows.map(
            (r) => html`<tr>
              <td class="l">${r.name}</td><td>${r.m}</td><td>${r.n}</td><td>${r.k}</td>
              <td class="l">${r.default_variant}</td><td>${ms(r.default_ms)}</td>
              <td class="l">${r.ours_variant ?? '—'}</td><td class="ms">${ms(r.ours_ms)}</td>
              <td>${ratio(r.tuned_over_default)}</td>
              <td class="gflops">${num(r.gflops)}</td><td class="gbs">${num(r.gbs)}</td><td>${num(r.arithmetic_intensity)}</td>
              <td class="fraction">${pct(r.fraction_of_peak)}</td><td class="l">${r.bound}</td>
              <td class="ok ${r.correct ? 'good' : 'bad'}">${r.correct ? '✓' : '✗'}</td>
              ${showOrt
                ? html`<td class="ort">${ms(r.ort_ms)}</td><td class="ort-ratio ${r.ratio_ort_over_ours !== null && r.ratio_ort_over_ours >= 1 ? 'good' : ''}">${ratio(r.ratio_ort_over_ours)}</td>`
                : nothing}
            </tr>`,
          )}
        </tbody>
      </table>
      ${this.renderSideBySide(m.rows)}
      <details ?open=${this.showAll} @toggle=${(e: Event) => (this.showAll = (e.target as HTMLDetailsElement).open)}>
        <summary>Every variant of every shape</summary>
        ${this.showAll ? this.renderAllVariants(m.rows) : nothing}
      </details>
    </div>`;
  }

  /** GFLOPS of each variant over all shapes at each M (total FLOPs / total time). */
  private renderSideBySide(rows: MatmulRow[]): TemplateResult {
    const ms = [...new Set(rows.map((r) => r.m))];
    const names = [...new Set(rows.flatMap((r) => r.variants.map((v) => v.variant)))];
    const cell = (name: string, m: number) => {
      let flops = 0;
      let t = 0;
      for (const r of rows.filter((x) => x.m === m)) {
        const v = r.variants.find((x) => x.variant === name);
        if (!v || v.ms === null || !v.correct) return '—';
        flops += 2 * r.m * r.n * r.k;
        t += v.ms;
      }
      return num(flops / (t * 1e6));
    };
    return html`<h3 style="margin-top:14px">Variants side by side: GFLOPS over all shapes at each M</h3>
      <table id="variants-table">
        <thead><tr><th class="l">variant</th>${ms.map((m) => html`<th>M=${m}</th>`)}</tr></thead>
        <tbody>${names.map((n) => html`<tr><td class="l">${n}</td>${ms.map((m) => html`<td>${cell(n, m)}</td>`)}</tr>`)}</tbody>
      </table>`;
  }

  private renderAllVariants(rows: MatmulRow[]): TemplateResult {
    return html`<table id="all-variants">
      <thead><tr><th class="l">shape</th><th class="l">variant</th><th>ms</th><th>GFLOPS</th><th>GB/s</th><th>fraction of peak</th><th>error / tolerance</th><th>correct</th></tr></thead>
      <tbody>
        ${rows.flatMap((r) =>
          r.variants.map(
            (v) => html`<tr>
              <td class="l">M=${r.m} N=${r.n} K=${r.k}</td><td class="l">${v.variant}${v.is_default ? ' (default)' : ''}${v.pruned ? ' (timed once)' : ''}</td>
              <td>${ms(v.ms)}</td><td>${num(v.gflops)}</td><td>${num(v.gbs)}</td><td>${pct(v.fraction_of_peak)}</td>
              <td>${num(v.error_ratio, 3)}</td><td class=${v.correct ? 'good' : 'bad'}>${v.correct ? '✓' : `✗ ${v.error ?? ''}`}</td>
            </tr>`,
          ),
        )}
      </tbody>
    </table>`;
  }

  private renderKernels(): TemplateResult | typeof nothing {
    const ks = this.ctl.kernels;
    if (!ks) return nothing;
    return html`<div class="panel">
      <h3>The other kernels of a step</h3>
      <div class="sub">Pure copies (embedding) are measured against the bandwidth ceiling; * marks the variant the engine uses.</div>
      <table id="kernels-table">
        <thead><tr><th class="l">kernel</th><th class="l">shape</th><th class="l">variant</th><th>ms</th><th>GFLOPS</th><th>GB/s</th><th>fraction of peak</th><th class="l">bound</th><th>correct</th></tr></thead>
        <tbody>
          ${ks.map(
            (k) => html`<tr>
              <td class="l">${k.kernel}</td><td class="l">${k.shape}</td><td class="l">${k.variant}${k.is_default && k.variant !== 'default' ? '*' : ''}</td>
              <td>${ms(k.ms)}</td><td class="gflops">${num(k.gflops)}</td><td>${num(k.gbs)}</td><td class="fraction">${pct(k.fraction_of_peak)}</td>
              <td class="l">${k.bound}</td><td class=${k.correct ? 'good' : 'bad'}>${k.correct ? '✓' : `✗ ${k.error ?? ''}`}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  private renderDecode(): TemplateResult | typeof nothing {
    const d = this.ctl.decode;
    if (!d) return nothing;
    const labels = [...new Set(d.steps.flatMap((s) => s.kernels.map((k) => k.label)))];
    return html`<div class="panel">
      <h3>A decode step, time per kernel</h3>
      <div class="sub">
        ${d.steps[0]?.source === 'timestamp' ? 'One timed pass per kernel (GPU timestamps).' : 'Wall time only: no per-kernel split on this adapter.'}
        Context ${d.steps[0]?.context ?? '—'} positions per sequence.
      </div>
      <div class="figures" style="margin:8px 0">
        <div class="fig"><b id="decode-b1">${num(d.ours_tokens_per_s, 1)}</b><span>tokens/s at batch 1</span></div>
        <div class="fig"><b id="decode-b16">${num(d.ours_batch16_tokens_per_s, 1)}</b><span>tokens/s at batch 16</span></div>
        <div class="fig"><b id="decode-ratio">${ratio(d.ours_batch16_over_batch1)}</b><span>batch 16 / batch 1</span></div>
        ${d.ort_tokens_per_s !== null
          ? html`<div class="fig"><b id="decode-ort">${num(d.ort_tokens_per_s, 1)}</b><span>onnxruntime-web (${d.ort_backend ?? '?'}) tokens/s at batch 1</span></div>
              <div class="fig"><b id="decode-ort-ratio">${ratio(d.ratio_ours_over_ort)}</b><span>ours / onnxruntime-web at batch 1</span></div>`
          : nothing}
      </div>
      ${d.ort_note ? html`<div class="note" id="decode-ort-note">${d.ort_note}</div>` : nothing}
      <table id="decode-table">
        <thead><tr><th class="l">kernel</th>${d.steps.map((s) => html`<th>batch ${s.batch}</th>`)}</tr></thead>
        <tbody>
          ${labels.map(
            (l) => html`<tr><td class="l">${l}</td>${d.steps.map((s) => {
              const k = s.kernels.find((x) => x.label === l);
              return html`<td>${k ? `${pct(k.share)} · ${ms(k.ms)} ms · ${k.dispatches}×` : '—'}</td>`;
            })}</tr>`,
          )}
          <tr><td class="l">step GPU time</td>${d.steps.map((s) => html`<td>${ms(s.stepMs)} ms</td>`)}</tr>
          <tr><td class="l">dispatches per step</td>${d.steps.map((s) => html`<td class="dispatches">${s.dispatches}</td>`)}</tr>
        </tbody>
      </table>
    </div>`;
  }

  private download(): void {
    const c = this.ctl;
    const i = c.info;
    if (!i) return;
    const report: KernelReport = {
      adapter: i.adapter,
      adapter_key: i.adapterKey,
      software: i.software,
      model: i.model.name,
      model_dims: i.model.dims,
      generated_at: new Date().toISOString(),
      timing_source: i.timing,
      peak: c.peak ?? null,
      matmul: c.matmul?.rows ?? [],
      kernels: c.kernels ?? [],
      decode: c.decode ?? null,
      ort: c.matmul?.ort ?? { available: false, note: 'not run', backend: null, version: null },
      autotune: c.matmul?.autotune ?? null,
    };
    const url = URL.createObjectURL(new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'kernel-lab.json';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mx-kernel-view': MxKernelView;
  }
}
