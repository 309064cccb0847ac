import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.js';

/*
 * Native kernels for the wasm backend. The addon native/sde_gemm.c (built by `npm ci` when a C
 * compiler and Node's headers are there; skipped otherwise) works directly on the wasm backend's
 * memory: it reads the operands where tfjs keeps them and writes freshly made output tensors,
 * with no copy. It replaces the wasm backend's BatchMatMul and _FusedMatMul (bias and linear,
 * relu, sigmoid or silu in the epilogue; other cases run the original kernels) and Sin, and adds
 * SiLU forward/gradient and Adam/EMA kernels. XNNPACK's wasm SIMD has 128-bit vectors without
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

/** Fused activations the native kernel applies; 'silu' (v sigmoid(v)) is its own, see fusedSiluAvailable. */
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

/** Threads of a native product: SDE_NATIVE_THREADS (default 1, like the wasm backend, for a shared machine). */
export function nativeThreads(): number {
  const env = process.env.SDE_NATIVE_THREADS;
  if (env === undefined || env === '') return 1;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageError(`SDE_NATIVE_THREADS: expected an integer from 1 to 16, got '${env}'`);
  return n;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The wasm memory as floats (taken after any allocation: growing the memory replaces the buffer). */
const heapOf = (backend: WasmBackendLike) => new Float32Array(backend.wasm.HEAPU8.buffer);

/** Float offset of a tensor's data in the wasm memory. */
const offsetOf = (backend: WasmBackendLike, t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;

/** Whether the memory is the single-threaded binary's ArrayBuffer (the threaded one's SharedArrayBuffer is not taken). */
const plainHeap = (backend: WasmBackendLike) => backend.wasm.HEAPU8.buffer instanceof ArrayBuffer;

/** Whether the native kernels can run on these tensors now: installed, on the wasm backend, float32, a plain heap. */
function nativeKernelsUsable(tensors: tf.Tensor[]): boolean {
  return nativeMatMulInstalled() && tensors.every((t) => t.dtype === 'float32') && plainHeap(tf.backend() as unknown as WasmBackendLike);
}

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

/** Kernel names of the native elementwise kernels (wasm backend only). */
const SILU_PARTS = 'SdeSiluParts';
const SILU_GRAD = 'SdeSiluGrad';

/**
 * Registers for the wasm backend: SdeSiluParts (z -> [silu(z), sigmoid(z)]), SdeSiluGrad
 * (dy, s, y -> dy (s + (y - y s))), and a native Sin in place of wasm's (scalar there; the per-sample
 * time embedding of a training batch spends ~10% of the step in it).
 */
function registerElementwiseKernels(gemm: NativeGemm): void {
  tf.registerKernel({
    kernelName: SILU_PARTS,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as WasmBackendLike;
      const z = inputs.z as tf.TensorInfo;
      const y = b.makeOutput(z.shape, 'float32');
      const sg = b.makeOutput(z.shape, 'float32');
      gemm.silu(heapOf(b), offsetOf(b, z), offsetOf(b, y), offsetOf(b, sg), size(z.shape));
      return [y, sg];
    },
  });
  tf.registerKernel({
    kernelName: SILU_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as WasmBackendLike;
      const { dy, s, y } = inputs as Record<string, tf.TensorInfo>;
      const dz = b.makeOutput(dy.shape, 'float32');
      gemm.siluGrad(heapOf(b), offsetOf(b, dy), offsetOf(b, s), offsetOf(b, y), offsetOf(b, dz), size(dy.shape));
      return dz;
    },
  });
  const sin = tf.getKernel('Sin', 'wasm');
  if (sin) {
    const fallback = sin.kernelFunc;
    tf.unregisterKernel('Sin', 'wasm');
    tf.registerKernel({
      ...sin,
      kernelFunc: (args) => {
        const b = args.backend as unknown as WasmBackendLike;
        const x = args.inputs.x as tf.TensorInfo;
        if (x.dtype !== 'float32' || !plainHeap(b)) return fallback(args);
        const out = b.makeOutput(x.shape, 'float32');
        gemm.sin(heapOf(b), offsetOf(b, x), offsetOf(b, out), size(x.shape));
        return out;
      },
    });
  }
}

/**
 * [silu(z), sigmoid(z)] = [z s, s] with s = 1/(1 + e^-z) by one native kernel when the native
 * kernels serve the wasm backend (float32, single-threaded memory); undefined otherwise.
 */
export function nativeSiluParts(z: tf.Tensor): [tf.Tensor, tf.Tensor] | undefined {
  if (!nativeKernelsUsable([z])) return undefined;
  return tf.engine().runKernel(SILU_PARTS, { z }) as unknown as [tf.Tensor, tf.Tensor];
}

/** dy (s + (y - y s)), the SiLU gradient, by one native kernel when available (as nativeSiluParts); undefined otherwise. */
export function nativeSiluGrad(dy: tf.Tensor, s: tf.Tensor, y: tf.Tensor): tf.Tensor | undefined {
  if (s.size !== dy.size || y.size !== dy.size || !nativeKernelsUsable([dy, s, y])) return undefined;
  return tf.engine().runKernel(SILU_GRAD, { dy, s, y }) as tf.Tensor;
}

let installed: { threads: number; isa: string } | undefined;

/** Whether the native kernels serve the wasm backend's products now (transpose flags then cost no extra pass). */
export function nativeMatMulInstalled(): boolean {
  return installed !== undefined && tf.getBackend() === 'wasm';
}

/**
 * Whether tf.fused.matMul may be given activation 'silu' now: the native kernels are installed,
 * the wasm backend is in use, and no gradient tape records (tfjs only runs the fused kernel
 * then; under a tape it would apply the activation itself, and knows no 'silu').
 */
export function fusedSiluAvailable(): boolean {
  return nativeMatMulInstalled() && tf.engine().state.gradientDepth === 0;
}

/**
 * Installs the native kernels on the wasm backend when the addon is available (and SDE_NATIVE
 * is not 0): BatchMatMul and _FusedMatMul (cases they do not cover fall back to the original
 * kernels), Sin, and the SiLU and optimizer kernels. Returns the products' thread count and
 * vector extension, or undefined when nothing was installed.
 */
export function installNativeMatMul(): { threads: number; isa: string } | undefined {
  if (installed) return installed;
  if (process.env.SDE_NATIVE === '0') return undefined;
  const gemm = loadNativeGemm();
  if (!gemm) return undefined;
  const threads = nativeThreads();
  for (const [kernelName, fused] of [['BatchMatMul', false], ['_FusedMatMul', true]] as const) {
    const original = tf.getKernel(kernelName, 'wasm');
    if (!original) return undefined;
    const fallback = original.kernelFunc;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => nativeMatMul(gemm, threads, args as unknown as KernelArgs, fused) ?? (fallback(args) as tf.TensorInfo),
    });
  }
  registerElementwiseKernels(gemm);
  registerOptimizerKernels(gemm);
  installed = { threads, isa: gemm.isa() };
  return installed;
}

/** Kernel names of the native optimizer kernels (wasm backend only). */
const ADAM = 'SdeAdam';
const EMA_KERNEL = 'SdeEma';

/** Registers SdeAdam (p, g, m, v, factor -> p', m', v') and SdeEma (e, p -> e') for the wasm backend. */
function registerOptimizerKernels(gemm: NativeGemm): void {
  tf.registerKernel({
    kernelName: ADAM,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackendLike;
      const { p, g, m, v, factor } = inputs as Record<string, tf.TensorInfo>;
      const { lr, beta1, beta2, eps } = attrs as Record<string, number>;
      const outs = [b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32')];
      const o = (t: tf.TensorInfo) => offsetOf(b, t);
      gemm.adam(heapOf(b), o(p), o(g), o(m), o(v), size(p.shape), o(factor), lr, beta1, beta2, eps, o(outs[0]), o(outs[1]), o(outs[2]));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: EMA_KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackendLike;
      const { e, p } = inputs as Record<string, tf.TensorInfo>;
      const out = b.makeOutput(e.shape, 'float32');
      gemm.ema(heapOf(b), offsetOf(b, e), offsetOf(b, p), size(e.shape), (attrs as Record<string, number>).rate, offsetOf(b, out));
      return out;
    },
  });
}

/**
 * One Adam step by one native kernel, the arithmetic of src/train/adam.ts with the float32
 * constants rounded the same way: m' = beta1 m + f (1 - beta1) g, v' = beta2 v + f^2 (1 - beta2) g^2,
 * p' = p - lr m' / (sqrt(v') + eps), f the clip factor (a scalar tensor). Returns new tensors
 * [p', m', v'] (the caller assigns them: a weight must become a new tensor, since the wasm backend
 * caches XNNPACK operators with packed weights per tensor), or undefined when the native kernels
 * are not in use.
 */
export function nativeAdamStep(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, factor: tf.Scalar, lr: number, beta1: number, beta2: number, eps: number): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  if (g.size !== p.size || m.size !== p.size || v.size !== p.size || !nativeKernelsUsable([p, g, m, v, factor])) return undefined;
  const attrs = { lr, beta1, beta2, eps } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(ADAM, { p, g, m, v, factor }, attrs) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/** e - rate (e - p) by one native kernel as a new tensor, or undefined when the native kernels are not in use. */
export function nativeEmaStep(e: tf.Tensor, p: tf.Tensor, rate: number): tf.Tensor | undefined {
  if (e.size !== p.size || !nativeKernelsUsable([e, p])) return undefined;
  return tf.engine().runKernel(EMA_KERNEL, { e, p }, { rate } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
