// The class of adapter a device came from, for default rules that differ between a software
// rasterizer (SwiftShader, lavapipe, WARP: the "GPU" is the CPU's cores) and a GPU. acquireGpu
// records it for every device it makes; a device made elsewhere counts as a GPU.
export type DeviceProfile = 'software' | 'gpu';

const profiles = new WeakMap<GPUDevice, DeviceProfile>();

export function setDeviceProfile(device: GPUDevice, profile: DeviceProfile): void {
  profiles.set(device, profile);
}

export function deviceProfile(device: GPUDevice): DeviceProfile {
  return profiles.get(device) ?? 'gpu';
}
