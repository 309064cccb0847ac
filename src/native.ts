import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNELS } from './ops.js';

/*
 * Native kernels for the wasm backend. The addon native/sde_gemm.c (built by `npm ci` when a C
 * compiler and Node's headers are there; skipped otherwise) works directly on the wasm backend's
 * memory: it reads the operands where tfjs keeps them and writes freshly made output tensors,
 * with no copy. installNativeKernels (called by configureRuntime, src/runtime.ts) replaces the
 * wasm backend's BatchMatMul and _FusedMatMul (bias and linear, relu or sigmoid in the epilogue;
 * other cases run the original kernels) and Sin, and registers the kernels of src/ops.ts's ops
 * (products with transpose flags, dense + SiLU, SiLU parts and gradient, Adam and EMA steps) for
 * the wasm backend; uninstallNativeKernels restores the stock kernels. XNNPACK's wasm SIMD has 128-bit vectors without
 * fused multiply-add; the native products run 256-bit (AVX2) or 512-bit (AVX-512) FMA.
 * Outputs are always new tensors, never written in place: the wasm backend caches XNNPACK
 * operators (with packed weights) per tensor.
 */

interface NativeGemm {
  supported(): boolean;
  /** 'avx512' or 'avx2': the tiles the products use (AVX-512 where the CPU has it, unless SDE_NATIVE_AVX512=0). */
  isa(): string;
  /** heap, p, g, m, v, n, factor (offset of the clip factor), lr, beta1, beta2, eps, pOut, mOut, vOut: one Adam step. */
  adam(heap: Float32Array, ...args: number[]): void;
  /** heap, e, p, n, rate, eOut: eOut = e - rate (e - p). */
  ema(heap: Float32Array, ...args: number[]): void;
  /** heap, z, y, s, n: s = sigmoid(z), y = z s. */
  silu(heap: Float32Array, ...args: number[]): void;
  /** heap, dy, s, y, dz, n: dz = dy (s + (y - y s)). */
  siluGrad(heap: Float32Array, ...args: number[]): void;
  /** heap, x, out, n: out = sin(x). */
  sin(heap: Float32Array, ...args: number[]): void;
  /** heap, a, b, c, bias (element offsets; bias < 0: none), m, n, k, transposeA, transposeB, act, threads, batch, strideA, strideB, strideC. */
  matmul(heap: Float32Array, ...args: number[]): void;
}

/** The wasm backend's internals the kernels use. */
interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: WasmBackendLike;
  attrs: Record<string, unknown>;
}

/** Fused activations the native kernel applies; 'silu' (v sigmoid(v)) is tfjs's no activation, used by SdeDenseSilu. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, sigmoid: 2, silu: 3 };

/** Where the built addon lies: native/build/Release under the package root (from src/ or dist/src/). */
function addonPath(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'native', 'build', 'Release', 'sde_gemm.node');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** The addon, when it was built, loads, and the CPU has AVX2 and FMA; undefined otherwise. */
export function loadNativeGemm(): NativeGemm | undefined {
  const file = addonPath();
  if (!file) return undefined;
  try {
    const addon = createRequire(import.meta.url)(file) as NativeGemm;
    return addon.supported() ? addon : undefined;
  } catch {
    return undefined;
  }
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The wasm memory as floats (taken after any allocation: growing the memory replaces the buffer). */
const heapOf = (backend: WasmBackendLike) => new Float32Array(backend.wasm.HEAPU8.buffer);

/** Float offset of a tensor's data in the wasm memory. */
const offsetOf = (backend: WasmBackendLike, t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;

/** Whether the memory is the single-threaded binary's ArrayBuffer (the threaded one's SharedArrayBuffer is not taken). */
const plainHeap = (backend: WasmBackendLike) => backend.wasm.HEAPU8.buffer instanceof ArrayBuffer;

/**
 * The kernel function computing act(op(a) op(b) + bias) for a [..., M, K] and b [..., K, N]
 * (batch dimensions equal, or one side's product 1), or null to let the original kernel run.
 */
function nativeMatMul(gemm: NativeGemm, threads: number, args: KernelArgs, fused: boolean): tf.TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo>;
  const transposeA = Boolean(args.attrs.transposeA);
  const transposeB = Boolean(args.attrs.transposeB);
  const act = fused ? ACTIVATIONS[String(args.attrs.activation ?? 'linear')] : 0;
  if (act === undefined || preluActivationWeights) return null;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  if (bias && (bias.shape.length !== 1 || bias.dtype !== 'float32')) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null;
  if (bias && bias.shape[0] !== n) return null;
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  const batchDims = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  if (batchA === batchB && a.shape.length !== b.shape.length) return null;
  const batch = Math.max(batchA, batchB);
  const { backend } = args;
  if (!plainHeap(backend)) return null;
  const offset = (t: tf.TensorInfo) => offsetOf(backend, t);
  if (![a, b, ...(bias ? [bias] : [])].every((t) => Number.isInteger(offset(t)))) return null;
  const out = backend.makeOutput([...batchDims, m, n], 'float32');
  gemm.matmul(
    heapOf(backend), offset(a), offset(b), offset(out), bias ? offset(bias) : -1, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0, act, threads,
    batch, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n, m * n,
  );
  return out;
}

type KernelFunc = tf.KernelConfig['kernelFunc'];

/** What installNativeKernels did: the products' threads and vector extension, and how to undo it. */
interface Installed {
  threads: number;
  isa: string;
  /** The stock wasm kernels that were replaced, to register again on uninstall. */
  replaced: tf.KernelConfig[];
  /** Names of the kernels added (for the wasm backend). */
  added: string[];
}

let installed: Installed | undefined;

/** Replaces the wasm kernel `name` by `make(original)`; false when wasm has no such kernel. */
function replaceKernel(name: string, make: (original: KernelFunc) => KernelFunc): boolean {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return false;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: make(original.kernelFunc) });
  installed!.replaced.push(original);
  return true;
}

/** Registers a new wasm kernel. */
function addKernel(kernelName: string, kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]): void {
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc });
  installed!.added.push(kernelName);
}

/** The products: BatchMatMul and _FusedMatMul in place of wasm's, SdeMatMul and SdeDenseSilu (src/ops.ts). */
function registerProducts(gemm: NativeGemm, threads: number): boolean {
  for (const [name, fused] of [['BatchMatMul', false], ['_FusedMatMul', true]] as const) {
    const ok = replaceKernel(name, (fallback) => (args) => nativeMatMul(gemm, threads, args as unknown as KernelArgs, fused) ?? (fallback(args) as tf.TensorInfo));
    if (!ok) return false;
  }
  const batchMatMul = installed!.replaced[0].kernelFunc;
  addKernel(KERNELS.matMul, (args) => nativeMatMul(gemm, threads, args, false) ?? (batchMatMul(args as unknown as Parameters<KernelFunc>[0]) as tf.TensorInfo));
  addKernel(KERNELS.denseSilu, (args) => {
    const out = nativeMatMul(gemm, threads, { ...args, attrs: { activation: 'silu' } }, true);
    if (!out) throw new Error(`${KERNELS.denseSilu}: operands the native product does not take`);
    return out;
  });
  return true;
}

/**
 * The elementwise kernels: SdeSiluParts, SdeSiluGrad (src/ops.ts) and a native Sin in place of
 * wasm's (scalar there; the per-sample time embedding of a training batch spends ~10% of the
 * step in it).
 */
function registerElementwise(gemm: NativeGemm): void {
  addKernel(KERNELS.siluParts, ({ inputs, backend: b }) => {
    const z = inputs.z as tf.TensorInfo;
    const y = b.makeOutput(z.shape, 'float32');
    const sg = b.makeOutput(z.shape, 'float32');
    gemm.silu(heapOf(b), offsetOf(b, z), offsetOf(b, y), offsetOf(b, sg), size(z.shape));
    return [y, sg];
  });
  addKernel(KERNELS.siluGrad, ({ inputs, backend: b }) => {
    const { dy, s, y } = inputs as Record<string, tf.TensorInfo>;
    const dz = b.makeOutput(dy.shape, 'float32');
    gemm.siluGrad(heapOf(b), offsetOf(b, dy), offsetOf(b, s), offsetOf(b, y), offsetOf(b, dz), size(dy.shape));
    return dz;
  });
  replaceKernel('Sin', (fallback) => (args) => {
    const b = args.backend as unknown as WasmBackendLike;
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype !== 'float32') return fallback(args);
    const out = b.makeOutput(x.shape, 'float32');
    gemm.sin(heapOf(b), offsetOf(b, x), offsetOf(b, out), size(x.shape));
    return out;
  });
}

/** The optimizer kernels SdeAdam and SdeEma (src/ops.ts), with the float32 arithmetic of their plain-tfjs versions. */
function registerOptimizers(gemm: NativeGemm): void {
  addKernel(KERNELS.adam, ({ inputs, backend: b, attrs }) => {
    const { p, g, m, v, factor } = inputs as Record<string, tf.TensorInfo>;
    const { lr, beta1, beta2, eps } = attrs as Record<string, number>;
    const outs = [b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32')];
    const o = (t: tf.TensorInfo) => offsetOf(b, t);
    gemm.adam(heapOf(b), o(p), o(g), o(m), o(v), size(p.shape), o(factor), lr, beta1, beta2, eps, o(outs[0]), o(outs[1]), o(outs[2]));
    return outs;
  });
  addKernel(KERNELS.ema, ({ inputs, backend: b, attrs }) => {
    const { e, p } = inputs as Record<string, tf.TensorInfo>;
    const out = b.makeOutput(e.shape, 'float32');
    gemm.ema(heapOf(b), offsetOf(b, e), offsetOf(b, p), size(e.shape), (attrs as Record<string, number>).rate, offsetOf(b, out));
    return out;
  });
}

/** The native kernels in use: the products' thread count and vector extension ('avx512' | 'avx2'), or null. */
export function nativeKernels(): { threads: number; isa: string } | null {
  return installed && tf.getBackend() === 'wasm' ? { threads: installed.threads, isa: installed.isa } : null;
}

/**
 * Installs the native kernels for the wasm backend when the addon is available: products with
 * `threads` threads in place of BatchMatMul and _FusedMatMul (cases they do not cover fall back
 * to the original kernels), Sin, and the kernels of src/ops.ts. Only for the single-threaded wasm
 * binary (the kernels work on its ArrayBuffer memory). Returns what is installed (already
 * installed with other threads: reinstalled), or null when the addon is unavailable.
 */
export function installNativeKernels(threads: number): { threads: number; isa: string } | null {
  if (installed && installed.threads !== threads) uninstallNativeKernels();
  if (!installed) {
    const gemm = loadNativeGemm();
    if (!gemm || tf.getBackend() !== 'wasm' || !plainHeap(tf.backend() as unknown as WasmBackendLike)) return null;
    installed = { threads, isa: gemm.isa(), replaced: [], added: [] };
    if (!registerProducts(gemm, threads)) {
      uninstallNativeKernels();
      return null;
    }
    registerElementwise(gemm);
    registerOptimizers(gemm);
  }
  return { threads: installed.threads, isa: installed.isa };
}

/** Restores the stock wasm kernels and removes the native ones (nothing when none are installed). */
export function uninstallNativeKernels(): void {
  if (!installed) return;
  for (const name of installed.added) tf.unregisterKernel(name, 'wasm');
  for (const original of installed.replaced) {
    tf.unregisterKernel(original.kernelName, 'wasm');
    tf.registerKernel(original);
  }
  installed = undefined;
}
