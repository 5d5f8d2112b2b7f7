/*
 * abi_tests.c - tests of the C ABI (include/accel.h) through libaccel.so.
 *
 *   accel_abi_tests <devices> <name>=<checkpoint folder>:<layer>:<tolerance> ...
 *
 * devices is a comma-separated list (e.g. cpu,opencl:0,ilgpu-cpu); each checkpoint folder holds
 * config.json and model.safetensors (as `accel example` writes them). For every layer, device and
 * T in {0, 1, 37} the whole layer is compared with the reference backend (NMSE within the
 * tolerance, routing identical) and the routed entry point with the whole layer; then bad input
 * is checked to return a status and a message, and 8 threads on one session to give bitwise-equal
 * results. Prints "ok", "not ok" or "skip" per test and ends with
 * "abi_tests: N passed, N failed, N skipped"; exits 1 if any failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <accel.h>

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct layer_case {
    const char *name;
    char config[1024], weights[1024];
    int layer;
    double tolerance;
} layer_case;

/* The shape of an open layer, read from accel_session_describe. */
typedef struct layer_shape {
    long hidden, top_k, experts, vocab;
    int needs_token_ids;
} layer_shape;

static int g_passed, g_failed, g_skipped;

/* ---- reporting ---------------------------------------------------------------------------- */

static void report(int ok, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    printf(ok ? "ok - " : "not ok - ");
    vprintf(format, args);
    printf("\n");
    va_end(args);
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
    }
    fflush(stdout);
}

static void skip(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    printf("skip - ");
    vprintf(format, args);
    printf("\n");
    va_end(args);
    g_skipped++;
}

/* True when status is expected and the last error names `fragment`; reports a test either way. */
static void expect_error(int status, int expected, const char *fragment, const char *what)
{
    const char *message = accel_last_error();
    int ok = status == expected && message[0] != '\0' && (fragment == NULL || strstr(message, fragment) != NULL);
    report(ok, "%s -> %s \"%s\"%s%s", what, accel_status_name(status), message,
           ok ? "" : ", expected ", ok ? "" : accel_status_name(expected));
}

/* ---- tensors and layers ------------------------------------------------------------------- */

static accel_tensor matrix(void *data, accel_dtype dtype, long rows, long cols)
{
    accel_tensor t = { data, dtype, 2, { rows, cols, 0, 0 } };
    return t;
}

static accel_tensor vector(void *data, accel_dtype dtype, long n)
{
    accel_tensor t = { data, dtype, 1, { n, 0, 0, 0 } };
    return t;
}

static long json_int(const char *json, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *at = strstr(json, key);
    return at != NULL ? strtol(at + strlen(key), NULL, 10) : -1;
}

static layer_shape shape_of(accel_session *session)
{
    static __thread char json[65536];
    layer_shape s = { 0, 0, 0, 0, 0 };
    if (accel_session_describe(session, json, sizeof json, NULL) == ACCEL_OK) {
        s.hidden = json_int(json, "hidden_size");
        s.top_k = json_int(json, "top_k");
        s.experts = json_int(json, "experts");
        s.vocab = json_int(json, "vocab_size");
        s.needs_token_ids = strstr(json, "\"needs_token_ids\":true") != NULL;
    }
    return s;
}

static int open_layer(const layer_case *c, const char *device, int mode, accel_session **session)
{
    accel_session_options options;
    accel_session_options_init(&options);
    options.device = device;
    options.layer = c->layer;
    options.mode = mode;
    return accel_session_create(c->config, c->weights, &options, session);
}

/* Seeded activations in [-1, 1). */
static float *activations(long count, uint32_t seed)
{
    float *x = malloc(sizeof(float) * (size_t)(count + 1));
    for (long i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
    }
    return x;
}

static int32_t *token_ids(long tokens, long vocab)
{
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(tokens + 1));
    for (long t = 0; t < tokens; t++) {
        ids[t] = (int32_t)((7 * t + 3) % (vocab > 0 ? vocab : 1));
    }
    return ids;
}

static double nmse(const float *actual, const float *expected, long count)
{
    double diff = 0, norm = 0;
    for (long i = 0; i < count; i++) {
        diff += ((double)actual[i] - expected[i]) * ((double)actual[i] - expected[i]);
        norm += (double)expected[i] * expected[i];
    }
    return norm > 0 ? diff / norm : diff;
}

/* bf16 and f16 bit patterns of a float (bf16 by truncation, f16 by rounding: both are then exact inputs). */
static uint16_t to_bf16(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (uint16_t)(bits >> 16);
}

static float from_bf16(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* One run of the whole layer: out [T, D] f32, ids [T, K] i32, weights [T, K] f32 (caller frees).
 * With `out` given, the layer output goes there instead. */
typedef struct run_result {
    int status;
    float *out, *weights;
    int32_t *ids;
} run_result;

static run_result run_layer_into(accel_session *s, const layer_shape *shape, const accel_tensor *x, long tokens,
                                 accel_tensor *out)
{
    run_result r;
    r.out = malloc(sizeof(float) * (size_t)(tokens * shape->hidden + 1));
    r.ids = malloc(sizeof(int32_t) * (size_t)(tokens * shape->top_k + 1));
    r.weights = malloc(sizeof(float) * (size_t)(tokens * shape->top_k + 1));
    int32_t *tid = token_ids(tokens, shape->vocab);
    accel_tensor t = vector(tid, ACCEL_DTYPE_I32, tokens);
    accel_tensor y = matrix(r.out, ACCEL_DTYPE_F32, tokens, shape->hidden);
    accel_tensor ids = matrix(r.ids, ACCEL_DTYPE_I32, tokens, shape->top_k);
    accel_tensor w = matrix(r.weights, ACCEL_DTYPE_F32, tokens, shape->top_k);
    r.status = accel_session_run(s, x, shape->needs_token_ids ? &t : NULL, out != NULL ? out : &y, &ids, &w);
    free(tid);
    return r;
}

static run_result run_layer(accel_session *s, const layer_shape *shape, const accel_tensor *x, long tokens)
{
    return run_layer_into(s, shape, x, tokens, NULL);
}

static void free_result(run_result *r)
{
    free(r->out), free(r->ids), free(r->weights);
}

/* ---- layer against the reference ---------------------------------------------------------- */

static void test_tokens(const layer_case *c, const char *device, accel_session *dev, accel_session *ref,
                        const layer_shape *shape, long tokens)
{
    float *x = activations(tokens * shape->hidden, 1000u + (uint32_t)tokens);
    /* T = 0 passes NULL data: an empty tensor needs no buffer. */
    accel_tensor xt = matrix(tokens > 0 ? x : NULL, ACCEL_DTYPE_F32, tokens, shape->hidden);
    run_result want = run_layer(ref, shape, &xt, tokens);
    run_result got = run_layer(dev, shape, &xt, tokens);
    long n = tokens * shape->hidden, nk = tokens * shape->top_k;
    if (got.status != ACCEL_OK || want.status != ACCEL_OK) {
        report(0, "%s on %s, T=%ld: run failed: %s", c->name, device, tokens, accel_last_error());
    } else {
        double e = nmse(got.out, want.out, n);
        int same = memcmp(got.ids, want.ids, sizeof(int32_t) * (size_t)nk) == 0;
        report(e <= c->tolerance && same, "%s on %s, T=%ld: NMSE %.2e (tolerance %.0e), routing %s", c->name, device,
               tokens, e, c->tolerance, same ? "identical" : "DIFFERENT");

        /* The routed entry point, fed the routing the layer reported, gives the layer's output. */
        float *routed = malloc(sizeof(float) * (size_t)(n + 1));
        accel_tensor ids = matrix(got.ids, ACCEL_DTYPE_I32, tokens, shape->top_k);
        accel_tensor w = matrix(got.weights, ACCEL_DTYPE_F32, tokens, shape->top_k);
        accel_tensor y = matrix(routed, ACCEL_DTYPE_F32, tokens, shape->hidden);
        int status = accel_session_run_routed(dev, &xt, &ids, &w, &y);
        double er = status == ACCEL_OK ? nmse(routed, got.out, n) : INFINITY;
        report(status == ACCEL_OK && er <= 1e-8, "%s on %s, T=%ld: routed experts NMSE %.2e against the whole layer %s",
               c->name, device, tokens, er, status == ACCEL_OK ? "" : accel_last_error());
        free(routed);
    }
    free_result(&want), free_result(&got), free(x);
}

/* bf16 and f16 activations in, f32 out: the same as the reference on the widened values. */
static void test_half_inputs(const layer_case *c, const char *device, accel_session *dev, accel_session *ref,
                             const layer_shape *shape)
{
    const long tokens = 5, n = tokens * shape->hidden;
    float *x = activations(n, 77u);
    uint16_t *bf = malloc(sizeof(uint16_t) * (size_t)n);
    for (long i = 0; i < n; i++) {
        bf[i] = to_bf16(x[i]);
        x[i] = from_bf16(bf[i]);
    }
    accel_tensor wide = matrix(x, ACCEL_DTYPE_F32, tokens, shape->hidden);
    accel_tensor narrow = matrix(bf, ACCEL_DTYPE_BF16, tokens, shape->hidden);
    run_result want = run_layer(ref, shape, &wide, tokens);
    run_result got = run_layer(dev, shape, &narrow, tokens);
    double e = got.status == ACCEL_OK ? nmse(got.out, want.out, n) : INFINITY;
    report(got.status == ACCEL_OK && e <= c->tolerance, "%s on %s: bf16 activations, NMSE %.2e %s", c->name, device, e,
           got.status == ACCEL_OK ? "" : accel_last_error());

    /* bf16 out: each element is the f32 result rounded to bf16 (within half a bf16 ulp). */
    uint16_t *out16 = malloc(sizeof(uint16_t) * (size_t)n);
    accel_tensor y16 = matrix(out16, ACCEL_DTYPE_BF16, tokens, shape->hidden);
    run_result narrow_out = run_layer_into(dev, shape, &wide, tokens, &y16);
    int close = narrow_out.status == ACCEL_OK;
    for (long i = 0; close && i < n; i++) {
        close = fabsf(from_bf16(out16[i]) - want.out[i]) <= fabsf(want.out[i]) * (1.0f / 256) + 1e-6f;
    }
    report(close, "%s on %s: bf16 output is the f32 result rounded %s", c->name, device,
           narrow_out.status == ACCEL_OK ? "" : accel_last_error());
    free_result(&narrow_out);
    free_result(&want), free_result(&got), free(x), free(bf), free(out16);
}

static void test_layer(const layer_case *c, char **devices, int device_count)
{
    accel_session *ref = NULL;
    if (open_layer(c, "reference", ACCEL_MODE_LAYER, &ref) != ACCEL_OK) {
        report(0, "%s: opening on reference: %s", c->name, accel_last_error());
        return;
    }
    layer_shape shape = shape_of(ref);
    for (int d = 0; d < device_count; d++) {
        accel_session *dev = NULL;
        int status = open_layer(c, devices[d], ACCEL_MODE_BOTH, &dev);
        if (status == ACCEL_ERR_DEVICE_UNAVAILABLE) {
            skip("%s on %s: %s", c->name, devices[d], accel_last_error());
            continue;
        }
        if (status != ACCEL_OK) {
            report(0, "%s on %s: opening failed: %s %s", c->name, devices[d], accel_status_name(status), accel_last_error());
            continue;
        }
        const long tokens[] = { 0, 1, 37 };
        for (int i = 0; i < 3; i++) {
            test_tokens(c, devices[d], dev, ref, &shape, tokens[i]);
        }
        test_half_inputs(c, devices[d], dev, ref, &shape);
        if (shape.needs_token_ids) {
            float x[1] = { 0 };
            accel_tensor xt = matrix(x, ACCEL_DTYPE_F32, 0, shape.hidden), yt = xt;
            expect_error(accel_session_run(dev, &xt, NULL, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "needs token_ids",
                         "a hash layer run without token_ids");
        }
        report(accel_session_release(dev) == ACCEL_OK, "%s on %s: released", c->name, devices[d]);
    }
    accel_session_release(ref);
}

/* ---- bad input ---------------------------------------------------------------------------- */

static void test_errors(const layer_case *c, const char *device)
{
    accel_session *s = NULL;
    accel_session_options options;
    accel_session_options_init(&options);
    options.layer = c->layer;
    options.device = device;
    int status;

    expect_error(accel_session_create("/nonexistent/config.json", c->weights, &options, &s), ACCEL_ERR_NOT_FOUND,
                 "/nonexistent/config.json", "a config path that does not exist");
    report(s == NULL, "a failed create leaves the session NULL");
    expect_error(accel_session_create(c->config, "/nonexistent/model.safetensors", &options, &s), ACCEL_ERR_NOT_FOUND,
                 "/nonexistent/model.safetensors", "a weights path that does not exist");
    expect_error(accel_session_create(c->config, c->config, &options, &s), ACCEL_ERR_INVALID_ARGUMENT, "config.json",
                 "a weights path that is not a safetensors file");
    expect_error(accel_session_create(NULL, c->weights, &options, &s), ACCEL_ERR_INVALID_ARGUMENT, "config is NULL",
                 "a NULL config");
    expect_error(accel_session_create(c->config, c->weights, &options, NULL), ACCEL_ERR_INVALID_ARGUMENT,
                 "session is NULL", "a NULL session out-parameter");
    expect_error(accel_session_create("{\"model_type\": \"llama\"}", c->weights, &options, &s), ACCEL_ERR_CONFIG,
                 "llama", "config JSON text of a model without MoE");

    accel_session_options bad = options;
    bad.device = "nosuch:7";
    status = accel_session_create(c->config, c->weights, &bad, &s);
    report(status != ACCEL_OK && strstr(accel_last_error(), "nosuch:7") != NULL, "an unknown device -> %s \"%s\"",
           accel_status_name(status), accel_last_error());
    bad = options;
    bad.struct_size = 0;
    expect_error(accel_session_create(c->config, c->weights, &bad, &s), ACCEL_ERR_INVALID_ARGUMENT,
                 "accel_session_options_init", "options without struct_size");
    bad = options;
    bad.mode = 7;
    expect_error(accel_session_create(c->config, c->weights, &bad, &s), ACCEL_ERR_INVALID_ARGUMENT, "options->mode",
                 "an unknown mode");
    bad = options;
    bad.threads = -2;
    expect_error(accel_session_create(c->config, c->weights, &bad, &s), ACCEL_ERR_INVALID_ARGUMENT, "options->threads",
                 "negative threads");
    bad = options;
    bad.layer = 999;
    expect_error(accel_session_create(c->config, c->weights, &bad, &s), ACCEL_ERR_CONFIG, "999",
                 "a layer the model does not have");

    if (open_layer(c, device, ACCEL_MODE_LAYER, &s) != ACCEL_OK) {
        report(0, "errors: opening %s on %s: %s", c->name, device, accel_last_error());
        return;
    }
    layer_shape shape = shape_of(s);
    const long tokens = 3, d = shape.hidden, k = shape.top_k;
    float *x = activations(tokens * (d + 1), 5u);
    float *out = malloc(sizeof(float) * (size_t)(tokens + 1) * (size_t)(d + 1));
    int32_t *ids = calloc((size_t)(tokens * (k + 1)), sizeof(int32_t));
    float *w = calloc((size_t)(tokens * (k + 1)), sizeof(float));
    int32_t *tid = token_ids(tokens, shape.vocab);
    accel_tensor xt = matrix(x, ACCEL_DTYPE_F32, tokens, d), yt = matrix(out, ACCEL_DTYPE_F32, tokens, d);
    accel_tensor tt = vector(tid, ACCEL_DTYPE_I32, tokens), *tp = shape.needs_token_ids ? &tt : NULL;

    /* a good run first: errors below must leave the session usable */
    report(accel_session_run(s, &xt, tp, &yt, NULL, NULL) == ACCEL_OK && accel_last_error()[0] == '\0',
           "a good run succeeds and leaves no last error");

    accel_tensor t = xt;
    t.dtype = ACCEL_DTYPE_I32;
    expect_error(accel_session_run(s, &t, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "hidden must be f32, bf16, f16",
                 "hidden of dtype i32");
    t.dtype = 42;
    expect_error(accel_session_run(s, &t, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "not an accel_dtype",
                 "hidden of dtype 42");
    t = yt;
    t.dtype = ACCEL_DTYPE_F8E4M3;
    expect_error(accel_session_run(s, &xt, tp, &t, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "out must be f32, bf16, f16",
                 "out of dtype f8e4m3");

    expect_error(accel_session_run(s, NULL, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "hidden is NULL",
                 "a NULL hidden");
    expect_error(accel_session_run(s, &xt, tp, NULL, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "out is NULL", "a NULL out");
    t = xt;
    t.data = NULL;
    expect_error(accel_session_run(s, &t, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "data is NULL",
                 "hidden with NULL data");
    expect_error(accel_session_run(NULL, &xt, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "session is NULL",
                 "a NULL session");

    t = matrix(x, ACCEL_DTYPE_F32, tokens, d + 1);
    expect_error(accel_session_run(s, &t, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "hidden must be [T,",
                 "hidden [T, D+1]");
    t = matrix(out, ACCEL_DTYPE_F32, tokens + 1, d);
    expect_error(accel_session_run(s, &xt, tp, &t, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "out must be [3,",
                 "out [T+1, D]");
    t = matrix(ids, ACCEL_DTYPE_I32, tokens, k + 1);
    expect_error(accel_session_run(s, &xt, tp, &yt, &t, NULL), ACCEL_ERR_INVALID_ARGUMENT, "topk_ids must be [3,",
                 "topk_ids [T, K+1]");
    t = xt;
    t.ndim = 3;
    t.shape[2] = 1;
    expect_error(accel_session_run(s, &t, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "hidden must be [T,",
                 "hidden of rank 3");
    t = xt;
    t.shape[0] = -3;
    expect_error(accel_session_run(s, &t, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "must not be negative",
                 "a negative extent");
    t = xt;
    t.ndim = 9;
    expect_error(accel_session_run(s, &t, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "ndim is 9", "ndim 9");
    x[4] = NAN;
    expect_error(accel_session_run(s, &xt, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "finite", "a NaN activation");
    x[4] = 0.5f;

    expect_error(accel_session_run_routed(s, &xt, &t, &t, &yt), ACCEL_ERR_INVALID_ARGUMENT,
                 "ACCEL_MODE_ROUTED or ACCEL_MODE_BOTH", "the routed entry point on an ACCEL_MODE_LAYER session");

    /* buffers of the JSON functions */
    size_t length = 0;
    char small[8];
    status = accel_devices(NULL, 0, &length);
    report(status == ACCEL_OK && length > 2, "accel_devices tells the length (%zu)", length);
    expect_error(accel_devices(small, sizeof small, &length), ACCEL_ERR_INVALID_ARGUMENT, "pass a larger buffer",
                 "accel_devices with an 8-byte buffer");
    report(accel_session_run(s, &xt, tp, &yt, NULL, NULL) == ACCEL_OK, "the session still runs after the errors");

    report(accel_session_release(s) == ACCEL_OK, "release");
    expect_error(accel_session_release(s), ACCEL_ERR_INVALID_ARGUMENT, "not a live session", "a second release");
    expect_error(accel_session_run(s, &xt, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "not a live session",
                 "a run on a released session");
    report(accel_session_release(NULL) == ACCEL_OK, "releasing NULL is a no-op");

    /* routed mode: bad routing */
    if (open_layer(c, device, ACCEL_MODE_ROUTED, &s) == ACCEL_OK) {
        accel_tensor it = matrix(ids, ACCEL_DTYPE_I32, tokens, k), wt = matrix(w, ACCEL_DTYPE_F32, tokens, k);
        for (long i = 0; i < tokens * k; i++) {
            ids[i] = (int32_t)(i % k);
            w[i] = 0.5f;
        }
        report(accel_session_run_routed(s, &xt, &it, &wt, &yt) == ACCEL_OK, "routed: a good run %s", accel_last_error());
        ids[1] = (int32_t)shape.experts;
        expect_error(accel_session_run_routed(s, &xt, &it, &wt, &yt), ACCEL_ERR_INVALID_ARGUMENT, "is outside",
                     "routed: an expert id equal to E");
        ids[1] = 1 % (int32_t)k;
        w[2] = NAN;
        expect_error(accel_session_run_routed(s, &xt, &it, &wt, &yt), ACCEL_ERR_INVALID_ARGUMENT, "finite",
                     "routed: a NaN weight");
        w[2] = 0.5f;
        expect_error(accel_session_run_routed(s, &xt, NULL, &wt, &yt), ACCEL_ERR_INVALID_ARGUMENT, "topk_ids is NULL",
                     "routed: NULL topk_ids");
        wt.dtype = ACCEL_DTYPE_I32;
        expect_error(accel_session_run_routed(s, &xt, &it, &wt, &yt), ACCEL_ERR_INVALID_ARGUMENT, "topk_weights must be",
                     "routed: i32 weights");
        expect_error(accel_session_run(s, &xt, tp, &yt, NULL, NULL), ACCEL_ERR_INVALID_ARGUMENT, "accel_session_run_routed",
                     "the whole-layer entry point on an ACCEL_MODE_ROUTED session");
        accel_session_release(s);
    } else {
        report(0, "routed: opening failed: %s", accel_last_error());
    }
    free(x), free(out), free(ids), free(w), free(tid);
}

/* ---- threads ------------------------------------------------------------------------------ */

typedef struct thread_job {
    accel_session *session;
    const layer_shape *shape;
    const float *x;
    const float *expected;
    long tokens;
    int runs, equal, status;
    char message[512];
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    long n = job->tokens * job->shape->hidden;
    accel_tensor xt = matrix((void *)job->x, ACCEL_DTYPE_F32, job->tokens, job->shape->hidden);
    job->equal = 1;
    for (int r = 0; r < job->runs; r++) {
        run_result got = run_layer(job->session, job->shape, &xt, job->tokens);
        job->status = got.status;
        if (got.status != ACCEL_OK) {
            snprintf(job->message, sizeof job->message, "%s", accel_last_error());
            job->equal = 0;
        } else {
            job->equal &= memcmp(got.out, job->expected, sizeof(float) * (size_t)n) == 0;
        }
        free_result(&got);
    }
    return NULL;
}

static void test_threads(const layer_case *c, const char *device, int threads, int runs)
{
    accel_session *s = NULL;
    int status = open_layer(c, device, ACCEL_MODE_LAYER, &s);
    if (status != ACCEL_OK) {
        if (status == ACCEL_ERR_DEVICE_UNAVAILABLE) {
            skip("%d threads on %s: %s", threads, device, accel_last_error());
        } else {
            report(0, "%d threads on %s: opening failed: %s", threads, device, accel_last_error());
        }
        return;
    }
    layer_shape shape = shape_of(s);
    const long tokens = 7;
    float *x = activations(tokens * shape.hidden, 4242u);
    accel_tensor xt = matrix(x, ACCEL_DTYPE_F32, tokens, shape.hidden);
    run_result first = run_layer(s, &shape, &xt, tokens);
    thread_job jobs[16];
    pthread_t ids[16];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (thread_job){ s, &shape, x, first.out, tokens, runs, 0, 0, "" };
        pthread_create(&ids[i], NULL, thread_main, &jobs[i]);
    }
    int all_equal = first.status == ACCEL_OK;
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        all_equal &= jobs[i].equal;
        if (jobs[i].status != ACCEL_OK) {
            printf("# thread %d: %s\n", i, jobs[i].message);
        }
    }
    report(all_equal, "%s on %s: %d threads x %d runs on one session give bitwise-equal outputs", c->name, device,
           threads, runs);
    free_result(&first), free(x);
    accel_session_release(s);
}

/* The last error is per thread: a failure on one thread leaves another thread's message alone. */
static void *fail_once(void *arg)
{
    (void)arg;
    accel_session_run(NULL, NULL, NULL, NULL, NULL, NULL);
    return NULL;
}

static void test_error_is_per_thread(void)
{
    accel_session_release(NULL); /* succeeds: this thread's last error is "" */
    pthread_t other;
    pthread_create(&other, NULL, fail_once, NULL);
    pthread_join(other, NULL);
    report(accel_last_error()[0] == '\0', "a failure on another thread leaves this thread's last error empty");
}

/* ---- main --------------------------------------------------------------------------------- */

static int parse_case(const char *arg, layer_case *c)
{
    static char names[64][64];
    static int used;
    const char *eq = strchr(arg, '=');
    char folder[900];
    if (eq == NULL || used >= 64 || (size_t)(eq - arg) >= sizeof names[0] ||
        sscanf(eq + 1, "%899[^:]:%d:%lf", folder, &c->layer, &c->tolerance) != 3) {
        return -1;
    }
    memcpy(names[used], arg, (size_t)(eq - arg));
    names[used][eq - arg] = '\0';
    c->name = names[used++];
    snprintf(c->config, sizeof c->config, "%s/config.json", folder);
    snprintf(c->weights, sizeof c->weights, "%s/model.safetensors", folder);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <device,device,...> <name>=<folder>:<layer>:<tolerance> ...\n", argv[0]);
        return 2;
    }
    char *devices[16];
    int device_count = 0;
    for (char *save = NULL, *d = strtok_r(argv[1], ",", &save); d != NULL && device_count < 16;
         d = strtok_r(NULL, ",", &save)) {
        devices[device_count++] = d;
    }
    layer_case cases[64];
    int case_count = 0;
    for (int i = 2; i < argc && case_count < 64; i++) {
        if (parse_case(argv[i], &cases[case_count]) != 0) {
            fprintf(stderr, "abi_tests: cannot read '%s'; write <name>=<folder>:<layer>:<tolerance>\n", argv[i]);
            return 2;
        }
        case_count++;
    }

    report(strcmp(accel_version(), ACCEL_VERSION_STRING) == 0, "accel_version() is %s", accel_version());
    for (int i = 0; i < case_count; i++) {
        test_layer(&cases[i], devices, device_count);
    }
    test_errors(&cases[0], devices[0]);
    for (int d = 0; d < device_count; d++) {
        test_threads(&cases[0], devices[d], 8, 3);
    }
    test_error_is_per_thread();

    printf("abi_tests: %d passed, %d failed, %d skipped\n", g_passed, g_failed, g_skipped);
    return g_failed > 0 ? 1 : 0;
}
