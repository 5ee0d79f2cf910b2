// Page settings from the URL query string. Every value is checked; a bad one is reported by
// name and replaced by its default, so a mistyped shared link still opens a working page.

export interface PageParams {
  /** Catalog id of the model. */
  model: string;
  /** Explicit checkpoint and tokenizer URLs (both needed), overriding `model`. */
  checkpoint?: string;
  tokenizer?: string;
  prompt: string;
  steps: number;
  temperature: number;
  topP: number;
  seed: number;
  backend: 'auto' | 'gpu' | 'cpu';
}

export const DEFAULT_PARAMS: PageParams = {
  model: '',
  prompt: 'Once upon a time',
  steps: 200,
  temperature: 0.8,
  topP: 0.9,
  seed: 42,
  backend: 'auto',
};

export function parsePageParams(search: string): { params: PageParams; errors: string[] } {
  const q = new URLSearchParams(search);
  const params: PageParams = { ...DEFAULT_PARAMS };
  const errors: string[] = [];
  const num = (key: string, min: number, max: number, integer: boolean): number | undefined => {
    const raw = q.get(key);
    if (raw === null) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
      errors.push(`URL parameter "${key}=${raw}" is invalid: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}; using the default.`);
      return undefined;
    }
    return n;
  };
  params.steps = num('steps', 1, 4096, true) ?? params.steps;
  params.temperature = num('temperature', 0, 10, false) ?? params.temperature;
  params.topP = num('topp', 0, 1, false) ?? params.topP;
  params.seed = num('seed', 0, 2 ** 32 - 1, true) ?? params.seed;
  const prompt = q.get('prompt');
  if (prompt !== null) params.prompt = prompt;
  const backend = q.get('backend');
  if (backend !== null) {
    if (backend === 'auto' || backend === 'gpu' || backend === 'cpu') params.backend = backend;
    else errors.push(`URL parameter "backend=${backend}" is invalid: expected auto, gpu or cpu; using auto.`);
  }
  const model = q.get('model');
  if (model !== null) params.model = model;
  const ck = q.get('checkpoint');
  const tk = q.get('tokenizer');
  if ((ck === null) !== (tk === null)) {
    errors.push('URL parameters "checkpoint" and "tokenizer" must be given together; using the default model.');
  } else if (ck !== null && tk !== null) {
    params.checkpoint = ck;
    params.tokenizer = tk;
  }
  return { params, errors };
}
