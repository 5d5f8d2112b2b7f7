/*
 * example.c - one MoE layer from C through libaccel.so, checked against the reference backend.
 *
 *   accel_example_c <config.json> <weights> [device] [tokens] [tolerance] [layer]
 *
 * device defaults to "cpu", tokens to 4, tolerance (largest NMSE against the reference) to 1e-8,
 * layer to the first MoE layer. Prints the routing of token 0, the error and the time per run, and
 * exits 0 when the device agrees with the reference (1 when it does not, 2 on an Accel error).
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <accel.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Prints the failed call's status and message, and leaves. */
static void check(int status, const char *what)
{
    if (status != ACCEL_OK) {
        fprintf(stderr, "error: %s: %s: %s\n", what, accel_status_name(status), accel_last_error());
        exit(2);
    }
}

/* An integer field of the session's JSON description (enough for this sample's flat fields). */
static long field(accel_session *session, const char *name)
{
    static char json[65536];
    check(accel_session_describe(session, json, sizeof json, NULL), "accel_session_describe");
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *at = strstr(json, key);
    return at != NULL ? strtol(at + strlen(key), NULL, 10) : 0;
}

/* A 2-D tensor descriptor over a caller-owned buffer. */
static accel_tensor matrix(void *data, accel_dtype dtype, int64_t rows, int64_t cols)
{
    accel_tensor t = { data, dtype, 2, { rows, cols, 0, 0 } };
    return t;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <config.json> <weights> [device] [tokens] [tolerance] [layer]\n", argv[0]);
        return 2;
    }
    const char *device = argc > 3 ? argv[3] : "cpu";
    long tokens = argc > 4 ? strtol(argv[4], NULL, 10) : 4;
    double tolerance = argc > 5 ? strtod(argv[5], NULL) : 1e-8;
    printf("accel      %s\n", accel_version());

    /* 1. Open the layer on the device, and on the reference backend (the oracle) to compare with. */
    accel_session_options options;
    accel_session_options_init(&options);
    options.layer = argc > 6 ? (int32_t)strtol(argv[6], NULL, 10) : -1;
    options.device = device;
    accel_session *session = NULL, *reference = NULL;
    check(accel_session_create(argv[1], argv[2], &options, &session), "accel_session_create");
    options.device = "reference";
    check(accel_session_create(argv[1], argv[2], &options, &reference), "accel_session_create (reference)");

    /* 2. Its shape, from the session's description. */
    long d = field(session, "hidden_size"), k = field(session, "top_k"), vocab = field(session, "vocab_size");
    printf("layer      %ld: hidden %ld, %ld experts, top-%ld, on %s\n", field(session, "layer"), d,
           field(session, "experts"), k, device);

    /* 3. Inputs: seeded activations in [-1, 1), and token ids (used by DeepSeek-V4 hash layers only). */
    float *hidden = malloc(sizeof(float) * (size_t)(tokens * d + 1));
    int32_t *token_ids = malloc(sizeof(int32_t) * (size_t)(tokens + 1));
    uint32_t state = 12345;
    for (long i = 0; i < tokens * d; i++) {
        state = state * 1664525u + 1013904223u;
        hidden[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
    }
    for (long t = 0; t < tokens; t++) {
        token_ids[t] = (int32_t)((7 * t + 3) % (vocab > 0 ? vocab : 1));
    }

    /* 4. Outputs, owned by this program. */
    size_t out_bytes = sizeof(float) * (size_t)(tokens * d + 1), route_count = (size_t)(tokens * k + 1);
    float *out = malloc(out_bytes), *expected = malloc(out_bytes);
    int32_t *ids = malloc(sizeof(int32_t) * route_count), *expected_ids = malloc(sizeof(int32_t) * route_count);
    float *weights = malloc(sizeof(float) * route_count);
    accel_tensor x = matrix(hidden, ACCEL_DTYPE_F32, tokens, d);
    accel_tensor tid = { token_ids, ACCEL_DTYPE_I32, 1, { tokens, 0, 0, 0 } };
    accel_tensor y = matrix(out, ACCEL_DTYPE_F32, tokens, d), y_ref = matrix(expected, ACCEL_DTYPE_F32, tokens, d);
    accel_tensor topk = matrix(ids, ACCEL_DTYPE_I32, tokens, k), topk_ref = matrix(expected_ids, ACCEL_DTYPE_I32, tokens, k);
    accel_tensor gates = matrix(weights, ACCEL_DTYPE_F32, tokens, k);

    /* 5. Run: once to warm up (plans, kernels), then timed. */
    check(accel_session_run(session, &x, &tid, &y, &topk, &gates), "accel_session_run");
    const int runs = 5;
    double start = seconds();
    for (int r = 0; r < runs; r++) {
        check(accel_session_run(session, &x, &tid, &y, &topk, &gates), "accel_session_run");
    }
    double per_run = (seconds() - start) / runs;
    check(accel_session_run(reference, &x, &tid, &y_ref, &topk_ref, NULL), "accel_session_run (reference)");

    /* 6. Compare: NMSE = sum((a-b)^2) / sum(b^2), and the selected experts exactly. */
    double diff = 0, norm = 0;
    for (long i = 0; i < tokens * d; i++) {
        diff += ((double)out[i] - expected[i]) * ((double)out[i] - expected[i]);
        norm += (double)expected[i] * expected[i];
    }
    double nmse = norm > 0 ? diff / norm : diff;
    int same_routing = memcmp(ids, expected_ids, sizeof(int32_t) * (size_t)(tokens * k)) == 0;
    if (tokens > 0) {
        printf("token 0    experts");
        for (long j = 0; j < k; j++) {
            printf(" %d (%.4f)", ids[j], weights[j]);
        }
        printf("\n");
    }
    printf("time       %.3f ms per run of %ld tokens\n", per_run * 1e3, tokens);
    printf("error      NMSE %.3e against the reference (tolerance %.0e); routing %s\n", nmse, tolerance,
           same_routing ? "identical" : "DIFFERENT");
    int ok = nmse <= tolerance && same_routing && isfinite(nmse);
    printf("result     %s\n", ok ? "OK" : "FAIL");

    /* 7. Release the sessions (device memory, backends); the buffers are ours to free. */
    check(accel_session_release(session), "accel_session_release");
    check(accel_session_release(reference), "accel_session_release (reference)");
    free(hidden), free(token_ids), free(out), free(expected), free(ids), free(expected_ids), free(weights);
    return ok ? 0 : 1;
}
