// Charts: a Lit element around uPlot. It takes column arrays (x first, then one array per series),
// redraws at most once per animation frame however often data arrives, and thins the points to
// the plot's pixel width (one point per pixel: the mean of the values that fall in it, so a
// 10-minute run at 1 s buckets costs no more to draw than a 10-second one). (STYLE 10; uPlot.)
import { UplotElement } from './uplot-element.js';
import { css, html, unsafeCSS } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';

export type Column = readonly (number | null)[];

export interface ChartSeries {
  label: string;
  color: string;
  /** Dashed line (reference values such as capacity). */
  dash?: boolean;
  /** Axis scale key; a second key gets its own axis on the right. Default 'y'. */
  scale?: string;
}

/**
 * Thins aligned columns (x first) to at most `maxPoints` points: consecutive points are grouped
 * into equal runs and each group becomes one point, x the group's first x and every series the
 * mean of its non-null values (null when all are null). Columns shorter than maxPoints are
 * returned as they are.
 */
export function thinColumns(data: readonly Column[], maxPoints: number): Column[] {
  const n = data[0]?.length ?? 0;
  const m = Math.max(1, Math.floor(maxPoints));
  if (n <= m) return data.slice();
  const out: (number | null)[][] = data.map(() => new Array<number | null>(m));
  for (let g = 0; g < m; g++) {
    const a = Math.floor((g * n) / m);
    const b = Math.floor(((g + 1) * n) / m);
    out[0]![g] = data[0]![a]!;
    for (let c = 1; c < data.length; c++) {
      const col = data[c]!;
      let sum = 0;
      let k = 0;
      for (let i = a; i < b; i++) {
        const v = col[i];
        if (v !== null && v !== undefined && Number.isFinite(v)) {
          sum += v;
          k++;
        }
      }
      out[c]![g] = k > 0 ? sum / k : null;
    }
  }
  return out;
}

@customElement('mx-chart')
export class MxChart extends UplotElement {
  static override styles = [
    unsafeCSS(uplotCss),
    css`
      :host { display: block; background: var(--panel); border-radius: 8px; padding: 8px 10px 4px; min-width: 0; }
      h3 { margin: 0 0 2px; font-size: 1rem; font-weight: 600; }
      .sub { color: var(--muted); font-size: 0.8rem; margin-bottom: 4px; }
      .plot { width: 100%; }
      .u-legend { font-size: 0.8rem; color: var(--text); }
      .u-legend .u-marker { width: 12px; height: 3px; }
    `,
  ];

  @property() heading = '';
  /** Small print under the title (units, window). */
  @property() note = '';
  @property({ attribute: false }) series: ChartSeries[] = [];
  /** Label of each y scale, by key. */
  @property({ attribute: false }) axes: Record<string, string> = { y: '' };
  /** x in seconds first, then one column per series. */
  @property({ attribute: false }) data: Column[] = [];
  @property({ type: Number }) height = 180;
  /** Fixed y range of the 'y' scale (e.g. [0, 100] for percentages). */
  @property({ attribute: false }) yRange?: [number, number];
  /** Log-scale the 'y' axis. */
  @property({ type: Boolean }) log = false;
  /** Label of the x axis (default: run time in seconds). */
  @property() xLabel = 'run time (s)';
  /** Mark every point (sweeps: a few points, each a run). */
  @property({ type: Boolean }) points = false;

  private structure = '';

  override render() {
    return html`<h3>${this.heading}</h3>${this.note ? html`<div class="sub">${this.note}</div>` : ''}<div class="plot"></div>`;
  }

  protected override draw(): void {
    const box = this.renderRoot.querySelector('.plot') as HTMLElement | null;
    if (!box) return;
    const width = Math.max(120, Math.floor(box.clientWidth));
    const key = JSON.stringify([this.series, this.axes, this.yRange, this.log, this.height, this.xLabel, this.points]);
    if (!this.plot || key !== this.structure) {
      this.plot?.destroy();
      this.structure = key;
      this.plot = new uPlot(this.options(width), this.columns(width), box);
      return;
    }
    if (this.plot.width !== width) this.plot.setSize({ width, height: this.height });
    this.plot.setData(this.columns(width));
  }

  private columns(width: number): uPlot.AlignedData {
    const cols = this.data.length === this.series.length + 1 ? this.data : [[], ...this.series.map(() => [])];
    return thinColumns(cols, width) as uPlot.AlignedData;
  }

  private options(width: number): uPlot.Options {
    const scales = [...new Set(this.series.map((s) => s.scale ?? 'y'))];
    const axis = (scale: string, side: 0 | 1): uPlot.Axis => ({
      scale,
      side: side === 0 ? 3 : 1,
      label: this.axes[scale] ?? '',
      labelSize: 18,
      stroke: '#9aa0aa',
      grid: { show: side === 0, stroke: '#262b36', width: 1 },
      ticks: { stroke: '#262b36' },
      size: 56,
      font: '12px system-ui, sans-serif',
      labelFont: '12px system-ui, sans-serif',
    });
    const yScale: uPlot.Scale = this.log ? { distr: 3 } : this.yRange ? { range: this.yRange } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] };
    return {
      width,
      height: this.height,
      legend: { show: true, live: false },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: false }, y: yScale, ...Object.fromEntries(scales.filter((s) => s !== 'y').map((s) => [s, { range: (_u: uPlot, _a: number, b: number) => [0, b > 0 ? b * 1.1 : 1] } as uPlot.Scale])) },
      axes: [
        { stroke: '#9aa0aa', grid: { stroke: '#262b36', width: 1 }, ticks: { stroke: '#262b36' }, label: this.xLabel, labelSize: 18, font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' },
        ...scales.map((s, i) => axis(s, i === 0 ? 0 : 1)),
      ],
      series: [
        { label: this.xLabel === 'run time (s)' ? 't (s)' : this.xLabel },
        ...this.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          scale: s.scale ?? 'y',
          dash: s.dash ? [6, 4] : undefined,
          spanGaps: false,
          points: { show: this.points, size: 7 },
        })),
      ],
    };
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mx-chart': MxChart;
  }
}
