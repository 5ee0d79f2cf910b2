// onnxruntime-web's decode tokens/s for the kernel lab, in a worker of its own. The kernel worker
// loads ORT with kernel profiling on (its MatMul times come from ORT's own timestamp queries), and
// ORT reads that setting once per instance; profiling closes a compute pass after every dispatch,
// which slows a decode step. So the kernel worker starts this worker for ORT's decode, ORT is
// loaded here with profiling off, the model is passed in (structured clone), and the kernel
// worker terminates it afterwards.
//
// Like the kernel worker, src/ort/peer.ts is optional (import.meta.glob finds nothing without it).
import * as Comlink from 'comlink';
import type { Model } from '../model/config.js';
import { asOrtPeer, ORT_UNAVAILABLE } from './kernel-report.js';

const ortModules = import.meta.glob(['../ort/peer.ts', '../ort/browser.ts']);

export interface OrtDecodeRate {
  ort_tokens_per_s: number;
  backend: string | null;
  version: string | null;
}

export interface OrtDecodeWorkerApi {
  /** Greedy decode at batch 1 through ORT (warm-up run first); rejects with the reason it could not run. */
  measure(model: Model, steps: number): Promise<OrtDecodeRate>;
}

const api: OrtDecodeWorkerApi = {
  async measure(model: Model, steps: number): Promise<OrtDecodeRate> {
    const peerLoader = ortModules['../ort/peer.ts'];
    if (!peerLoader) throw new Error(`${ORT_UNAVAILABLE}: src/ort/peer.ts is not part of this build`);
    const browser = ortModules['../ort/browser.ts'];
    if (browser) {
      const b = (await browser()) as { configureOrtForVite?: (s: { profileKernels?: boolean }) => void };
      b.configureOrtForVite?.({ profileKernels: false });
    }
    const peer = asOrtPeer(await peerLoader());
    if (typeof peer === 'string') throw new Error(peer);
    if (!peer.measureOrtDecode) throw new Error(`${ORT_UNAVAILABLE}: src/ort/peer.ts has no measureOrtDecode`);
    const a = await peer.available?.();
    if (a && !a.ok) throw new Error(`${ORT_UNAVAILABLE}: ${a.reason ?? 'no backend'}`);
    const r = await peer.measureOrtDecode(model, { steps });
    return { ort_tokens_per_s: r.ort_tokens_per_s, backend: r.backend ?? a?.backend ?? null, version: a?.version ?? null };
  },
};

Comlink.expose(api);
