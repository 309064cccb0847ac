/*
 * sde_gemm: a float32 matrix product with bias and activation for x86-64 CPUs with AVX2 and FMA,
 * run in place on the memory of tfjs's WebAssembly backend (src/native.ts registers it as the
 * wasm backend's MatMul kernels when this addon builds and the CPU supports it).
 *
 *   C[b] = act(op(A[b]) op(B[b]) + bias),  op(X) = X or X^T,  act: none | relu | sigmoid
 *
 * Blocking: B is packed into column panels of 16 (zero-padded), K in blocks of KC; a 6 x 16
 * register tile (12 ymm accumulators) per micro-kernel call, A read in place by broadcasts
 * (A^T is packed first). Rows are split across up to `threads` POSIX threads.
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

typedef struct {
  const float *a; /* M x K, row-major, leading dimension lda */
  int lda;
  const float *bp; /* packed B: ceil(N/16) panels of K x 16 */
  float *c;
  int ldc;
  int m0, m1, n, k;
  const float *bias;
  int act;
} Job;

__attribute__((target("avx2,fma"))) static void tile(const float *a, int lda, const float *bp, int kc, float *c, int ldc,
                                                      int rows, int cols, int accumulate) {
  __m256 acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  /* The full tile has a constant row count, which lets the compiler keep all 12 accumulators in
     registers; the edge tile (rows < MR) runs the same loop with a variable bound. */
  if (rows == MR) {
    for (int p = 0; p < kc; p++) {
      __m256 b0 = _mm256_loadu_ps(bp + p * NR);
      __m256 b1 = _mm256_loadu_ps(bp + p * NR + 8);
      for (int r = 0; r < MR; r++) {
        __m256 av = _mm256_broadcast_ss(a + r * lda + p);
        acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
      }
    }
  } else {
    for (int p = 0; p < kc; p++) {
      __m256 b0 = _mm256_loadu_ps(bp + p * NR);
      __m256 b1 = _mm256_loadu_ps(bp + p * NR + 8);
      for (int r = 0; r < rows; r++) {
        __m256 av = _mm256_broadcast_ss(a + r * lda + p);
        acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
      }
    }
  }
  float tmp[NR];
  for (int r = 0; r < rows; r++) {
    float *cr = c + r * ldc;
    if (cols == NR) {
      if (accumulate) {
        _mm256_storeu_ps(cr, _mm256_add_ps(acc[r][0], _mm256_loadu_ps(cr)));
        _mm256_storeu_ps(cr + 8, _mm256_add_ps(acc[r][1], _mm256_loadu_ps(cr + 8)));
      } else {
        _mm256_storeu_ps(cr, acc[r][0]);
        _mm256_storeu_ps(cr + 8, acc[r][1]);
      }
    } else {
      _mm256_storeu_ps(tmp, acc[r][0]);
      _mm256_storeu_ps(tmp + 8, acc[r][1]);
      for (int j = 0; j < cols; j++) cr[j] = accumulate ? cr[j] + tmp[j] : tmp[j];
    }
  }
}

static void *run_job(void *arg) {
  const Job *job = (const Job *)arg;
  const int panels = (job->n + NR - 1) / NR;
  for (int k0 = 0; k0 < job->k; k0 += KC) {
    const int kc = job->k - k0 < KC ? job->k - k0 : KC;
    for (int jp = 0; jp < panels; jp++) {
      const float *bp = job->bp + (size_t)jp * job->k * NR + (size_t)k0 * NR;
      const int cols = job->n - jp * NR < NR ? job->n - jp * NR : NR;
      for (int i = job->m0; i < job->m1; i += MR) {
        const int rows = job->m1 - i < MR ? job->m1 - i : MR;
        tile(job->a + (size_t)i * job->lda + k0, job->lda, bp, kc, job->c + (size_t)i * job->ldc + jp * NR, job->ldc, rows, cols, k0 > 0);
      }
    }
  }
  if (job->k == 0) {
    for (int i = job->m0; i < job->m1; i++) memset(job->c + (size_t)i * job->ldc, 0, sizeof(float) * job->n);
  }
  if (job->bias || job->act) {
    for (int i = job->m0; i < job->m1; i++) {
      float *cr = job->c + (size_t)i * job->ldc;
      for (int j = 0; j < job->n; j++) {
        float v = cr[j] + (job->bias ? job->bias[j] : 0.0f);
        if (job->act == 1) v = v > 0.0f ? v : 0.0f;
        else if (job->act == 2) v = 1.0f / (1.0f + expf(-v));
        cr[j] = v;
      }
    }
  }
  return NULL;
}

/* Packs op(B) (K x N) into panels of K x 16, zero-padded. */
static void pack_b(const float *b, int k, int n, int transposeB, float *out) {
  const int panels = (n + NR - 1) / NR;
  for (int jp = 0; jp < panels; jp++) {
    float *dst = out + (size_t)jp * k * NR;
    for (int p = 0; p < k; p++) {
      for (int jj = 0; jj < NR; jj++) {
        const int j = jp * NR + jj;
        float v = 0.0f;
        if (j < n) v = transposeB ? b[(size_t)j * k + p] : b[(size_t)p * n + j];
        dst[p * NR + jj] = v;
      }
    }
  }
}

static int cpu_ok(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/*
 * One product on `threads` threads: op(A) is M x K, op(B) K x N, C M x N, all row-major floats
 * in `base` at the given element offsets; bias (N values) at biasOffset, or none when < 0.
 */
static void gemm(float *base, int64_t aOff, int64_t bOff, int64_t cOff, int64_t biasOff, int m, int n, int k, int transposeA,
                 int transposeB, int act, int threads) {
  const float *a = base + aOff;
  float *at = NULL;
  if (transposeA) {
    /* A is stored K x M; make it M x K. */
    at = (float *)malloc(sizeof(float) * (size_t)m * (size_t)(k > 0 ? k : 1));
    for (int p = 0; p < k; p++)
      for (int i = 0; i < m; i++) at[(size_t)i * k + p] = a[(size_t)p * m + i];
    a = at;
  }
  const int panels = (n + NR - 1) / NR;
  float *bp = (float *)aligned_alloc(32, sizeof(float) * ((size_t)panels * (size_t)(k > 0 ? k : 1) * NR + 8));
  pack_b(base + bOff, k, n, transposeB, bp);
  Job jobs[16];
  pthread_t ids[16];
  if (threads < 1) threads = 1;
  if (threads > 16) threads = 16;
  /* Below ~4 MFLOP a thread costs more than it saves. */
  if ((double)m * n * k < 2e6 * threads) threads = (int)((double)m * n * k / 2e6) > 1 ? (int)((double)m * n * k / 2e6) : 1;
  if (threads > m / MR) threads = m / MR > 1 ? m / MR : 1;
  const int chunk = ((m + threads - 1) / threads + MR - 1) / MR * MR;
  int started = 0;
  for (int t = 0; t < threads; t++) {
    Job *j = &jobs[t];
    j->a = a;
    j->lda = k;
    j->bp = bp;
    j->c = base + cOff;
    j->ldc = n;
    j->m0 = t * chunk < m ? t * chunk : m;
    j->m1 = (t + 1) * chunk < m ? (t + 1) * chunk : m;
    j->n = n;
    j->k = k;
    j->bias = biasOff >= 0 ? base + biasOff : NULL;
    j->act = act;
  }
  for (int t = 1; t < threads; t++) {
    if (jobs[t].m0 < jobs[t].m1 && pthread_create(&ids[t], NULL, run_job, &jobs[t]) == 0) started |= 1 << t;
    else if (jobs[t].m0 < jobs[t].m1) run_job(&jobs[t]);
  }
  run_job(&jobs[0]);
  for (int t = 1; t < threads; t++)
    if (started & (1 << t)) pthread_join(ids[t], NULL);
  free(bp);
  free(at);
}

/* matmul(heap: Float32Array, a, b, c, bias, m, n, k, transposeA, transposeB, act, threads, batch, strideA, strideB, strideC) */
static napi_value js_matmul(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value args[16];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc != 16) {
    napi_throw_error(env, NULL, "sde_gemm.matmul: expected 16 arguments");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value buffer;
  size_t byteOffset;
  if (napi_get_typedarray_info(env, args[0], &type, &length, &data, &buffer, &byteOffset) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "sde_gemm.matmul: the heap must be a Float32Array");
    return NULL;
  }
  int64_t v[15];
  for (int i = 0; i < 15; i++) napi_get_value_int64(env, args[i + 1], &v[i]);
  const int64_t aOff = v[0], bOff = v[1], cOff = v[2], biasOff = v[3];
  const int m = (int)v[4], n = (int)v[5], k = (int)v[6];
  const int64_t batch = v[11], sa = v[12], sb = v[13], sc = v[14];
  const int64_t need = cOff + (batch - 1) * sc + (int64_t)m * n;
  if (m < 0 || n < 0 || k < 0 || batch < 1 || aOff < 0 || bOff < 0 || cOff < 0 || need > (int64_t)length) {
    napi_throw_range_error(env, NULL, "sde_gemm.matmul: operands out of range");
    return NULL;
  }
  for (int64_t b = 0; b < batch; b++)
    gemm((float *)data, aOff + b * sa, bOff + b * sb, cOff + b * sc, biasOff, m, n, k, (int)v[7], (int)v[8], (int)v[9], (int)v[10]);
  return NULL;
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
  napi_create_function(env, "supported", NAPI_AUTO_LENGTH, js_supported, NULL, &fn);
  napi_set_named_property(env, exports, "supported", fn);
  return exports;
}
