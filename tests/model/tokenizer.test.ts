import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/model/checkpoint.js';
import { BOS, EOS, Tokenizer, parseTokenizer, writeTokenizer } from '../../src/model/tokenizer.js';
import { storiesTest, syntheticVocab } from './helpers.js';

const SAMPLES = [
  'Once upon a time',
  'Lily and Ben played in the park. They were happy!',
  'The cat said, "I am hungry." Then it ran away.\nThe end.',
  '  two leading spaces, and trailing ones  ',
];

const UNUSUAL = [
  'café naïve résumé Ångström',
  'emoji 😀👍🏽 and flags 🇫🇷',
  '漢字かな交じり文 한국어',
  'control\tchars\r\n\u0001\u0000\u007f end',
  'é',
  '😀',
  ' ',
  '\n',
];

function parseError(buf: ArrayBuffer, vocabSize?: number, source = 'tok.bin'): string {
  try {
    parseTokenizer(buf, source, vocabSize);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as Error).message.startsWith(`${source}: `)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected parseTokenizer to throw');
}

// A small llama2.c-style vocabulary: specials, 256 byte tokens (ids 3..258), then pieces.
const EXTRA: [string, number][] = [
  [' ', -1], // 259
  ['a', -2], // 260
  ['b', -3], // 261
  ['c', -4], // 262
  ['ab', 1], // 263
  ['bc', 2], // 264
  ['abc', 0], // 265
  ['aa', 5], // 266
  ['é', -5], // 267
  [' a', -20], // 268
];
const synth = syntheticVocab(EXTRA);
const synthTok = parseTokenizer(writeTokenizer(synth.vocab, synth.scores), 'synthetic.bin', synth.vocab.length);

describe('tokenizer on a synthetic vocabulary', () => {
  it('parses what writeTokenizer wrote', () => {
    expect(synthTok.vocabSize).toBe(269);
    expect(synthTok.maxTokenLength).toBe(6); // "<0x00>", "\n</s>\n"
    expect(synthTok.pieceId('abc')).toBe(265);
    expect(synthTok.pieceId('zzz')).toBe(-1);
    expect(new TextDecoder().decode(synthTok.piece(267))).toBe('é');
    expect(synthTok.scores[264]).toBe(2);
  });

  it('merges the best-scoring pair first, leftmost on ties', () => {
    // [' ', a, b, c]: bc (2) beats ab (1) → [' ', a, bc]; then a+bc = "abc" (0) → [' ', abc].
    expect(synthTok.encode('abc')).toEqual([259, 265]);
    // [' ', a, a, a]: two "aa" pairs tie at 5, the leftmost merges → [' ', aa, a]; nothing more.
    expect(synthTok.encode('aaa')).toEqual([259, 266, 260]);
    // [' ', a, b]: ab (1) beats " a" (-20); alone, " a" merges.
    expect(synthTok.encode('ab')).toEqual([259, 263]);
    expect(synthTok.encode('a')).toEqual([268]);
  });

  it('adds BOS, EOS and the dummy prefix like run.c', () => {
    expect(synthTok.encode('')).toEqual([]);
    expect(synthTok.encode('', { bos: true, eos: true })).toEqual([BOS, EOS]);
    expect(synthTok.encode('c', { bos: true, eos: true })).toEqual([BOS, 259, 262, EOS]);
  });

  it('looks up whole codepoints and falls back to bytes + 3', () => {
    expect(synthTok.encode('é')).toEqual([259, 267]);
    // ü = C3 BC has no piece: one token per byte.
    expect(synthTok.encode('ü')).toEqual([259, 0xc3 + 3, 0xbc + 3]);
    expect(synthTok.encode('Z\u0000')).toEqual([259, 0x5a + 3, 3]);
  });

  it('decodes pieces like run.c', () => {
    expect(synthTok.decode(BOS, 268)).toBe('a'); // leading space dropped after BOS
    expect(synthTok.decode(260, 268)).toBe(' a');
    expect(synthTok.decode(260, 0x41 + 3)).toBe('A'); // "<0x41>" → the byte
    expect(synthTok.decode(BOS, 0x20 + 3)).toBe(' '); // "<0x20>" is not a piece starting with a space
    expect(synthTok.decode(260, 0xc3 + 3)).toBe('\ufffd'); // half a character alone
    expect(() => synthTok.decode(1, 269)).toThrow(/token id 269 out of range \[0, 269\)/);
  });

  it('round-trips arbitrary UTF-8 through byte fallback, including split characters', () => {
    for (const text of [...SAMPLES, ...UNUSUAL]) {
      const tokens = synthTok.encode(text, { bos: true });
      expect(synthTok.decodeAll(tokens), JSON.stringify(text)).toBe(text);
      // The same, streamed token by token.
      const stream = synthTok.streamDecoder();
      expect(tokens.map(stream).join('')).toBe(text);
    }
    const emoji = synthTok.encode('😀');
    expect(emoji).toEqual([259, 0xf0 + 3, 0x9f + 3, 0x98 + 3, 0x80 + 3]);
    const stream = synthTok.streamDecoder();
    expect(emoji.map(stream)).toEqual([' ', '', '', '', '😀']);
    // Without BOS the dummy-prefix space stays (run.c semantics).
    expect(synthTok.decodeAll(emoji)).toBe(' 😀');
    expect(synthTok.decodeAll([BOS, ...emoji, EOS])).toBe('😀');
  });

  it('errors when a byte has neither a piece nor a byte token', () => {
    const small = new Tokenizer([new TextEncoder().encode(' '), new TextEncoder().encode('x')], new Float32Array(2), 1, 'tiny');
    expect(() => small.encode('q')).toThrow(/tiny: byte 0x71 has no piece and no byte-fallback token 116/);
  });
});

describe('stories260K tok512', () => {
  storiesTest('parses 512 tokens', ({ tokenizer }) => {
    const tok = parseTokenizer(tokenizer, 'tok512.bin', 512);
    expect(tok.vocabSize).toBe(512);
    expect(tok.maxTokenLength).toBe(7);
    expect(new TextDecoder().decode(tok.piece(BOS))).toBe('\n<s>\n');
    expect(tok.pieceId(' Once')).toBe(403);
  });

  storiesTest('encodes like run.c and decodes back', ({ tokenizer }) => {
    const tok = parseTokenizer(tokenizer, 'tok512.bin', 512);
    // Expected ids from a line-by-line Python port of run.c encode().
    expect(tok.encode('Once upon a time', { bos: true })).toEqual([1, 403, 407, 261, 378]);
    expect(tok.encode('Lily and Ben played in the park. They were happy!', { bos: true })).toEqual([
      1, 317, 269, 368, 302, 337, 266, 322, 265, 282, 295, 433, 426, 342, 382, 276, 393, 443,
    ]);
    expect(tok.encode('café 😀 漢字', { bos: true })).toEqual([
      1, 280, 412, 431, 485, 410, 243, 162, 155, 131, 410, 233, 191, 165, 232, 176, 154,
    ]);
    expect(tok.decodeAll(tok.encode('Once upon a time', { bos: true }))).toBe('Once upon a time');
    for (const text of [...SAMPLES, ...UNUSUAL]) {
      const tokens = tok.encode(text, { bos: true, eos: true });
      expect(tokens[0]).toBe(BOS);
      expect(tokens.at(-1)).toBe(EOS);
      expect(tok.decodeAll(tokens), JSON.stringify(text)).toBe(text);
      // Pieces concatenated (no BOS): the dummy prefix plus the text.
      expect(tok.decodeAll(tokens.slice(1))).toBe(text === '' ? '' : ` ${text}`);
    }
  });
});

describe('corrupted tokenizers', () => {
  const good = writeTokenizer(synth.vocab, synth.scores);
  const n = synth.vocab.length;

  it('rejects truncated files at several cut points', () => {
    expect(parseError(good.slice(0, 2))).toMatch(/too short for its header: 2 bytes/);
    // Header is 4 bytes; token 0 "<unk>" takes 8 + 5 bytes.
    expect(parseError(good.slice(0, 4 + 6))).toMatch(/truncated inside token 0's header at byte 4/);
    expect(parseError(good.slice(0, 4 + 8 + 2))).toMatch(/truncated inside token 0: needs 5 bytes at byte 12/);
    expect(parseError(good.slice(0, good.byteLength - 1))).toMatch(/truncated inside token 268/);
    // Cut exactly between tokens: only the count tells.
    expect(parseError(good.slice(0, 4 + 13), n)).toMatch(/tokenizer has 1 tokens but the model's vocab_size is 269/);
    expect(parseError(new ArrayBuffer(4))).toMatch(/max_token_length=0 is not plausible/);
  });

  it('rejects bad lengths and scores', () => {
    const at = (f: (dv: DataView) => void): ArrayBuffer => {
      const b = good.slice(0);
      f(new DataView(b));
      return b;
    };
    expect(parseError(at((dv) => dv.setInt32(8, -5, true)))).toMatch(/token 0 has negative length -5/);
    expect(parseError(at((dv) => dv.setInt32(8, 1 << 30, true)))).toMatch(
      /token 0 has length 1073741824, above max_token_length=6/,
    );
    expect(parseError(at((dv) => dv.setInt32(0, -1, true)))).toMatch(/max_token_length=-1 is not plausible/);
    expect(parseError(at((dv) => dv.setFloat32(4, NaN, true)))).toMatch(/token 0 has a NaN score/);
  });

  it("rejects a token count that differs from the model's vocab_size", () => {
    expect(parseError(good, n + 1)).toMatch(/has 269 tokens but the model's vocab_size is 270/);
    expect(parseError(good, n - 1)).toMatch(/more tokens than the model's vocab_size=268/);
    expect(parseTokenizer(good, 'tok.bin', n).vocabSize).toBe(n);
  });
});
