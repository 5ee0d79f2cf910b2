// The generation page: pick a model, type a prompt, watch tokens stream with tokens/s. The engine
// runs in a worker (src/workers/engine-worker.ts); this component only renders its reports.
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { Comlink, engine } from './engine-client.js';
import type { EngineInfo, LoadProgress, ModelSource } from '../workers/engine-api.js';
import type { GenerationStats } from '../model/generate.js';
import { MODEL_CATALOG, type CatalogEntry } from './catalog.js';
import { parsePageParams, type PageParams } from './params.js';

@customElement('mx-generate-view')
export class MxGenerateView extends LitElement {
  static override styles = css`
    :host { display: block; max-width: 980px; margin: 0 auto; padding: 16px 20px; }
    h1 { font-size: 1.4rem; margin: 0 0 4px; }
    .sub { color: var(--muted); margin: 0 0 16px; }
    .panel { background: var(--panel); border-radius: 8px; padding: 12px 14px; margin-bottom: 12px; }
    .row { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; }
    label { display: flex; flex-direction: column; font-size: 0.8rem; color: var(--muted); gap: 4px; }
    input, select, textarea, button { font: inherit; color: var(--text); background: #10131a; border: 1px solid #2c313c; border-radius: 6px; padding: 6px 8px; }
    textarea { width: 100%; box-sizing: border-box; min-height: 3em; }
    input[type='number'] { width: 7em; }
    button { background: var(--accent); color: #001018; border: none; font-weight: 600; cursor: pointer; padding: 8px 16px; }
    button[disabled] { opacity: 0.5; cursor: default; }
    #output { white-space: pre-wrap; font-family: ui-monospace, monospace; min-height: 8em; line-height: 1.45; }
    .figures { display: flex; gap: 24px; flex-wrap: wrap; }
    .fig b { font-size: 1.6rem; display: block; }
    .fig span { color: var(--muted); font-size: 0.8rem; }
    .warn { color: var(--warn); }
    .files { color: var(--muted); font-size: 0.85rem; }
    .err { color: var(--err); white-space: pre-wrap; }
    progress { width: 240px; }
  `;

  @state() private info?: EngineInfo;
  @state() private progress?: LoadProgress;
  @state() private error = '';
  @state() private busy = false;
  @state() private output = '';
  @state() private tokens = 0;
  @state() private tokensPerS = 0;
  @state() private stats?: GenerationStats;
  @state() private params: PageParams = parsePageParams(location.search).params;
  @state() private paramErrors: string[] = parsePageParams(location.search).errors;

  private engine = engine();

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load(this.sourceFromParams());
  }

  private sourceFromParams(): ModelSource {
    const p = this.params;
    if (p.checkpoint && p.tokenizer) return { name: p.checkpoint.split('/').pop() ?? 'model', checkpoint: p.checkpoint, tokenizer: p.tokenizer };
    const entry = MODEL_CATALOG.find((m) => m.id === p.model) ?? MODEL_CATALOG[0]!;
    return catalogSource(entry);
  }

  private async load(source: ModelSource): Promise<void> {
    this.error = '';
    this.info = undefined;
    this.busy = true;
    try {
      this.info = await this.engine.api.load(
        source,
        this.params.backend,
        Comlink.proxy((p: LoadProgress) => {
          this.progress = p;
        }),
      );
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.progress = undefined;
      this.busy = false;
    }
  }

  private async run(): Promise<void> {
    const root = this.renderRoot;
    const prompt = (root.querySelector('#prompt') as HTMLTextAreaElement).value;
    const num = (id: string) => Number((root.querySelector(`#${id}`) as HTMLInputElement).value);
    this.output = '';
    this.tokens = 0;
    this.tokensPerS = 0;
    this.stats = undefined;
    this.error = '';
    this.busy = true;
    let first = 0;
    try {
      this.stats = await this.engine.api.generate(
        prompt,
        { maxTokens: num('steps'), temperature: num('temperature'), topP: num('topp'), seed: num('seed'), truncate: 'left' },
        Comlink.proxy((t) => {
          this.output += t.text;
          this.tokens = t.index + 1;
          if (t.index === 0) first = performance.now();
          else this.tokensPerS = (t.index * 1000) / (performance.now() - first);
        }),
      );
      this.tokensPerS = this.stats.decodeTokensPerS;
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
    }
  }

  private pickFiles(): void {
    const input = this.renderRoot.querySelector('#files') as HTMLInputElement;
    const files = [...(input.files ?? [])];
    const tok = files.find((f) => /tok/i.test(f.name));
    const ckpt = files.find((f) => f !== tok);
    if (!ckpt || !tok) {
      this.error = 'Choose two files at once: a llama2.c checkpoint (.bin) and its tokenizer (a file whose name contains "tok").';
      return;
    }
    void this.load({ name: ckpt.name, checkpoint: ckpt, tokenizer: tok });
  }

  override render() {
    const i = this.info;
    const p = this.params;
    return html`
      ${this.paramErrors.length ? html`<div class="panel warn" id="param-errors">${this.paramErrors.join(' ')}</div>` : nothing}
      <div class="panel" id="status">
        ${i
          ? html`<div><b>${i.model.name}</b>: ${i.model.parameters.toLocaleString()} parameters, dim ${i.model.config.dim},
                ${i.model.config.nLayers} layers, context ${i.model.config.seqLen}</div>
              <div id="adapter">${i.backend === 'gpu' ? 'GPU' : 'CPU reference'}: ${i.adapter}
                ${i.timing === 'wall' ? html`<span class="warn">(no timestamp queries: times are submit→done wall time)</span>` : nothing}</div>
              ${i.gpuUnavailable ? html`<div class="warn" id="gpu-unavailable">${i.gpuUnavailable.message}</div>` : nothing}
              <div class="files" id="files">
                checkpoint ${(i.files.checkpoint.bytes / 1e6).toFixed(2)} MB from <span id="checkpoint-from" data-progress-events=${i.files.checkpoint.progressEvents}>${i.files.checkpoint.from}</span>,
                tokenizer ${(i.files.tokenizer.bytes / 1e3).toFixed(1)} kB from <span id="tokenizer-from">${i.files.tokenizer.from}</span>
              </div>`
          : this.progress
            ? html`Loading ${this.progress.file}…
                <progress max=${this.progress.total ?? 0} value=${this.progress.loaded}></progress>
                ${(this.progress.loaded / 1e6).toFixed(1)} MB`
            : this.error
              ? nothing
              : html`Starting the engine…`}
        ${this.error ? html`<div class="err" id="error">${this.error}</div>` : nothing}
      </div>
      <div class="panel">
        <div class="row">
          <label>Model
            <select id="model" @change=${(e: Event) => {
              const entry = MODEL_CATALOG.find((m) => m.id === (e.target as HTMLSelectElement).value);
              if (entry) void this.load(catalogSource(entry));
            }}>
              ${MODEL_CATALOG.map((m) => html`<option value=${m.id} ?selected=${m.id === p.model}>${m.label}</option>`)}
            </select>
          </label>
          <label>Or local files (checkpoint + tokenizer)
            <input id="files" type="file" multiple @change=${() => this.pickFiles()} />
          </label>
        </div>
      </div>
      <div class="panel">
        <label>Prompt <textarea id="prompt" .value=${p.prompt}></textarea></label>
        <div class="row" style="margin-top:8px">
          <label>Tokens <input id="steps" type="number" min="1" max="4096" .value=${String(p.steps)} /></label>
          <label>Temperature <input id="temperature" type="number" min="0" step="0.1" .value=${String(p.temperature)} /></label>
          <label>Top-p <input id="topp" type="number" min="0" max="1" step="0.05" .value=${String(p.topP)} /></label>
          <label>Seed <input id="seed" type="number" min="0" .value=${String(p.seed)} /></label>
          <button id="generate" ?disabled=${this.busy || !i} @click=${() => this.run()}>Generate</button>
          <button id="stop" ?disabled=${!this.busy || !i} @click=${() => this.engine.api.stop()}>Stop</button>
        </div>
      </div>
      <div class="panel figures">
        <div class="fig"><b id="tps">${this.tokensPerS.toFixed(1)}</b><span>tokens/s (decode)</span></div>
        <div class="fig"><b id="ntokens">${this.tokens}</b><span>tokens generated</span></div>
        ${this.stats
          ? html`<div class="fig"><b id="prefill">${this.stats.prefillMs.toFixed(0)} ms</b><span>prompt (${this.stats.promptTokens} tokens)</span></div>
              <div class="fig"><b id="stop-reason">${this.stats.stopReason}</b><span>stopped by</span></div>`
          : nothing}
      </div>
      <div class="panel" id="output">${this.output}</div>
    `;
  }
}

function catalogSource(entry: CatalogEntry): ModelSource {
  return { name: entry.label, checkpoint: entry.checkpoint, tokenizer: entry.tokenizer };
}
