// Node storage for the matmul autotuner's cache: one JSON file under the user's cache dir,
// $MULTIPLEX_AUTOTUNE_CACHE, else $XDG_CACHE_HOME/multiplex/autotune.json, else
// ~/.cache/multiplex/autotune.json. (The browser keeps the same document in localStorage.)
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TuneStorage } from './autotune.js';

export function defaultTuneCachePath(): string {
  if (process.env.MULTIPLEX_AUTOTUNE_CACHE) return process.env.MULTIPLEX_AUTOTUNE_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'multiplex', 'autotune.json');
}

export function fileTuneStorage(path: string = defaultTuneCachePath()): TuneStorage & { path: string } {
  return {
    path,
    read: () => (existsSync(path) ? readFileSync(path, 'utf8') : undefined),
    write: (text) => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    },
  };
}
