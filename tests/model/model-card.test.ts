// The shipped model card's sample outputs are reproduced by `npm run lab -- generate` with the
// stated arguments: each numbered sample's command is run through the real CLI (default device:
// the GPU, SwiftShader in CI) and its stdout compared with the quoted text.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const card = readFileSync(`${ROOT}models/mx-tiny/MODEL_CARD.md`, 'utf8');

/** Splits a command line on spaces, keeping "double-quoted" arguments whole. */
function splitArgs(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

interface Sample {
  args: string[];
  text: string;
}

function samples(): Sample[] {
  const section = card.slice(card.indexOf('## Sample outputs'), card.indexOf('\n## ', card.indexOf('## Sample outputs') + 5));
  const out: Sample[] = [];
  // Numbered items, each with a `npm run lab -- generate ...` command and a "> text" quote.
  for (const item of section.split(/^\d+\. /m).slice(1)) {
    const cmd = /`npm run lab -- generate ([^`]+)`/.exec(item);
    const quote = /^\s*> (.*)$/m.exec(item);
    if (cmd && quote) out.push({ args: splitArgs(cmd[1]!.trim()), text: quote[1]! });
  }
  return out;
}

describe('mx-tiny model card', () => {
  const list = samples();
  it('lists its samples with the commands that make them', () => {
    expect(list.length).toBeGreaterThanOrEqual(3);
  });

  for (const [i, s] of list.entries()) {
    it(`sample ${i + 1} is reproduced by: npm run lab -- generate ${s.args.join(' ')}`, () => {
      const r = spawnSync(process.execPath, [`${ROOT}node_modules/tsx/dist/cli.mjs`, `${ROOT}src/cli/main.ts`, 'generate', ...s.args], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const prompt = s.args.includes('--prompt') ? s.args[s.args.indexOf('--prompt') + 1]! : '';
      // The card quotes the prompt and its continuation; the CLI prints only the continuation.
      const expected = s.text.startsWith(prompt) ? s.text.slice(prompt.length) : s.text;
      expect(r.stdout.replace(/\n$/, '')).toBe(expected);
    }, 150_000);
  }
});
