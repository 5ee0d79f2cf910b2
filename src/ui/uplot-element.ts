// Base of the page's uPlot charts: redraws at most once per animation frame (after a property
// change or a resize) and frees the plot when the element leaves the page. Subclasses draw.
import { LitElement, type PropertyValues } from 'lit';
import type uPlot from 'uplot';

export abstract class UplotElement extends LitElement {
  protected plot?: uPlot;
  private frame = 0;
  private resize?: ResizeObserver;

  /** Builds or updates `this.plot` for the current properties and width. */
  protected abstract draw(): void;

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize?.disconnect();
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.plot?.destroy();
    this.plot = undefined;
  }

  protected override updated(_changed: PropertyValues): void {
    this.schedule();
  }

  /** Coalesces every change until the next animation frame. */
  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }
}
