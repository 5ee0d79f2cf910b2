// Browser side of the ORT peer under Vite: tells onnxruntime-web where its WebAssembly binary is
// served. ORT's default browser build (JSEP: WebGPU + wasm) embeds its JavaScript glue but loads
// the .wasm relative to its own module, which Vite's dependency pre-bundling moves; a `?url`
// import makes Vite serve (dev) or emit (build) the file and gives its URL.
import jsepWasm from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { configureOrt, type OrtSetup } from './peer.js';

/** configureOrt() with the .wasm location for a Vite page (call before the first session). */
export function configureOrtForVite(setup: Omit<OrtSetup, 'wasmPaths'> = {}): void {
  configureOrt({ ...setup, wasmPaths: { wasm: new URL(jsepWasm, location.href).href } });
}
