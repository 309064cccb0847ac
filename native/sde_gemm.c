/*
 * sde_gemm: a float32 matrix product with bias and activation for x86-64 CPUs with AVX2 and FMA
 * (and AVX-512 where present),
 * run in place on the memory of tfjs's WebAssembly backend (src/native.ts registers it as the
 * wasm backend's MatMul kernels when this addon builds and the CPU supports it).
 *
 *   C[b] = act(op(A[b]) op(B[b]) + bias),  op(X) = X or X^T,
 *   act: none | relu | sigmoid 1/(1 + e^-v) | silu v/(1 + e^-v)
 *
 * Blocking: B is packed into column panels of 16 (zero-padded), K in blocks of KC; a 6 x 16
 * register tile (12 ymm accumulators) per micro-kernel call (AVX-512: panels of 32, 12 x 32
 * tiles in 24 zmm accumulators, edge columns masked), A read in place by broadcasts
 * (A^T is read in place too, with swapped strides). Bias and activation are applied to the registers of the last K block
 * before they are stored (e^x by a Cephes-style polynomial, relative error ~1e-7). Rows are
 * split across up to `threads` POSIX threads.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define MR 6
#define NR 16
#define KC 256
#define MR_WIDE 12
#define NR_WIDE 32

typedef struct {
  const float *a; /* element (i, p) of op(A) at a[i * rs + p * ps]: rs = K, ps = 1, or transposed rs = 1, ps = M */
  long rs, ps;
  const float *bp; /* packed B: ceil(N/16) panels of K x 16 */
  float *c;
  int ldc;
  int m0, m1, n, k;
  const float *bias;
  int act;
  int wide; /* AVX-512 tiles (MR_WIDE x NR_WIDE) instead of AVX2 ones */
} Job;

/* e^x for 8 floats: x = n ln2 + r, e^r by a degree-5 polynomial (Cephes expf), 2^n from the exponent bits. */
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

/* act(v + bias) on 8 values; act 0 none, 1 relu, 2 sigmoid, 3 silu. */
__attribute__((target("avx2,fma"))) static inline __m256 epilogue(__m256 v, __m256 bias, int act) {
  v = _mm256_add_ps(v, bias);
  if (act == 1) return _mm256_max_ps(v, _mm256_setzero_ps());
  if (act >= 2) {
    __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
    return act == 2 ? s : _mm256_mul_ps(v, s);
  }
  return v;
}

/*
 * C[rows x cols] (+)= A[rows x kc] B-panel[kc x 16]; accumulate adds to what C holds (K blocks
 * after the first); `last` (the last K block) applies bias (16 values, zero-padded) and act.
 */
/* acc += A[rows x kc] B-panel, A's element (r, p) at a[r * rs + p * ps]; `rows` and the strides
   are compile-time constants at the call sites that matter, so the loops unroll into registers. */
__attribute__((target("avx2,fma"), always_inline)) static inline void accumulate_tile(__m256 acc[MR][2], const float *a, long rs, long ps,
                                                                                    const float *bp, int kc, int rows) {
  for (int p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(bp + p * NR);
    __m256 b1 = _mm256_loadu_ps(bp + p * NR + 8);
    for (int r = 0; r < rows; r++) {
      __m256 av = _mm256_broadcast_ss(a + r * rs + p * ps);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
}

__attribute__((target("avx2,fma"))) static void tile(const float *a, long rs, long ps, const float *bp, int kc, float *c, int ldc,
                                                      int rows, int cols, int accumulate, int last, const float *bias16, int act) {
  __m256 acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  /* Full tiles get constant row counts and strides (plain A: ps = 1; transposed A: rs = 1). */
  if (rows == MR && ps == 1) accumulate_tile(acc, a, rs, 1, bp, kc, MR);
  else if (rows == MR && rs == 1) accumulate_tile(acc, a, 1, ps, bp, kc, MR);
  else accumulate_tile(acc, a, rs, ps, bp, kc, rows);
  const __m256 bias0 = _mm256_loadu_ps(bias16);
  const __m256 bias1 = _mm256_loadu_ps(bias16 + 8);
  float tmp[NR];
  for (int r = 0; r < rows; r++) {
    float *cr = c + r * ldc;
    __m256 v0 = acc[r][0];
    __m256 v1 = acc[r][1];
    if (accumulate) {
      if (cols == NR) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
      } else {
        for (int j = 0; j < NR; j++) tmp[j] = j < cols ? cr[j] : 0.0f;
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(tmp));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(tmp + 8));
      }
    }
    if (last) {
      v0 = epilogue(v0, bias0, act);
      v1 = epilogue(v1, bias1, act);
    }
    if (cols == NR) {
      _mm256_storeu_ps(cr, v0);
      _mm256_storeu_ps(cr + 8, v1);
    } else {
      _mm256_storeu_ps(tmp, v0);
      _mm256_storeu_ps(tmp + 8, v1);
      for (int j = 0; j < cols; j++) cr[j] = tmp[j];
    }
  }
}

/* The AVX-512 versions: e^x for 16 floats, and a 12 x 32 tile (24 zmm accumulators). */
__attribute__((target("avx512f"))) static inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
  __m512 fx = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  __m512i n = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(y, _mm512_castsi512_ps(n));
}

__attribute__((target("avx512f"))) static inline __m512 epilogue16(__m512 v, __m512 bias, int act) {
  v = _mm512_add_ps(v, bias);
  if (act == 1) return _mm512_max_ps(v, _mm512_setzero_ps());
  if (act >= 2) {
    __m512 s = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    return act == 2 ? s : _mm512_mul_ps(v, s);
  }
  return v;
}

__attribute__((target("avx512f"), always_inline)) static inline void accumulate_tile16(__m512 acc[MR_WIDE][2], const float *a, long rs, long ps,
                                                                                     const float *bp, int kc, int rows) {
  for (int p = 0; p < kc; p++) {
    __m512 b0 = _mm512_loadu_ps(bp + p * NR_WIDE);
    __m512 b1 = _mm512_loadu_ps(bp + p * NR_WIDE + 16);
    for (int r = 0; r < rows; r++) {
      __m512 av = _mm512_set1_ps(a[r * rs + p * ps]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
}

__attribute__((target("avx512f"))) static void tile_wide(const float *a, long rs, long ps, const float *bp, int kc, float *c, int ldc,
                                                           int rows, int cols, int accumulate, int last, const float *bias32, int act) {
  __m512 acc[MR_WIDE][2];
  for (int r = 0; r < MR_WIDE; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  if (rows == MR_WIDE && ps == 1) accumulate_tile16(acc, a, rs, 1, bp, kc, MR_WIDE);
  else if (rows == MR_WIDE && rs == 1) accumulate_tile16(acc, a, 1, ps, bp, kc, MR_WIDE);
  else accumulate_tile16(acc, a, rs, ps, bp, kc, rows);
  /* Columns past `cols` are masked off in loads and stores. */
  const __mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? (__mmask16)0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : (__mmask16)0;
  const __m512 bias0 = _mm512_loadu_ps(bias32);
  const __m512 bias1 = _mm512_loadu_ps(bias32 + 16);
  for (int r = 0; r < rows; r++) {
    float *cr = c + r * ldc;
    __m512 v0 = acc[r][0];
    __m512 v1 = acc[r][1];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    if (last) {
      v0 = epilogue16(v0, bias0, act);
      v1 = epilogue16(v1, bias1, act);
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

static void *run_job(void *arg) {
  const Job *job = (const Job *)arg;
  const int mr = job->wide ? MR_WIDE : MR;
  const int nr = job->wide ? NR_WIDE : NR;
  const int panels = (job->n + nr - 1) / nr;
  /* A K of 0 still writes act(bias): one pass over an all-zero block of depth 0. */
  const int kTotal = job->k;
  for (int k0 = 0; k0 < kTotal || (kTotal == 0 && k0 == 0); k0 += KC) {
    const int kc = kTotal - k0 < KC ? kTotal - k0 : KC;
    const int last = k0 + KC >= kTotal;
    /* Plain A: a panel of B stays in L1 while the row blocks pass. Transposed A: a row block's
       strided columns of A stay in L1 while the panels pass (each cache line of A^T holds only a
       few of the block's values, so re-reading it per panel would waste bandwidth). */
    const int transposed = job->ps != 1;
    const int blocks = (job->m1 - job->m0 + mr - 1) / mr;
    const int outer = transposed ? blocks : panels;
    const int inner = transposed ? panels : blocks;
    for (int o = 0; o < outer; o++) {
      for (int q = 0; q < inner; q++) {
        const int jp = transposed ? q : o;
        const int i = job->m0 + mr * (transposed ? o : q);
        const float *bp = job->bp + (size_t)jp * kTotal * nr + (size_t)k0 * nr;
        const int cols = job->n - jp * nr < nr ? job->n - jp * nr : nr;
        float bias[NR_WIDE];
        for (int j = 0; j < nr; j++) bias[j] = job->bias && j < cols ? job->bias[jp * nr + j] : 0.0f;
        const int rows = job->m1 - i < mr ? job->m1 - i : mr;
        const float *a = job->a + i * job->rs + k0 * job->ps;
        float *c = job->c + (size_t)i * job->ldc + jp * nr;
        if (job->wide) tile_wide(a, job->rs, job->ps, bp, kc, c, job->ldc, rows, cols, k0 > 0, last, bias, job->act);
        else tile(a, job->rs, job->ps, bp, kc, c, job->ldc, rows, cols, k0 > 0, last, bias, job->act);
      }
    }
  }
  return NULL;
}

/* Packs op(B) (K x N) into panels of K x nr, zero-padded. */
static void pack_b(const float *b, int k, int n, int transposeB, int nr, float *out) {
  const int panels = (n + nr - 1) / nr;
  for (int jp = 0; jp < panels; jp++) {
    float *dst = out + (size_t)jp * k * nr;
    for (int p = 0; p < k; p++) {
      for (int jj = 0; jj < nr; jj++) {
        const int j = jp * nr + jj;
        float v = 0.0f;
        if (j < n) v = transposeB ? b[(size_t)j * k + p] : b[(size_t)p * n + j];
        dst[p * nr + jj] = v;
      }
    }
  }
}

static int cpu_ok(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* AVX-512 tiles where the CPU has them, unless SDE_NATIVE_AVX512=0 (read at every product, so tests can switch). */
static int use_wide(void) {
  const char *env = getenv("SDE_NATIVE_AVX512");
  return __builtin_cpu_supports("avx512f") && !(env && strcmp(env, "0") == 0);
}

/*
 * One product on `threads` threads: op(A) is M x K, op(B) K x N, C M x N, all row-major floats
 * in `base` at the given element offsets; bias (N values) at biasOffset, or none when < 0.
 */
static void gemm(float *base, int64_t aOff, int64_t bOff, int64_t cOff, int64_t biasOff, int m, int n, int k, int transposeA,
                 int transposeB, int act, int threads) {
  const float *a = base + aOff;
  const int wide = use_wide();
  const int mr = wide ? MR_WIDE : MR;
  const int nr = wide ? NR_WIDE : NR;
  const int panels = (n + nr - 1) / nr;
  float *bp = (float *)aligned_alloc(64, sizeof(float) * ((size_t)panels * (size_t)(k > 0 ? k : 1) * nr + 16));
  pack_b(base + bOff, k, n, transposeB, nr, bp);
  Job jobs[16];
  pthread_t ids[16];
  if (threads < 1) threads = 1;
  if (threads > 16) threads = 16;
  /* Below ~4 MFLOP a thread costs more than it saves. */
  if ((double)m * n * k < 2e6 * threads) threads = (int)((double)m * n * k / 2e6) > 1 ? (int)((double)m * n * k / 2e6) : 1;
  if (threads > m / mr) threads = m / mr > 1 ? m / mr : 1;
  const int chunk = ((m + threads - 1) / threads + mr - 1) / mr * mr;
  int started = 0;
  for (int t = 0; t < threads; t++) {
    Job *j = &jobs[t];
    j->a = a;
    j->rs = transposeA ? 1 : k;
    j->ps = transposeA ? m : 1;
    j->bp = bp;
    j->c = base + cOff;
    j->ldc = n;
    j->m0 = t * chunk < m ? t * chunk : m;
    j->m1 = (t + 1) * chunk < m ? (t + 1) * chunk : m;
    j->n = n;
    j->k = k;
    j->bias = biasOff >= 0 ? base + biasOff : NULL;
    j->act = act;
    j->wide = wide;
  }
  for (int t = 1; t < threads; t++) {
    if (jobs[t].m0 < jobs[t].m1 && pthread_create(&ids[t], NULL, run_job, &jobs[t]) == 0) started |= 1 << t;
    else if (jobs[t].m0 < jobs[t].m1) run_job(&jobs[t]);
  }
  run_job(&jobs[0]);
  for (int t = 1; t < threads; t++)
    if (started & (1 << t)) pthread_join(ids[t], NULL);
  free(bp);
}

/* Reads the Float32Array heap (argument 0) and `count` int64/double arguments after it; 0 on success. */
static int heap_args(napi_env env, napi_callback_info info, size_t count, float **heap, size_t *length, double *out) {
  size_t argc = 16;
  napi_value args[16];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  napi_typedarray_type type;
  void *data;
  napi_value buffer;
  size_t byteOffset;
  if (argc != count + 1 || napi_get_typedarray_info(env, args[0], &type, length, &data, &buffer, &byteOffset) != napi_ok ||
      type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "sde_gemm: expected a Float32Array heap and numbers");
    return 1;
  }
  for (size_t i = 0; i < count; i++) napi_get_value_double(env, args[i + 1], &out[i]);
  *heap = (float *)data;
  return 0;
}

/* Whether the `count` spans [off, off + n) all lie in a heap of `length` floats. */
static int in_heap(size_t length, int64_t n, const int64_t *offsets, int count) {
  if (n < 0) return 0;
  for (int i = 0; i < count; i++)
    if (offsets[i] < 0 || offsets[i] + n > (int64_t)length) return 0;
  return 1;
}

/* matmul(heap: Float32Array, a, b, c, bias, m, n, k, transposeA, transposeB, act, threads, batch, strideA, strideB, strideC) */
static napi_value js_matmul(napi_env env, napi_callback_info info) {
  float *heap;
  size_t length;
  double v[15];
  if (heap_args(env, info, 15, &heap, &length, v)) return NULL;
  const int64_t aOff = (int64_t)v[0], bOff = (int64_t)v[1], cOff = (int64_t)v[2], biasOff = (int64_t)v[3];
  const int m = (int)v[4], n = (int)v[5], k = (int)v[6];
  const int64_t batch = (int64_t)v[11], sa = (int64_t)v[12], sb = (int64_t)v[13], sc = (int64_t)v[14];
  const int64_t need = cOff + (batch - 1) * sc + (int64_t)m * n;
  if (m < 0 || n < 0 || k < 0 || batch < 1 || aOff < 0 || bOff < 0 || cOff < 0 || need > (int64_t)length) {
    napi_throw_range_error(env, NULL, "sde_gemm.matmul: operands out of range");
    return NULL;
  }
  for (int64_t b = 0; b < batch; b++)
    gemm(heap, aOff + b * sa, bOff + b * sb, cOff + b * sc, biasOff, m, n, k, (int)v[7], (int)v[8], (int)v[9], (int)v[10]);
  return NULL;
}

/*
 * adam(heap, p, g, m, v, n, factor, lr, beta1, beta2, eps, pOut, mOut, vOut): one Adam step on n
 * values into new buffers, with the clip factor f read from heap[factor]:
 *   m' = beta1 m + f (1 - beta1) g,  v' = beta2 v + f^2 (1 - beta2) g^2,  p' = p - lr m' / (sqrt(v') + eps)
 * (lr already carries the bias corrections), the same float32 arithmetic as src/train/adam.ts.
 * The results go to new tensors, never in place: the wasm backend caches XNNPACK operators with
 * their weights packed, keyed by tensor, so a weight must change by becoming a new tensor.
 */
static napi_value js_adam(napi_env env, napi_callback_info info) {
  float *heap;
  size_t length;
  double a[13];
  if (heap_args(env, info, 13, &heap, &length, a)) return NULL;
  const int64_t p = (int64_t)a[0], g = (int64_t)a[1], m = (int64_t)a[2], v = (int64_t)a[3], n = (int64_t)a[4], fo = (int64_t)a[5];
  const int64_t po = (int64_t)a[10], mo = (int64_t)a[11], vo = (int64_t)a[12];
  const int64_t spans[] = {p, g, m, v, po, mo, vo};
  if (!in_heap(length, n, spans, 7) || !in_heap(length, 1, &fo, 1)) {
    napi_throw_range_error(env, NULL, "sde_gemm.adam: operands out of range");
    return NULL;
  }
  /* Each constant rounded to float32 as the tensor version rounds it (1 - beta in float64 first). */
  const float f = heap[fo];
  const float b1 = (float)a[7], b2 = (float)a[8], eps = (float)a[9], negLr = (float)(-a[6]);
  const float c1 = f * (float)(1.0 - a[7]), c2 = (f * f) * (float)(1.0 - a[8]);
  const float *pp = heap + p, *mm = heap + m, *vv = heap + v, *gg = heap + g;
  float *pOut = heap + po, *mOut = heap + mo, *vOut = heap + vo;
  for (int64_t i = 0; i < n; i++) {
    const float gi = gg[i];
    const float mi = mm[i] * b1 + gi * c1;
    const float vi = vv[i] * b2 + (gi * gi) * c2;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = pp[i] + negLr * (mi / (sqrtf(vi) + eps));
  }
  return NULL;
}

/* ema(heap, e, p, n, rate, eOut): eOut = e - rate (e - p) on n values (src/train/ema.ts). */
static napi_value js_ema(napi_env env, napi_callback_info info) {
  float *heap;
  size_t length;
  double a[5];
  if (heap_args(env, info, 5, &heap, &length, a)) return NULL;
  const int64_t e = (int64_t)a[0], p = (int64_t)a[1], n = (int64_t)a[2], eo = (int64_t)a[4];
  const int64_t spans[] = {e, p, eo};
  if (!in_heap(length, n, spans, 3)) {
    napi_throw_range_error(env, NULL, "sde_gemm.ema: operands out of range");
    return NULL;
  }
  const float rate = (float)a[3];
  const float *ee = heap + e, *pp = heap + p;
  float *out = heap + eo;
  for (int64_t i = 0; i < n; i++) out[i] = ee[i] - rate * (ee[i] - pp[i]);
  return NULL;
}

/* silu(heap, z, y, s, n): s = 1/(1 + e^-z), y = z s on n values (AVX2 8 at a time, e^x as in the products). */
__attribute__((target("avx2,fma"))) static void silu_parts(const float *z, float *y, float *s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(z + i);
    __m256 sv = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
    _mm256_storeu_ps(s + i, sv);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(v, sv));
  }
  for (; i < n; i++) {
    const float si = 1.0f / (1.0f + expf(-z[i]));
    s[i] = si;
    y[i] = z[i] * si;
  }
}

static napi_value js_silu(napi_env env, napi_callback_info info) {
  float *heap;
  size_t length;
  double a[4];
  if (heap_args(env, info, 4, &heap, &length, a)) return NULL;
  const int64_t z = (int64_t)a[0], y = (int64_t)a[1], sv = (int64_t)a[2], n = (int64_t)a[3];
  const int64_t spans[] = {z, y, sv};
  if (!in_heap(length, n, spans, 3)) {
    napi_throw_range_error(env, NULL, "sde_gemm.silu: operands out of range");
    return NULL;
  }
  silu_parts(heap + z, heap + y, heap + sv, n);
  return NULL;
}

/* siluGrad(heap, dy, s, y, dz, n): dz = dy (s + (y - y s)), the gradient of y = z sigmoid(z). */
static napi_value js_silu_grad(napi_env env, napi_callback_info info) {
  float *heap;
  size_t length;
  double a[5];
  if (heap_args(env, info, 5, &heap, &length, a)) return NULL;
  const int64_t dy = (int64_t)a[0], sv = (int64_t)a[1], y = (int64_t)a[2], dz = (int64_t)a[3], n = (int64_t)a[4];
  const int64_t spans[] = {dy, sv, y, dz};
  if (!in_heap(length, n, spans, 4)) {
    napi_throw_range_error(env, NULL, "sde_gemm.siluGrad: operands out of range");
    return NULL;
  }
  const float *d = heap + dy, *ss = heap + sv, *yy = heap + y;
  float *out = heap + dz;
  for (int64_t i = 0; i < n; i++) out[i] = d[i] * (ss[i] + (yy[i] - yy[i] * ss[i]));
  return NULL;
}

/* sin(heap, x, out, n): out = sin(x) on n values. */
static napi_value js_sin(napi_env env, napi_callback_info info) {
  float *heap;
  size_t length;
  double a[3];
  if (heap_args(env, info, 3, &heap, &length, a)) return NULL;
  const int64_t x = (int64_t)a[0], o = (int64_t)a[1], n = (int64_t)a[2];
  const int64_t spans[] = {x, o};
  if (!in_heap(length, n, spans, 2)) {
    napi_throw_range_error(env, NULL, "sde_gemm.sin: operands out of range");
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) heap[o + i] = sinf(heap[x + i]);
  return NULL;
}

/* The vector extension the products use now: "avx512" or "avx2". */
static napi_value js_isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_string_utf8(env, use_wide() ? "avx512" : "avx2", NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value js_supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, cpu_ok(), &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "matmul", NAPI_AUTO_LENGTH, js_matmul, NULL, &fn);
  napi_set_named_property(env, exports, "matmul", fn);
  napi_create_function(env, "adam", NAPI_AUTO_LENGTH, js_adam, NULL, &fn);
  napi_set_named_property(env, exports, "adam", fn);
  napi_create_function(env, "ema", NAPI_AUTO_LENGTH, js_ema, NULL, &fn);
  napi_set_named_property(env, exports, "ema", fn);
  napi_create_function(env, "silu", NAPI_AUTO_LENGTH, js_silu, NULL, &fn);
  napi_set_named_property(env, exports, "silu", fn);
  napi_create_function(env, "siluGrad", NAPI_AUTO_LENGTH, js_silu_grad, NULL, &fn);
  napi_set_named_property(env, exports, "siluGrad", fn);
  napi_create_function(env, "sin", NAPI_AUTO_LENGTH, js_sin, NULL, &fn);
  napi_set_named_property(env, exports, "sin", fn);
  napi_create_function(env, "isa", NAPI_AUTO_LENGTH, js_isa, NULL, &fn);
  napi_set_named_property(env, exports, "isa", fn);
  napi_create_function(env, "supported", NAPI_AUTO_LENGTH, js_supported, NULL, &fn);
  napi_set_named_property(env, exports, "supported", fn);
  return exports;
}
