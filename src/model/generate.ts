// Generation API over a Backend (CPU reference or GPU): streaming tokens for one prompt, and
// lock-step batched generation for many prompts (each sequence at its own length, all advanced
// in the same engine step).
//
// Prompts longer than the context: by default generate() throws a PromptTooLongError; with
// `truncate: 'left'` it keeps the last tokens that fit (BOS kept) and says so in the stats.
import type { Backend, StepEntry } from './backend.js';
import type { Tokenizer } from './tokenizer.js';
import { Rng } from '../ops/random.js';

export const BOS = 1;
export const EOS = 2;

export interface GenerateOptions {
  /** Tokens to generate at most (default 256); generation also stops at EOS and at the context end. */
  maxTokens?: number;
  /** 0 is greedy (argmax); default 1. */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1]; 1 disables it (default 0.9). */
  topP?: number;
  /** Seed of the sampler's random numbers (default 0): the same seed gives the same text. */
  seed?: number;
  /** Stop when the model emits EOS (default true). */
  stopAtEos?: boolean;
  /** Largest prefill chunk per step in tokens (default 256). */
  prefillChunk?: number;
  /** What to do when the prompt does not fit the context (default 'error'). */
  truncate?: 'error' | 'left';
  signal?: AbortSignal;
}

export interface GeneratedToken {
  token: number;
  /** Text this token adds (may be empty while a multi-byte character is incomplete). */
  text: string;
  /** Index among generated tokens, from 0. */
  index: number;
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  /** Prompt tokens dropped by `truncate: 'left'`. */
  truncatedTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** Generated tokens per second over the decode phase (first token excluded). */
  decodeTokensPerS: number;
  stopReason: 'max-tokens' | 'eos' | 'context' | 'aborted';
  text: string;
}

export class PromptTooLongError extends Error {
  constructor(
    readonly promptTokens: number,
    readonly contextLength: number,
  ) {
    super(
      `The prompt is ${promptTokens} tokens but the model's context is ${contextLength} tokens ` +
        `(room must remain for at least one generated token). Shorten it, or use truncate: 'left' ` +
        `(CLI: --truncate) to keep its last tokens.`,
    );
    this.name = 'PromptTooLongError';
  }
}

/** Encodes a prompt (BOS first) and applies the context rule. */
export function preparePrompt(
  tokenizer: Tokenizer,
  prompt: string,
  contextLength: number,
  truncate: 'error' | 'left' = 'error',
): { tokens: number[]; truncated: number } {
  const tokens = tokenizer.encode(prompt, { bos: true, eos: false });
  const room = contextLength - 1;
  if (tokens.length <= room) return { tokens, truncated: 0 };
  if (truncate === 'error') throw new PromptTooLongError(tokens.length, contextLength);
  const kept = [BOS, ...tokens.slice(tokens.length - (room - 1))];
  return { tokens: kept, truncated: tokens.length - kept.length };
}

/** Incremental detokenizer: emits text only once the bytes form whole characters. */
export class TextStream {
  private readonly tokens: number[] = [];
  private readonly decode: (token: number) => string;
  /** `prev` is the token before the first generated one (the prompt's last). */
  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly prev: number,
  ) {
    this.decode = tokenizer.streamDecoder(prev);
  }
  push(token: number): string {
    this.tokens.push(token);
    return this.decode(token);
  }
  get text(): string {
    return this.tokenizer.decodeAll(this.tokens, this.prev);
  }
}

function now(): number {
  return performance.now();
}

/**
 * Streams generated tokens for one prompt. The generator's return value holds the statistics.
 */
export async function* generate(
  backend: Backend,
  tokenizer: Tokenizer,
  prompt: string,
  options: GenerateOptions = {},
): AsyncGenerator<GeneratedToken, GenerationStats> {
  const maxTokens = options.maxTokens ?? 256;
  const temperature = options.temperature ?? 1;
  const topP = options.topP ?? 0.9;
  const chunk = Math.max(1, options.prefillChunk ?? 256);
  const rng = new Rng(options.seed ?? 0);
  const seqLen = backend.config.seqLen;
  const { tokens: promptTokens, truncated } = preparePrompt(tokenizer, prompt, seqLen, options.truncate);
  const stream = new TextStream(tokenizer, promptTokens[promptTokens.length - 1]!);
  const seq = backend.newSequence();
  const stats: GenerationStats = {
    promptTokens: promptTokens.length,
    generatedTokens: 0,
    truncatedTokens: truncated,
    prefillMs: 0,
    decodeMs: 0,
    decodeTokensPerS: 0,
    stopReason: 'max-tokens',
    text: '',
  };
  try {
    const t0 = now();
    let next = -1;
    for (let i = 0; i < promptTokens.length; i += chunk) {
      const tokens = promptTokens.slice(i, i + chunk);
      const last = i + chunk >= promptTokens.length;
      const u = last ? rng.next() : 0;
      const r = await backend.step([{ seq, tokens, temperature, topP, u }]);
      if (last) next = r.next[0]!;
    }
    const t1 = now();
    stats.prefillMs = t1 - t0;
    let tDecode0 = t1;
    while (stats.generatedTokens < maxTokens) {
      if (options.signal?.aborted) {
        stats.stopReason = 'aborted';
        break;
      }
      if (next === EOS && (options.stopAtEos ?? true)) {
        stats.stopReason = 'eos';
        break;
      }
      const index = stats.generatedTokens++;
      yield { token: next, text: stream.push(next), index };
      if (index === 0) tDecode0 = now();
      if (stats.generatedTokens >= maxTokens) break;
      if (backend.length(seq) >= seqLen) {
        stats.stopReason = 'context';
        break;
      }
      const r = await backend.step([{ seq, tokens: [next], temperature, topP, u: rng.next() }]);
      next = r.next[0]!;
    }
    const t2 = now();
    stats.decodeMs = t2 - tDecode0;
    stats.decodeTokensPerS = stats.generatedTokens > 1 ? ((stats.generatedTokens - 1) * 1000) / stats.decodeMs : 0;
    stats.text = stream.text;
    return stats;
  } finally {
    backend.freeSequence(seq);
  }
}

/** Collects generate() into its text and stats. */
export async function generateText(
  backend: Backend,
  tokenizer: Tokenizer,
  prompt: string,
  options: GenerateOptions = {},
): Promise<GenerationStats & { tokens: number[] }> {
  const it = generate(backend, tokenizer, prompt, options);
  const tokens: number[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return { ...r.value, tokens };
    tokens.push(r.value.token);
  }
}

export interface BatchOptions {
  maxTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stopAtEos?: boolean;
  prefillChunk?: number;
}

/**
 * Generates for several prompts (already tokenized, BOS included) in lock step: every engine
 * step advances every unfinished sequence, prefill chunks and decode tokens together. Sequence i
 * samples with its own Rng(seed + i), so its tokens do not depend on the rest of the batch.
 */
export async function generateBatch(
  backend: Backend,
  prompts: number[][],
  options: BatchOptions,
): Promise<{ tokens: number[][]; steps: number }> {
  const temperature = options.temperature ?? 0;
  const topP = options.topP ?? 1;
  const chunk = Math.max(1, options.prefillChunk ?? 256);
  const seqLen = backend.config.seqLen;
  for (const [i, p] of prompts.entries()) {
    if (p.length === 0) throw new Error(`prompt ${i} is empty (it needs at least BOS)`);
    if (p.length >= seqLen) throw new PromptTooLongError(p.length, seqLen);
  }
  const seqs = prompts.map(() => backend.newSequence());
  const rngs = prompts.map((_, i) => new Rng((options.seed ?? 0) + i));
  const fed = prompts.map(() => 0); // prompt tokens already in the cache
  const out: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  let steps = 0;
  try {
    while (done.some((d) => !d)) {
      const entries: StepEntry[] = [];
      const who: number[] = [];
      for (let i = 0; i < prompts.length; i++) {
        if (done[i]) continue;
        const p = prompts[i]!;
        let tokens: number[];
        if (fed[i]! < p.length) {
          tokens = p.slice(fed[i], fed[i]! + chunk);
          fed[i] = fed[i]! + tokens.length;
        } else tokens = [out[i]![out[i]!.length - 1]!];
        const sampling = fed[i]! >= p.length;
        entries.push({ seq: seqs[i]!, tokens, temperature, topP, u: sampling ? rngs[i]!.next() : 0 });
        who.push(i);
      }
      const r = await backend.step(entries);
      steps++;
      for (let j = 0; j < who.length; j++) {
        const i = who[j]!;
        if (fed[i]! < prompts[i]!.length) continue; // mid-prompt chunk: nothing sampled
        const t = r.next[j]!;
        if (t === EOS && (options.stopAtEos ?? false)) {
          done[i] = true;
          continue;
        }
        out[i]!.push(t);
        if (out[i]!.length >= options.maxTokens || backend.length(seqs[i]!) >= seqLen) done[i] = true;
      }
    }
  } finally {
    for (const s of seqs) backend.freeSequence(s);
  }
  return { tokens: out, steps };
}
