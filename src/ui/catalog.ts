// Models the page offers. The first entry, the model shipped in models/ (see its MODEL_CARD.md),
// is the default and needs no network. The others are public llama2.c checkpoints (MIT licence)
// downloaded on demand and kept in the browser's Cache API.
import { SHIPPED_MODEL } from './lab-model.js';

export interface CatalogEntry {
  id: string;
  label: string;
  checkpoint: string;
  tokenizer: string;
  /** Approximate download size in bytes, shown before fetching. */
  bytes: number;
}

const LLAMA2C_TOKENIZER_32K = 'https://raw.githubusercontent.com/karpathy/llama2.c/master/tokenizer.bin';
const TINYLLAMAS = 'https://huggingface.co/karpathy/tinyllamas/resolve/main';

export const MODEL_CATALOG: CatalogEntry[] = [
  {
    id: 'mx-tiny',
    label: 'mx-tiny (shipped, 1.9 MB)',
    checkpoint: SHIPPED_MODEL.checkpoint as string,
    tokenizer: SHIPPED_MODEL.tokenizer as string,
    bytes: 1_929_799,
  },
  { id: 'stories15M', label: 'stories15M (60 MB download)', checkpoint: `${TINYLLAMAS}/stories15M.bin`, tokenizer: LLAMA2C_TOKENIZER_32K, bytes: 60_816_028 },
  { id: 'stories42M', label: 'stories42M (167 MB download)', checkpoint: `${TINYLLAMAS}/stories42M.bin`, tokenizer: LLAMA2C_TOKENIZER_32K, bytes: 166_958_368 },
  { id: 'stories110M', label: 'stories110M (438 MB download)', checkpoint: `${TINYLLAMAS}/stories110M.bin`, tokenizer: LLAMA2C_TOKENIZER_32K, bytes: 438_019_068 },
];
