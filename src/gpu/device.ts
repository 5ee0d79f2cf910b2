// Device acquisition, in one place, for the browser (navigator.gpu) and Node (the `webgpu`
// package, see ./node.ts). The device is watched here: `device.lost` and `uncapturederror` are
// reported through the callbacks given to acquireGpu, never swallowed.
import { setDeviceProfile } from './profile.js';

/** Why WebGPU could not be used. Each reason has its own message for the page and the CLI. */
export type GpuUnavailableReason = 'no-webgpu' | 'insecure-context' | 'no-adapter' | 'device-failed';

export class GpuUnavailableError extends Error {
  constructor(
    readonly reason: GpuUnavailableReason,
    message: string,
  ) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

export const GPU_MESSAGES: Record<GpuUnavailableReason, string> = {
  'no-webgpu':
    'This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Safari 26+, ' +
    'or Firefox 141+ on Windows; on Linux Chrome needs --enable-unsafe-webgpu.',
  'insecure-context':
    'This page is not served from a secure origin, so the browser hides WebGPU. Open it over https, ' +
    'or from http://localhost on the same machine (a plain http LAN address does not count).',
  'no-adapter':
    'WebGPU is present but offered no adapter: the GPU may be blocklisted, disabled, or busy. ' +
    'Check chrome://gpu (or your browser\'s equivalent) and try again.',
  'device-failed': 'The GPU adapter was found but refused to create a device.',
};

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True when the adapter is a software rasterizer (SwiftShader, lavapipe, WARP). */
  software: boolean;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterSummary;
  /** The device was created with 'timestamp-query', so passes can be timed on the GPU. */
  timestamps: boolean;
  /** The device was created with 'subgroups'. */
  subgroups: boolean;
  /** Resolves when the device is lost; `reason` is 'destroyed' after our own destroy(). */
  lost: Promise<GPUDeviceLostInfo>;
  /**
   * Blocks the calling thread for `ms` (Node only). The webgpu package waits for a map or a
   * done-promise by polling Dawn from a setImmediate loop, which keeps a core busy (one of the
   * cores SwiftShader computes on) and makes garbage on every turn; a step sleeps through most of
   * its expected GPU time before it starts waiting (GpuBackend). Absent in browsers, whose
   * WebGPU signals completion without polling.
   */
  sleepSync?: (ms: number) => void;
  destroy(): void;
}

export interface AcquireOptions {
  /** A GPU object to use instead of navigator.gpu (Node passes the `webgpu` package's). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Called with every error the device raises outside an error scope. */
  onError?: (error: GPUError) => void;
  /** Called once if the device is lost for any reason other than our own destroy(). */
  onLost?: (info: GPUDeviceLostInfo) => void;
}

/** Limits we ask for up to the adapter's maximum: the model's buffers need more than defaults. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

function summarize(info: GPUAdapterInfo | undefined): AdapterSummary {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const text = `${vendor} ${architecture} ${device} ${description}`.toLowerCase();
  return {
    vendor,
    architecture,
    device,
    description,
    software: /swiftshader|llvmpipe|lavapipe|warp|software/.test(text),
  };
}

/** Describes an adapter in one line for tables and logs. */
export function adapterLabel(a: AdapterSummary): string {
  const parts = [a.vendor, a.architecture, a.device, a.description].filter((s) => s.length > 0);
  const unique = parts.filter((p, i) => parts.indexOf(p) === i);
  return unique.length > 0 ? unique.join(' / ') : 'unknown adapter';
}

export async function acquireGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  let gpu = options.gpu;
  if (!gpu) {
    const g = globalThis as { isSecureContext?: boolean; navigator?: { gpu?: GPU } };
    if (g.isSecureContext === false) {
      throw new GpuUnavailableError('insecure-context', GPU_MESSAGES['insecure-context']);
    }
    gpu = g.navigator?.gpu;
    if (!gpu) throw new GpuUnavailableError('no-webgpu', GPU_MESSAGES['no-webgpu']);
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new GpuUnavailableError('no-adapter', GPU_MESSAGES['no-adapter']);

  const requiredFeatures: GPUFeatureName[] = [];
  const timestamps = adapter.features.has('timestamp-query');
  if (timestamps) requiredFeatures.push('timestamp-query');
  const subgroups = adapter.features.has('subgroups' as GPUFeatureName);
  if (subgroups) requiredFeatures.push('subgroups' as GPUFeatureName);
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }

  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    throw new GpuUnavailableError('device-failed', `${GPU_MESSAGES['device-failed']} ${(e as Error).message}`);
  }

  let destroyedByUs = false;
  device.addEventListener('uncapturederror', (ev) => {
    const error = (ev as GPUUncapturedErrorEvent).error;
    if (options.onError) options.onError(error);
    else console.error(`WebGPU error: ${error.message}`);
  });
  const lost = device.lost.then((info) => {
    if (!destroyedByUs && options.onLost) options.onLost(info);
    return info;
  });

  const summary = summarize(adapter.info);
  setDeviceProfile(device, summary.software ? 'software' : 'gpu');
  return {
    device,
    adapter: summary,
    timestamps,
    subgroups,
    lost,
    destroy() {
      destroyedByUs = true;
      device.destroy();
    },
  };
}
