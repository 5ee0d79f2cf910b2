// The model the lab runs by default: the one shipped in models/mx-tiny/. Imported with Vite's
// `?url`, so `npm run build` emits both files as assets under relative URLs: the static site
// works from any folder of any host. `checkpoint`/`tokenizer` URL parameters override it.
import checkpointUrl from '../../models/mx-tiny/model.bin?url';
import tokenizerUrl from '../../models/mx-tiny/tokenizer.bin?url';
import type { ModelSource } from '../workers/engine-api.js';
import type { LabState } from '../lab/state.js';

export const SHIPPED_MODEL: ModelSource = { name: 'mx-tiny (shipped)', checkpoint: checkpointUrl, tokenizer: tokenizerUrl };

export function labModelSource(state: Pick<LabState, 'checkpoint' | 'tokenizer'>): ModelSource {
  if (state.checkpoint && state.tokenizer) {
    return { name: state.checkpoint.split('/').pop() ?? 'model', checkpoint: state.checkpoint, tokenizer: state.tokenizer };
  }
  return SHIPPED_MODEL;
}
