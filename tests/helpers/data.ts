// Paths to third-party data in ../shared/data; tests that need them skip with this message.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const STORIES260K = `${SHARED_DATA}models/stories260K/stories260K.bin`;
export const TOK512 = `${SHARED_DATA}models/stories260K/tok512.bin`;
export const AZURE_TRACES = `${SHARED_DATA}traces/azure-llm-2023/`;

export const HAVE_STORIES = existsSync(STORIES260K) && existsSync(TOK512);
export const MISSING_STORIES = `skipped: ../shared/data/models/stories260K is absent (stories260K.bin, tok512.bin)`;
