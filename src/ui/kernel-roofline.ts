// The roofline chart of the kernel view (uPlot, log-log): arithmetic intensity (FLOP/byte) on x,
// achieved GFLOPS on y, with the device's two measured ceilings: bandwidth (GB/s × intensity,
// left of the ridge) and compute (peak GFLOPS, right of it). Each benchmarked kernel is a point;
// a point's height under the roof is its fraction of peak.
//
// Points of one series may share an intensity (variants of one shape), so the aligned table gives
// every point its own row (x sorted, repeated where needed) and the ceilings a value on every row.
// Redraws at most once per animation frame.
import { UplotElement } from './uplot-element.js';
import { css, html, unsafeCSS } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';

export interface RooflinePoint {
  /** Which series: one colour each. */
  group: string;
  label: string;
  intensity: number;
  gflops: number;
}

export interface RooflineGroup {
  name: string;
  color: string;
}

/**
 * The aligned columns: x, compute ceiling, bandwidth ceiling, then one column per group.
 * Exported for tests and for other charts.
 */
export function rooflineColumns(
  peak: { gflops: number; gbs: number },
  points: readonly RooflinePoint[],
  groups: readonly RooflineGroup[],
): (number | null)[][] {
  const pts = points.filter((p) => p.intensity > 0 && p.gflops > 0 && Number.isFinite(p.intensity) && Number.isFinite(p.gflops));
  const ridge = peak.gflops / peak.gbs;
  const xs = pts.map((p) => p.intensity);
  const lo = Math.min(ridge, ...xs) / 4;
  const hi = Math.max(ridge, ...xs) * 4;
  // Ceiling grid: 24 log-spaced points over the range, and the ridge itself.
  const grid = Array.from({ length: 25 }, (_, i) => lo * (hi / lo) ** (i / 24));
  const rows: { x: number; point?: RooflinePoint }[] = [...grid.map((x) => ({ x })), { x: ridge }, ...pts.map((p) => ({ x: p.intensity, point: p }))];
  rows.sort((a, b) => a.x - b.x);
  const cols: (number | null)[][] = [rows.map((r) => r.x), [], [], ...groups.map(() => [])];
  for (const r of rows) {
    cols[1]!.push(r.x >= ridge ? peak.gflops : null);
    cols[2]!.push(r.x <= ridge ? r.x * peak.gbs : null);
    groups.forEach((g, i) => cols[3 + i]!.push(r.point && r.point.group === g.name ? r.point.gflops : null));
  }
  return cols;
}

@customElement('mx-roofline')
export class MxRoofline extends UplotElement {
  static override styles = [
    unsafeCSS(uplotCss),
    css`
      :host { display: block; background: var(--panel); border-radius: 8px; padding: 8px 10px 4px; min-width: 0; }
      h3 { margin: 0 0 2px; font-size: 1rem; font-weight: 600; }
      .sub { color: var(--muted); font-size: 0.8rem; margin-bottom: 4px; }
      .u-legend { font-size: 0.8rem; color: var(--text); }
    `,
  ];

  @property({ attribute: false }) peak?: { gflops: number; gbs: number };
  @property({ attribute: false }) points: RooflinePoint[] = [];
  @property({ attribute: false }) groups: RooflineGroup[] = [];
  @property({ type: Number }) height = 320;

  private structure = '';

  override render() {
    return html`<h3>Roofline</h3>
      <div class="sub">achieved GFLOPS vs arithmetic intensity (FLOP/byte of minimum traffic), log-log; dashed: the measured ceilings</div>
      <div class="plot"></div>`;
  }

  protected override draw(): void {
    const box = this.renderRoot.querySelector('.plot') as HTMLElement | null;
    if (!box || !this.peak) return;
    const width = Math.max(160, Math.floor(box.clientWidth));
    const data = rooflineColumns(this.peak, this.points, this.groups) as uPlot.AlignedData;
    const key = JSON.stringify([this.groups, this.height]);
    if (!this.plot || key !== this.structure) {
      this.plot?.destroy();
      this.structure = key;
      this.plot = new uPlot(this.options(width), data, box);
      return;
    }
    if (this.plot.width !== width) this.plot.setSize({ width, height: this.height });
    this.plot.setData(data);
  }

  private options(width: number): uPlot.Options {
    const axis = (label: string): uPlot.Axis => ({
      label,
      stroke: '#9aa0aa',
      grid: { stroke: '#262b36', width: 1 },
      ticks: { stroke: '#262b36' },
      labelSize: 18,
      font: '12px system-ui, sans-serif',
      labelFont: '12px system-ui, sans-serif',
    });
    const fmt = (v: number | null) => (v === null ? '—' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));
    return {
      width,
      height: this.height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false, distr: 3 }, y: { distr: 3 } },
      axes: [axis('arithmetic intensity (FLOP/byte)'), { ...axis('GFLOPS'), size: 60 }],
      series: [
        { label: 'FLOP/byte', value: (_u, v) => fmt(v) },
        { label: 'compute ceiling', stroke: '#f0b429', width: 2, dash: [6, 4], spanGaps: true, points: { show: false }, value: (_u, v) => fmt(v) },
        { label: 'bandwidth ceiling', stroke: '#4cc9f0', width: 2, dash: [6, 4], spanGaps: true, points: { show: false }, value: (_u, v) => fmt(v) },
        ...this.groups.map(
          (g): uPlot.Series => ({
            label: g.name,
            stroke: g.color,
            fill: undefined,
            width: 0,
            paths: () => null,
            points: { show: true, size: 8, stroke: g.color, fill: g.color },
            value: (_u, v) => fmt(v),
          }),
        ),
      ],
    };
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mx-roofline': MxRoofline;
  }
}
