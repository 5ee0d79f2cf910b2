// The page shell: a header with the views (`?view=` in the URL) and the selected view below.
import { LitElement, css, html } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import './generate-view.js';
import './lab-view.js';
import './kernel-view.js';
import './fleet-view.js';

export const VIEWS = [
  { id: 'lab', label: 'Load lab' },
  { id: 'generate', label: 'Generate' },
  { id: 'kernels', label: 'Kernels' },
  { id: 'fleet', label: 'Fleet simulator' },
] as const;
export type ViewId = (typeof VIEWS)[number]['id'];

function viewFromUrl(): ViewId {
  const v = new URLSearchParams(location.search).get('view');
  return (VIEWS.find((x) => x.id === v)?.id ?? VIEWS[0].id) as ViewId;
}

@customElement('mx-app')
export class MxApp extends LitElement {
  static override styles = css`
    :host { display: block; }
    header { display: flex; align-items: baseline; gap: 24px; padding: 12px 20px; border-bottom: 1px solid #232833; }
    h1 { font-size: 1.3rem; margin: 0; }
    .tag { color: var(--muted); font-size: 0.9rem; }
    nav { display: flex; gap: 4px; margin-left: auto; }
    nav a { color: var(--muted); text-decoration: none; padding: 6px 12px; border-radius: 6px; }
    nav a[aria-current='page'] { color: var(--text); background: var(--panel); }
  `;

  @state() private view: ViewId = viewFromUrl();

  private go(e: Event, id: ViewId): void {
    e.preventDefault();
    const q = new URLSearchParams(location.search);
    q.set('view', id);
    history.pushState(null, '', `?${q}`);
    this.view = id;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener('popstate', () => (this.view = viewFromUrl()));
  }

  override render() {
    return html`
      <header>
        <h1>Multiplex</h1>
        <span class="tag">your GPU, many tenants, the cost of a token</span>
        <nav>
          ${VIEWS.map(
            (v) =>
              html`<a href="?view=${v.id}" aria-current=${v.id === this.view ? 'page' : 'false'} @click=${(e: Event) => this.go(e, v.id)}>${v.label}</a>`,
          )}
        </nav>
      </header>
      ${this.view === 'lab' ? html`<mx-lab-view></mx-lab-view>` : this.view === 'generate' ? html`<mx-generate-view></mx-generate-view>` : this.view === 'kernels' ? html`<mx-kernel-view></mx-kernel-view>` : this.view === 'fleet' ? html`<mx-fleet-view></mx-fleet-view>` : html``}
    `;
  }
}
