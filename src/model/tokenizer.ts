// llama2.c tokenizer: file format, encode (run.c's BPE with byte fallback) and decode.
//
// File format (tokenizer.bin, written by llama2.c's tokenizer.py):
//   int32 max_token_length, then for each token: float32 score, int32 len, len bytes (UTF-8).
// The file does not store the token count; run.c reads the model's vocab_size tokens. Here the
// whole file is read and the count must equal the model's vocab_size when one is given.
//
// Pieces are kept as "binary strings" (one char per byte, codes 0..255) so that a Map can look
// up arbitrary byte sequences, including partial UTF-8, exactly as run.c's strcmp-based lookup.
import { ModelFormatError } from './checkpoint.js';

export const BOS = 1;
export const EOS = 2;
/** Byte b without a piece of its own is token b + BYTE_FALLBACK_OFFSET ("<0xXX>"). */
export const BYTE_FALLBACK_OFFSET = 3;
/** Upper bound on max_token_length beyond which the header is taken as corruption. */
export const MAX_TOKEN_LENGTH = 1 << 16;

/** run.c starts best_score at -1e10: pieces scoring at or below it are never merged. */
const MERGE_FLOOR = -1e10;

const utf8Encoder = new TextEncoder();

function bytesToBinary(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function binaryToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

export interface EncodeOptions {
  /** Prepend BOS (token 1). Default false. */
  bos?: boolean;
  /** Append EOS (token 2). Default false. */
  eos?: boolean;
}

export class Tokenizer {
  readonly vocabSize: number;
  /** Pieces as binary strings (one char per byte). */
  private readonly pieces: string[];
  /** Bytes each token decodes to ("<0xXX>" byte tokens map to the byte itself). */
  private readonly decoded: Uint8Array[];
  private readonly lookup = new Map<string, number>();

  constructor(
    pieces: Uint8Array[],
    readonly scores: Float32Array,
    readonly maxTokenLength: number,
    readonly source = 'tokenizer',
  ) {
    if (scores.length !== pieces.length) {
      throw new Error(`${source}: ${pieces.length} pieces but ${scores.length} scores`);
    }
    this.vocabSize = pieces.length;
    this.pieces = pieces.map(bytesToBinary);
    this.decoded = pieces.map((p, i) => {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(this.pieces[i]!);
      return m ? Uint8Array.of(parseInt(m[1]!, 16)) : p;
    });
    // First occurrence wins on duplicates (run.c's bsearch over a sorted copy picks one of them).
    this.pieces.forEach((p, i) => {
      if (!this.lookup.has(p)) this.lookup.set(p, i);
    });
  }

  /** Token id of a piece (UTF-8 text), or -1. */
  pieceId(piece: string): number {
    return this.lookup.get(bytesToBinary(utf8Encoder.encode(piece))) ?? -1;
  }

  /** Raw bytes of a token's piece as stored in the file. */
  piece(token: number): Uint8Array {
    this.check(token);
    return binaryToBytes(this.pieces[token]!);
  }

  private check(token: number): void {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(`${this.source}: token id ${token} out of range [0, ${this.vocabSize})`);
    }
  }

  private byteToken(b: number): number {
    const id = b + BYTE_FALLBACK_OFFSET;
    if (id >= this.vocabSize) {
      throw new Error(`${this.source}: byte 0x${b.toString(16)} has no piece and no byte-fallback token ${id}`);
    }
    return id;
  }

  /**
   * Encodes text as run.c's encode() does: optional BOS; a dummy-prefix " " token when the text is
   * non-empty; each UTF-8 codepoint looked up as a piece, falling back to one token per byte
   * (id = byte + 3); then repeatedly merge the adjacent pair whose concatenation is the
   * best-scoring piece (leftmost on ties) until no pair merges; optional EOS.
   * Difference from C: a NUL character is encoded (as byte 0) instead of ending the text.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const tokens: number[] = [];
    if (options.bos) tokens.push(BOS);
    const bytes = utf8Encoder.encode(text);
    if (bytes.length > 0) {
      const space = this.lookup.get(' ');
      tokens.push(space ?? this.byteToken(0x20));
    }
    // Codepoint by codepoint: a leading byte starts a new group; continuation bytes (10xxxxxx)
    // join it, at most 4 bytes per group (run.c's str_buffer rule).
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const len = i + 1 - start;
      const next = i + 1 < bytes.length ? bytes[i + 1]! : 0;
      if ((next & 0xc0) === 0x80 && len < 4) continue;
      const group = bytes.subarray(start, i + 1);
      const id = this.lookup.get(bytesToBinary(group));
      if (id !== undefined) tokens.push(id);
      else for (const b of group) tokens.push(this.byteToken(b));
      start = i + 1;
    }
    this.merge(tokens);
    if (options.eos) tokens.push(EOS);
    return tokens;
  }

  /**
   * Greedy BPE merges in place, as run.c (a leading BOS takes part in the pair scan there too).
   * Only the pairs next to a merge are re-scored, so each merge costs one scan, not n lookups.
   */
  private merge(tokens: number[]): void {
    const pairId: number[] = [];
    const pairScore: number[] = [];
    const evalPair = (i: number): void => {
      const id = this.lookup.get(this.pieces[tokens[i]!]! + this.pieces[tokens[i + 1]!]!);
      pairId[i] = id ?? -1;
      pairScore[i] = id === undefined ? -Infinity : this.scores[id]!;
    };
    for (let i = 0; i + 1 < tokens.length; i++) evalPair(i);
    for (;;) {
      let best = MERGE_FLOOR;
      let bestIdx = -1;
      for (let i = 0; i + 1 < tokens.length; i++) {
        if (pairScore[i]! > best) {
          best = pairScore[i]!;
          bestIdx = i;
        }
      }
      if (bestIdx < 0) return;
      tokens[bestIdx] = pairId[bestIdx]!;
      tokens.splice(bestIdx + 1, 1);
      pairId.splice(bestIdx + 1, 1);
      pairScore.splice(bestIdx + 1, 1);
      if (bestIdx + 1 < tokens.length) evalPair(bestIdx);
      else {
        pairId.length = bestIdx;
        pairScore.length = bestIdx;
      }
      if (bestIdx > 0) evalPair(bestIdx - 1);
    }
  }

  /**
   * Bytes of `token` printed after `prev` (run.c decode): the leading space of a piece that
   * follows BOS is dropped, and "<0xXX>" byte tokens become the byte.
   */
  pieceBytes(prev: number, token: number): Uint8Array {
    this.check(token);
    const b = this.decoded[token]!;
    // As in run.c, the space test looks at the stored piece: "<0x20>" after BOS stays a space.
    return prev === BOS && this.pieces[token]!.charCodeAt(0) === 0x20 ? b.subarray(1) : b;
  }

  /**
   * One piece as text (run.c decode semantics). A byte token that is only part of a UTF-8
   * character decodes to U+FFFD here: use decodeAll or streamDecoder for text.
   */
  decode(prev: number, token: number): string {
    return new TextDecoder().decode(this.pieceBytes(prev, token));
  }

  /**
   * Text of a token sequence: the pieces' bytes (as decode() gives them) concatenated and decoded
   * as UTF-8, so characters split across byte-fallback tokens come out whole. BOS and EOS print
   * nothing (run.c never prints the BOS it starts from). `prev` is the token before tokens[0].
   */
  decodeAll(tokens: ArrayLike<number>, prev = -1): string {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      this.check(t);
      if (t !== BOS && t !== EOS) {
        const b = this.pieceBytes(prev, t);
        parts.push(b);
        n += b.length;
      }
      prev = t;
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return new TextDecoder().decode(all);
  }

  /**
   * Incremental decoding for streamed generation: returns a function that takes the next token
   * and returns the text completed so far by it (partial UTF-8 is held back until complete).
   */
  streamDecoder(prev = -1): (token: number) => string {
    const td = new TextDecoder();
    return (token) => {
      this.check(token);
      const p = prev;
      prev = token;
      if (token === BOS || token === EOS) return '';
      return td.decode(this.pieceBytes(p, token), { stream: true });
    };
  }
}

/**
 * Parses a llama2.c tokenizer file. With `vocabSize` (the model's), the token count must match.
 * Errors are ModelFormatError naming `source`.
 */
export function parseTokenizer(buf: ArrayBuffer, source: string, vocabSize?: number): Tokenizer {
  const fail = (p: string): never => {
    throw new ModelFormatError(source, p);
  };
  const n = buf.byteLength;
  if (n < 4) fail(`tokenizer file too short for its header: ${n} bytes, need at least 4`);
  const dv = new DataView(buf);
  const bytes = new Uint8Array(buf);
  const maxLen = dv.getInt32(0, true);
  if (maxLen <= 0 || maxLen > MAX_TOKEN_LENGTH) {
    fail(`max_token_length=${maxLen} is not plausible (expected 1..${MAX_TOKEN_LENGTH}); not a llama2.c tokenizer?`);
  }
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let off = 4;
  while (off < n) {
    const i = pieces.length;
    if (vocabSize !== undefined && i >= vocabSize) {
      fail(`${n - off} bytes after token ${i - 1}: the file has more tokens than the model's vocab_size=${vocabSize}`);
    }
    if (off + 8 > n) fail(`truncated inside token ${i}'s header at byte ${off} (file is ${n} bytes)`);
    const score = dv.getFloat32(off, true);
    const len = dv.getInt32(off + 4, true);
    if (Number.isNaN(score)) fail(`token ${i} has a NaN score`);
    if (len < 0) fail(`token ${i} has negative length ${len}`);
    if (len > maxLen) fail(`token ${i} has length ${len}, above max_token_length=${maxLen}`);
    off += 8;
    if (off + len > n) fail(`truncated inside token ${i}: needs ${len} bytes at byte ${off}, file is ${n} bytes`);
    pieces.push(bytes.slice(off, off + len));
    scores.push(score);
    off += len;
  }
  if (pieces.length === 0) fail('tokenizer holds no tokens');
  if (vocabSize !== undefined && pieces.length !== vocabSize) {
    fail(`tokenizer has ${pieces.length} tokens but the model's vocab_size is ${vocabSize} (truncated or mismatched)`);
  }
  return new Tokenizer(pieces, Float32Array.from(scores), maxLen, source);
}

/** Writes a tokenizer file; `maxLen` defaults to the longest piece (in bytes). */
export function writeTokenizer(
  vocab: readonly (string | Uint8Array)[],
  scores: ArrayLike<number>,
  maxLen?: number,
): ArrayBuffer {
  if (scores.length !== vocab.length) throw new Error(`${vocab.length} pieces but ${scores.length} scores`);
  const pieces = vocab.map((p) => (typeof p === 'string' ? utf8Encoder.encode(p) : p));
  const longest = pieces.reduce((m, p) => Math.max(m, p.length), 0);
  const max = maxLen ?? longest;
  if (longest > max) throw new Error(`a piece is ${longest} bytes, above maxLen=${max}`);
  const size = 4 + pieces.reduce((s, p) => s + 8 + p.length, 0);
  const buf = new ArrayBuffer(size);
  const dv = new DataView(buf);
  const out = new Uint8Array(buf);
  dv.setInt32(0, max, true);
  let off = 4;
  pieces.forEach((p, i) => {
    dv.setFloat32(off, scores[i]!, true);
    dv.setInt32(off + 4, p.length, true);
    out.set(p, off + 8);
    off += 8 + p.length;
  });
  return buf;
}
