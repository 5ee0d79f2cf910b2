import { expect } from 'vitest';
import { TraceFormatError } from '../../src/traffic/parse-common.js';

/** The error a parse throws (fails the test if it parses, or throws something else). */
export function parseError(fn: () => unknown): TraceFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TraceFormatError);
    return e as TraceFormatError;
  }
  throw new Error('expected a TraceFormatError');
}
