// A small autotuner for matmul: for each shape (M, N, K) it measures every variant valid for the
// shape, keeps the fastest, and caches the choice per adapter, so a second run on the same
// device (or the engine at start-up) reuses it without measuring.
//
// - Key: the adapter's vendor / architecture / device / description (adapterKey). A table is
//   also stamped with the variant set it was measured over (variantSignature); adding, removing
//   or retuning a variant in MATMUL_VARIANTS invalidates it, so new variants get ranked.
// - Storage: injected as a TuneStorage holding one JSON document. The page keeps it in
//   localStorage (src/ui/kernel-store.ts; workers have no localStorage, so the kernel worker is
//   handed the page's store), Node in a file under the user's cache dir (./autotune-node.ts),
//   tests in memory (memoryTuneStorage).
// - Use: tuner.chooser() is a drop-in for chooseMatmulVariant; setMatmulChooser(tuner.chooser())
//   makes every encodeMatmul without a forced variant (the engine's forward pass) use it.
import type { AdapterSummary } from './device.js';
import type { DeviceProfile } from './profile.js';
import {
  chooseMatmulVariant,
  MATMUL_VARIANTS,
  setMatmulChooser,
  type MatmulChooser,
  type MatmulVariant,
} from './ops/matmul.js';

export { setMatmulChooser, type MatmulChooser };

/** One JSON document, read and written whole; either side may be async (a worker's proxy). */
export interface TuneStorage {
  read(): string | undefined | null | Promise<string | undefined | null>;
  write(text: string): void | Promise<void>;
}

export function memoryTuneStorage(initial?: string): TuneStorage & { text?: string } {
  const s: TuneStorage & { text?: string } = {
    text: initial,
    read: () => s.text,
    write: (t) => {
      s.text = t;
    },
  };
  return s;
}

/** The tuned choice for one shape. */
export interface TuneChoice {
  variant: string;
  ms: number;
  /** The default rule's variant and its time, for the "tuned vs default" ratio. */
  defaultVariant: string;
  defaultMs: number;
  /** Variants measured. */
  candidates: number;
}

export interface AdapterTable {
  label: string;
  /** variantSignature() of the variants measured. */
  signature: string;
  updated: string;
  /** By shapeKey(M, N, K). */
  shapes: Record<string, TuneChoice>;
}

export interface TuneDocument {
  version: 1;
  adapters: Record<string, AdapterTable>;
}

export function adapterKey(a: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  return [a.vendor, a.architecture, a.device, a.description].join(' | ');
}

export function shapeKey(M: number, N: number, K: number): string {
  return `${M}x${N}x${K}`;
}

/** Names and constants of the variants, so a changed variant set invalidates cached tables. */
export function variantSignature(variants: readonly MatmulVariant[] = MATMUL_VARIANTS): string {
  return variants.map((v) => `${v.name}${JSON.stringify(v.constants)}`).join(';');
}

function parseDocument(text: string | undefined | null): TuneDocument {
  if (text) {
    try {
      const d = JSON.parse(text) as Partial<TuneDocument>;
      if (d && d.version === 1 && d.adapters && typeof d.adapters === 'object') return { version: 1, adapters: d.adapters };
    } catch {
      /* a corrupt cache is ignored and rewritten */
    }
  }
  return { version: 1, adapters: {} };
}

export interface VariantTiming {
  variant: string;
  /** Median ms; NaN or a failed correctness check disqualifies. */
  ms: number;
  correct?: boolean;
}

/** Picks the fastest correct timing; undefined when none qualifies. */
export function pickFastest(timings: readonly VariantTiming[]): VariantTiming | undefined {
  let best: VariantTiming | undefined;
  for (const t of timings) {
    if (t.correct === false || !Number.isFinite(t.ms)) continue;
    if (!best || t.ms < best.ms) best = t;
  }
  return best;
}

export interface AutotunerOptions {
  /** The variants to choose among (default MATMUL_VARIANTS). */
  variants?: readonly MatmulVariant[];
  /** Which variants are valid for M rows (default: all). */
  candidates?: (M: number, N: number, K: number) => readonly MatmulVariant[];
}

export class MatmulAutotuner {
  readonly key: string;
  private table: AdapterTable;
  private readonly variants: readonly MatmulVariant[];
  private readonly signature: string;
  /** Shapes measured (not served from the cache) by this tuner. */
  measured = 0;
  /** The adapter's class, for the default rule's choice (chooseMatmulVariant). */
  private readonly profile: DeviceProfile;

  private constructor(
    private readonly storage: TuneStorage,
    adapter: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>,
    private readonly options: AutotunerOptions,
    cached: AdapterTable | undefined,
  ) {
    this.key = adapterKey(adapter);
    this.profile = (adapter as Partial<AdapterSummary>).software ? 'software' : 'gpu';
    this.variants = options.variants ?? MATMUL_VARIANTS;
    this.signature = variantSignature(this.variants);
    this.table =
      cached && cached.signature === this.signature
        ? cached
        : { label: this.key, signature: this.signature, updated: new Date().toISOString(), shapes: {} };
  }

  /** Opens the tuner for this adapter, with whatever the storage already holds for it. */
  static async open(
    storage: TuneStorage,
    adapter: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>,
    options: AutotunerOptions = {},
  ): Promise<MatmulAutotuner> {
    const doc = parseDocument(await storage.read());
    return new MatmulAutotuner(storage, adapter, options, doc.adapters[adapterKey(adapter)]);
  }

  lookup(M: number, N: number, K: number): TuneChoice | undefined {
    return this.table.shapes[shapeKey(M, N, K)];
  }

  /** Every cached choice, by shapeKey. */
  get shapes(): Readonly<Record<string, TuneChoice>> {
    return this.table.shapes;
  }

  /** Records measured timings for a shape (e.g. from the kernel bench) and returns the choice. */
  record(M: number, N: number, K: number, timings: readonly VariantTiming[]): TuneChoice | undefined {
    const best = pickFastest(timings);
    if (!best) return undefined;
    const def = chooseMatmulVariant(M, N, K, this.profile).name;
    const d = timings.find((t) => t.variant === def);
    const choice: TuneChoice = {
      variant: best.variant,
      ms: best.ms,
      defaultVariant: def,
      defaultMs: d && Number.isFinite(d.ms) && d.correct !== false ? d.ms : NaN,
      candidates: timings.length,
    };
    this.table.shapes[shapeKey(M, N, K)] = choice;
    this.table.updated = new Date().toISOString();
    return choice;
  }

  /**
   * The cached choice for (M, N, K), or measures every candidate with `measure` (ms per dispatch;
   * throw or return NaN to disqualify a variant) and caches the fastest. `force` re-measures.
   */
  async tune(
    M: number,
    N: number,
    K: number,
    measure: (variant: MatmulVariant) => Promise<number | VariantTiming>,
    force = false,
  ): Promise<TuneChoice | undefined> {
    if (!force) {
      const c = this.lookup(M, N, K);
      if (c) return c;
    }
    const candidates = this.options.candidates?.(M, N, K) ?? this.variants;
    const timings: VariantTiming[] = [];
    for (const v of candidates) {
      try {
        const r = await measure(v);
        timings.push(typeof r === 'number' ? { variant: v.name, ms: r } : { ...r, variant: v.name });
      } catch {
        timings.push({ variant: v.name, ms: NaN });
      }
    }
    this.measured++;
    return this.record(M, N, K, timings);
  }

  /** Writes this adapter's table back, keeping other adapters' tables in the document. */
  async save(): Promise<void> {
    const doc = parseDocument(await this.storage.read());
    doc.adapters[this.key] = this.table;
    await this.storage.write(JSON.stringify(doc, null, 1));
  }

  /**
   * A chooser for encodeMatmul: the tuned variant of the exact shape; else, for the same (N, K),
   * the tuned variant of the nearest tuned M within a factor of 2 (a decode step at batch 12 uses
   * the choice made at 16); else the default rule. A matvec choice is never used for more rows
   * than it was tuned at (its cost grows with the row blocks), only for fewer.
   */
  chooser(): MatmulChooser {
    const byNK = new Map<string, { m: number; variant: MatmulVariant }[]>();
    for (const [key, c] of Object.entries(this.table.shapes)) {
      const [m, n, k] = key.split('x').map(Number) as [number, number, number];
      const v = this.variants.find((x) => x.name === c.variant);
      if (!v) continue;
      const nk = `${n}x${k}`;
      let list = byNK.get(nk);
      if (!list) byNK.set(nk, (list = []));
      list.push({ m, variant: v });
    }
    return (M, N, K, profile) => {
      const list = byNK.get(`${N}x${K}`);
      if (list) {
        let best: { m: number; variant: MatmulVariant } | undefined;
        let dist = Infinity;
        for (const e of list) {
          const d = Math.abs(Math.log2(M / e.m));
          if (e.variant.kind === 'matvec' && M > e.m) continue;
          if (d <= 1 && d < dist) {
            best = e;
            dist = d;
          }
        }
        if (best) return best.variant;
      }
      return chooseMatmulVariant(M, N, K, profile ?? this.profile);
    };
  }

  /** Installs chooser() as encodeMatmul's rule (see setMatmulChooser); returns an undo. */
  install(): () => void {
    setMatmulChooser(this.chooser());
    return () => setMatmulChooser(undefined);
  }
}

