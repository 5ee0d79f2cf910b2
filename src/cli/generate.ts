// `lab generate`: load a llama2.c checkpoint and tokenizer, generate text on the GPU (or the CPU
// reference), stream it to stdout; model facts and tokens/s to stderr.
import { parseArgs } from 'node:util';
import { choiceArg, floatArg, intArg } from './args.js';
import { openModel, DEFAULT_MODEL } from './model-files.js';
import { generate } from '../model/generate.js';

export const GENERATE_USAGE = `  generate [--model FILE] [--tokenizer FILE] [--prompt TEXT] [--steps N]
           [--temperature T] [--top-p P] [--seed S] [--device gpu|cpu] [--truncate]
      Generates text from a llama2.c checkpoint (default: the shipped ${DEFAULT_MODEL.name}).
      --steps N        tokens to generate (default 256; stops early at end-of-text or the context)
      --temperature T  0 is greedy (default 1)      --top-p P   nucleus mass (default 0.9)
      --seed S         sampler seed (default 0)     --device    gpu (default) or cpu reference
      --truncate       keep the end of a prompt longer than the context instead of failing`;

export async function runGenerate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      prompt: { type: 'string' },
      steps: { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      device: { type: 'string' },
      truncate: { type: 'boolean' },
    },
  });
  const steps = intArg('steps', values.steps, 256, 1, 1_000_000);
  const temperature = floatArg('temperature', values.temperature, 1, 0, 100);
  const topP = floatArg('top-p', values['top-p'], 0.9, 0, 1);
  const seed = intArg('seed', values.seed, 0, 0, 2 ** 32 - 1);
  const device = choiceArg('device', values.device, 'gpu', ['gpu', 'cpu'] as const);

  const { model, tokenizer, backend, label } = await openModel(
    { model: values.model, tokenizer: values.tokenizer },
    device,
    { maxSequences: 1 },
  );
  const c = model.config;
  process.stderr.write(
    `model ${model.source}: dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads} heads (${c.nKvHeads} kv), ` +
      `vocab ${c.vocabSize}, context ${c.seqLen}\n`,
  );
  process.stderr.write(`device: ${label}\n`);
  try {
    const it = generate(backend, tokenizer, values.prompt ?? '', {
      maxTokens: steps,
      temperature,
      topP,
      seed,
      truncate: values.truncate ? 'left' : 'error',
    });
    for (;;) {
      const r = await it.next();
      if (r.done) {
        const s = r.value;
        process.stdout.write('\n');
        if (s.truncatedTokens > 0) process.stderr.write(`prompt truncated: dropped its first ${s.truncatedTokens} tokens\n`);
        process.stderr.write(
          `${s.generatedTokens} tokens (${s.stopReason}); prompt ${s.promptTokens} tokens in ${s.prefillMs.toFixed(1)} ms; ` +
            `decode ${s.decodeTokensPerS.toFixed(1)} tokens/s\n`,
        );
        break;
      }
      process.stdout.write(r.value.text);
    }
  } finally {
    backend.destroy();
  }
  return 0;
}
