/**
 * Finding a WebGPU adapter through Dawn for Node (`webgpu` npm package), including SwiftShader on
 * Linux machines without a GPU (docs/gpu.md, "Running without a GPU").
 *
 * Order of business:
 * 1. If the user set VK_ICD_FILENAMES or VK_DRIVER_FILES, their choice of Vulkan drivers stands.
 * 2. Otherwise, when SwiftShader's ICD is installed (Debian: chromium-common puts it at
 *    /usr/lib/chromium/vk_swiftshader_icd.json, with a relative library path that we rewrite
 *    into a temporary copy), it is *added* to the system's drivers (VK_ADD_DRIVER_FILES), so a
 *    hardware adapter still wins when there is one; loaders too old for that variable get
 *    SwiftShader as the only driver on a second try, after no adapter was found.
 * All of this must happen before Dawn creates its Vulkan instance, so `webgpu` is imported lazily.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createRequire } from 'node:module';

/** Where Debian's chromium-common installs SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICD_PATHS = ['/usr/lib/chromium/vk_swiftshader_icd.json'];

/** How to get an adapter on a Linux machine without a GPU (printed with "no adapter" messages). */
export const SWIFTSHADER_HINT =
  'install chromium-common for SwiftShader: apt-get install -y --no-install-recommends chromium-common libvulkan1';

export interface AdapterProbe {
  /** The adapter (null when none was found). Use `gpu` to request fresh ones. */
  adapter: GPUAdapter | null;
  /** `navigator.gpu` of the Dawn instance the adapter came from. */
  gpu: GPU | null;
  /** Human-readable adapter name, e.g. "google swiftshader (SwiftShader driver 5.0.0)". */
  name: string;
  /** True for a software (CPU) adapter such as SwiftShader. */
  isFallback: boolean;
  /** When adapter is null: why, in words, with what to do about it. */
  reason: string;
  /** The SwiftShader ICD file offered to the Vulkan loader, if any. */
  swiftShaderIcd: string | null;
}

type WebGpuModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };

let probeOnce: Promise<AdapterProbe> | undefined;

/** Probe once per process (Dawn initialisation and driver enumeration cost ~0.1-1 s). */
export function probeAdapter(): Promise<AdapterProbe> {
  probeOnce ??= doProbe().catch((e: Error) => ({
    adapter: null, gpu: null, name: '', isFallback: false, swiftShaderIcd: null,
    reason: `no WebGPU adapter: looking for one failed: ${String(e?.message ?? e).split('\n')[0]}`,
  }));
  return probeOnce;
}

/** `globals` of the webgpu package (GPUBufferUsage, GPUMapMode, ...), once it is loaded. */
export function webgpuGlobals(): { GPUBufferUsage: GPUBufferUsage; GPUMapMode: GPUMapMode; GPUShaderStage: GPUShaderStage } {
  if (!loaded) throw new Error('webgpu is not loaded yet: probe for an adapter first');
  return loaded.globals as never;
}

let loaded: WebGpuModule | undefined;
async function loadWebGpu(): Promise<WebGpuModule> {
  loaded ??= (await import('webgpu')) as unknown as WebGpuModule;
  return loaded;
}

async function doProbe(): Promise<AdapterProbe> {
  const none = (reason: string, swiftShaderIcd: string | null = null): AdapterProbe => ({
    adapter: null, gpu: null, name: '', isFallback: false, reason, swiftShaderIcd,
  });
  if (!webgpuInstalled()) {
    return none('no WebGPU adapter: the optional dependency webgpu is not installed (npm install webgpu)');
  }
  const userDrivers = Boolean(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES);
  const icd = userDrivers ? null : swiftShaderIcd();
  if (process.platform === 'linux' && !vulkanLoaderPresent()) {
    return none(`no WebGPU adapter: the Vulkan loader libvulkan.so.1 is not installed (${SWIFTSHADER_HINT})`, icd);
  }
  let mod: WebGpuModule;
  try {
    mod = await loadWebGpu();
  } catch (e) {
    return none(`no WebGPU adapter: the webgpu package (Dawn) failed to load: ${(e as Error).message.split('\n')[0]}`, icd);
  }
  if (icd) {
    const add = process.env.VK_ADD_DRIVER_FILES;
    if (!add?.split(':').includes(icd)) process.env.VK_ADD_DRIVER_FILES = add ? `${add}:${icd}` : icd;
  }
  let gpu = mod.create([]);
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter && icd) {
    // Vulkan loaders before 1.3.234 ignore VK_ADD_DRIVER_FILES: offer SwiftShader alone.
    process.env.VK_ICD_FILENAMES = icd;
    process.env.VK_DRIVER_FILES = icd;
    gpu = mod.create([]);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  }
  if (!adapter) {
    const why = userDrivers
      ? 'no WebGPU adapter with the Vulkan drivers named by VK_ICD_FILENAMES/VK_DRIVER_FILES'
      : icd
        ? 'no WebGPU adapter, not even SwiftShader'
        : `no WebGPU adapter found (${SWIFTSHADER_HINT})`;
    return none(why, icd);
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const isFallback = Boolean(info.isFallbackAdapter ?? legacy) || info.architecture === 'swiftshader';
  const name = [info.vendor, info.architecture].filter(Boolean).join(' ') + (info.description ? ` (${info.description})` : '');
  return { adapter, gpu, name: name.trim() || 'unknown adapter', isFallback, reason: '', swiftShaderIcd: icd };
}

/**
 * SwiftShader's ICD file, with an absolute library path (a patched copy in the temp directory
 * when the installed one is relative), or null when SwiftShader is not installed.
 */
export function swiftShaderIcd(): string | null {
  for (const path of SWIFTSHADER_ICD_PATHS) {
    if (!existsSync(path)) continue;
    try {
      const json = JSON.parse(readFileSync(path, 'utf8')) as { ICD?: { library_path?: string } };
      const lib = json.ICD?.library_path;
      if (typeof lib !== 'string') continue;
      if (isAbsolute(lib)) return path;
      const abs = resolve(dirname(path), lib);
      if (!existsSync(abs)) continue;
      json.ICD!.library_path = abs;
      const dir = join(tmpdir(), `balanceroute-vk-${process.getuid?.() ?? 'user'}`);
      mkdirSync(dir, { recursive: true });
      const out = join(dir, 'vk_swiftshader_icd.json');
      const text = JSON.stringify(json);
      if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
        const tmp = `${out}.${process.pid}.tmp`;
        writeFileSync(tmp, text);
        renameSync(tmp, out); // atomic: parallel test workers may race here
      }
      return out;
    } catch {
      continue;
    }
  }
  return null;
}

/** Whether the optional `webgpu` package (Dawn for Node) can be resolved from here. */
function webgpuInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('webgpu');
    return true;
  } catch {
    return false;
  }
}

/** Whether the Vulkan loader can be found (Dawn's only backend on Linux). */
function vulkanLoaderPresent(): boolean {
  const name = 'libvulkan.so.1';
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu',
    '/usr/lib64', '/usr/lib', '/lib64', '/lib', '/usr/local/lib',
  ];
  try {
    const require = createRequire(import.meta.url);
    dirs.push(join(dirname(require.resolve('webgpu')), 'dist', `linux-${process.arch}`));
  } catch {
    // The package is missing; loadWebGpu reports it.
  }
  if (dirs.some((d) => existsSync(join(d, name)))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes(name);
  } catch {
    return false;
  }
}
