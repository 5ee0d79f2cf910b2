// `npm run bench:decode [-- --model FILE --tokenizer FILE] [--batches 1,4,16,64] [--steps N] [--out FILE]`
// (--steps: decode steps each batch size is timed over, in 4 rounds; default 64)
// On the current adapter: decode tokens/s at several batch sizes (aggregate and per sequence),
// prefill tokens/s, dispatches per step, and each kernel's share of step time from the profiler.
import { parseBenchArgs } from './args.js';
import { writeFileSync } from 'node:fs';
import { openModel } from '../src/cli/model-files.js';
import { intArg } from '../src/cli/args.js';
import { GpuBackend } from '../src/model/gpu-forward.js';
import { Profiler } from '../src/gpu/profiler.js';
import { adapterLabel } from '../src/gpu/device.js';
import { Rng } from '../src/ops/random.js';
import { measureDecodeRates } from '../src/workers/kernel-step.js';

const { values } = parseBenchArgs('bench:decode', {
    model: { type: 'string' },
    tokenizer: { type: 'string' },
    batches: { type: 'string' },
    steps: { type: 'string' },
    out: { type: 'string' },
  });
const batches = (values.batches ?? '1,4,16,64').split(',').map((s) => intArg('batches', s, 1, 1, 1024));
const maxSteps = intArg('steps', values.steps, 64, 2);
const maxBatch = Math.max(...batches);

const opened = await openModel({ model: values.model, tokenizer: values.tokenizer }, 'gpu', { maxSequences: maxBatch });
const { model, gpu } = opened;
const backend = opened.backend as GpuBackend;
const c = model.config;
const adapter = `${adapterLabel(gpu!.adapter)}${gpu!.adapter.software ? ' (software)' : ''}`;
const err = (s: string) => process.stderr.write(s);
err(`adapter: ${adapter}\nmodel: ${model.source} (dim ${c.dim}, ${c.nLayers} layers, vocab ${c.vocabSize}, context ${c.seqLen})\n`);

const rng = new Rng(1);
const PROMPT = 16;
const randomTokens = (n: number) => Array.from({ length: n }, () => rng.int(3, c.vocabSize - 1));

interface Row {
  batch: number;
  tokens_per_s: number;
  tokens_per_s_per_sequence: number;
  ms_per_step: number;
  dispatches_per_step: number;
  steps: number;
}
// The batch sizes take turns over `rounds` rounds of equal steps and each counts its median step
// (measureDecodeRates, the kernel lab's protocol): run one after the other, the first batch size
// met a cold process (JIT, the first full collections) and a mean over steps took in every
// collection's stall, which moved batch 1 by up to 1.7x from the median of a warm run.
const ROUNDS = 4;
const rates = await measureDecodeRates(gpu!, model, batches, { prompt: PROMPT, rounds: ROUNDS, steps: Math.ceil(maxSteps / ROUNDS) });
const rows: Row[] = rates.map((r) => ({
  batch: r.batch,
  tokens_per_s: r.tokensPerS,
  tokens_per_s_per_sequence: r.tokensPerS / r.batch,
  ms_per_step: r.msPerStep,
  dispatches_per_step: r.dispatches,
  steps: r.steps,
}));
for (const r of rows) err(`batch ${r.batch}: ${r.tokens_per_s.toFixed(1)} tokens/s (median of ${r.steps} steps)\n`);

// Prefill: one sequence, a chunk of up to 256 tokens in one step; the median of 3.
const chunk = Math.min(256, c.seqLen - 1, backend.maxTokensPerStep);
const prefillMs: number[] = [];
for (let i = 0; i < 4; i++) {
  const seq = backend.newSequence();
  const t0 = performance.now();
  await backend.step([{ seq, tokens: randomTokens(chunk), temperature: 0, topP: 1, u: 0 }]);
  if (i > 0) prefillMs.push(performance.now() - t0); // the first run compiles pipelines
  backend.freeSequence(seq);
}
prefillMs.sort((a, b) => a - b);
const prefillTokensPerS = (chunk * 1000) / prefillMs[1]!;

// Per-kernel shares: a separate profiled backend (one timed pass per kernel) at batch 1 and max.
const shares: Record<string, { label: string; share: number; ms: number }[]> = {};
const profiled: Record<string, string> = {};
for (const B of [...new Set([1, maxBatch])]) {
  const prof = new Profiler(gpu!.device, gpu!.timestamps);
  const pb = new GpuBackend(gpu!, model, { maxSequences: B, profiler: prof });
  const seqs = Array.from({ length: B }, () => pb.newSequence());
  let r = await pb.step(seqs.map((seq) => ({ seq, tokens: randomTokens(PROMPT), temperature: 0, topP: 1, u: 0 })));
  prof.reset();
  for (let i = 0; i < 4; i++) {
    r = await pb.step(seqs.map((seq, j) => ({ seq, tokens: [r.next[j]!], temperature: 0, topP: 1, u: 0 })));
  }
  shares[`batch_${B}`] = prof.shares().map(({ label, share, ms }) => ({ label, share, ms: ms / 4 }));
  profiled[`batch_${B}`] = prof.source;
  pb.destroy();
  prof.destroy();
}

const out = {
  adapter,
  model: model.source,
  timing_source: gpu!.timestamps ? 'timestamp-query' : 'wall (submit to done; no per-kernel split)',
  batches: rows,
  prefill_tokens: chunk,
  prefill_tokens_per_s: prefillTokensPerS,
  kernel_shares: shares,
};

const pad = (s: string, n: number) => s.padStart(n);
console.log(`\nDecode on ${adapter}, ${model.source}`);
console.log(`${pad('batch', 6)} ${pad('tokens/s', 10)} ${pad('per seq', 9)} ${pad('ms/step', 9)} ${pad('dispatches', 11)}`);
for (const r of rows) {
  console.log(
    `${pad(String(r.batch), 6)} ${pad(r.tokens_per_s.toFixed(1), 10)} ${pad(r.tokens_per_s_per_sequence.toFixed(2), 9)} ${pad(r.ms_per_step.toFixed(2), 9)} ${pad(String(r.dispatches_per_step), 11)}`,
  );
}
const b1 = rows.find((r) => r.batch === 1);
if (b1) for (const r of rows) if (r.batch !== 1) console.log(`batch ${r.batch} / batch 1 aggregate tokens/s: ${(r.tokens_per_s / b1.tokens_per_s).toFixed(2)}x`);
console.log(`prefill: ${prefillTokensPerS.toFixed(1)} tokens/s (${chunk}-token chunk)`);
for (const [k, list] of Object.entries(shares)) {
  console.log(`\nkernel share of step time, ${k.replace('_', ' ')} (${profiled[k]}):`);
  for (const s of list) console.log(`  ${s.label.padEnd(20)} ${(100 * s.share).toFixed(1).padStart(5)}%  ${s.ms.toFixed(3)} ms/step`);
}
if (values.out) {
  writeFileSync(values.out, JSON.stringify(out, null, 2));
  err(`wrote ${values.out}\n`);
}
backend.destroy();
