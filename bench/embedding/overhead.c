/*
 * overhead.c - the C side of bench/embedding.sh: start-up of the hosted runtime and the time of
 * accel_session_run on the cpu device, to compare with the same layer called from .NET directly.
 *
 *   accel-embedding-overhead <dir> [tokens] [runs] [threads] [phases]
 *
 * Opens layer 1 of the checkpoint on the cpu device and prints one line of key=value figures:
 * startup_ms (from main() to the first session: accel_session_create is the first call, so the .NET
 * runtime starts inside it), second_create_ms (the same layer again: reading, checking and
 * uploading the weights alone), and the median and 10th/90th percentiles of accel_session_run in
 * microseconds. With "phases", start-up is split: host_ms (the first call into the runtime, a
 * refused one: hostfxr, the runtime and Accel.Native loaded), devices_ms (accel_devices: every
 * backend registered and its devices listed), then first_create_ms.
 */
#define _POSIX_C_SOURCE 199309L
#include <accel.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static accel_session *open_layer(const char *dir, int threads)
{
    char config[4096], weights[4096];
    snprintf(config, sizeof config, "%s/config.json", dir);
    snprintf(weights, sizeof weights, "%s/model.safetensors", dir);
    accel_session_options options;
    accel_session_options_init(&options);
    options.device = "cpu";
    options.layer = 1;
    options.threads = threads;
    accel_session *session = NULL;
    if (accel_session_create(config, weights, &options, &session) != ACCEL_OK) {
        fprintf(stderr, "error: %s\n", accel_last_error());
        exit(2);
    }
    return session;
}

int main(int argc, char **argv)
{
    double start = now_us();
    if (argc < 2) {
        fprintf(stderr, "usage: %s <dir> [tokens] [runs] [threads]\n", argv[0]);
        return 2;
    }
    long tokens = argc > 2 ? atol(argv[2]) : 1;
    int runs = argc > 3 ? atoi(argv[3]) : 200, threads = argc > 4 ? atoi(argv[4]) : 0;

    double host = 0, listing = 0, t0 = now_us();
    if (argc > 5 && strcmp(argv[5], "phases") == 0) {
        accel_session_run(NULL, NULL, NULL, NULL, NULL, NULL); /* refused: it only starts the runtime */
        host = now_us() - t0;
        t0 = now_us();
        size_t length = 0;
        if (accel_devices(NULL, 0, &length) != ACCEL_OK) {
            fprintf(stderr, "error: %s\n", accel_last_error());
            return 2;
        }
        listing = now_us() - t0;
        t0 = now_us();
    }
    accel_session *session = open_layer(argv[1], threads);
    double first = now_us() - t0, startup = now_us() - start;
    t0 = now_us();
    accel_session_release(open_layer(argv[1], threads));
    double second = now_us() - t0;

    char json[65536];
    accel_session_describe(session, json, sizeof json, NULL);
    const char *at = strstr(json, "\"hidden_size\":");
    const long d = at != NULL ? atol(at + 14) : 0;
    float *x = malloc(sizeof(float) * (size_t)(tokens * d)), *y = malloc(sizeof(float) * (size_t)(tokens * d));
    uint32_t state = 12345;
    for (long i = 0; i < tokens * d; i++) {
        state = state * 1664525u + 1013904223u;
        x[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
    }
    accel_tensor xt = { x, ACCEL_DTYPE_F32, 2, { tokens, d, 0, 0 } }, yt = { y, ACCEL_DTYPE_F32, 2, { tokens, d, 0, 0 } };
    /* Warm up for 2 s (at least 20 runs): tiered compilation promotes hot methods only after a delay. */
    double warm = now_us();
    for (int i = 0; i < 20 || now_us() - warm < 2e6; i++) {
        accel_session_run(session, &xt, NULL, &yt, NULL, NULL);
    }
    double *times = malloc(sizeof(double) * (size_t)runs);
    for (int i = 0; i < runs; i++) {
        double t0 = now_us();
        if (accel_session_run(session, &xt, NULL, &yt, NULL, NULL) != ACCEL_OK) {
            fprintf(stderr, "error: %s\n", accel_last_error());
            return 2;
        }
        times[i] = now_us() - t0;
    }
    qsort(times, (size_t)runs, sizeof(double), by_value);
    printf("path=c tokens=%ld runs=%d startup_ms=%.0f", tokens, runs, startup / 1e3);
    if (host > 0) {
        printf(" host_ms=%.0f devices_ms=%.0f first_create_ms=%.0f", host / 1e3, listing / 1e3, first / 1e3);
    }
    printf(" second_create_ms=%.0f median_us=%.1f p10_us=%.1f p90_us=%.1f\n", second / 1e3, times[runs / 2], times[runs / 10],
           times[runs * 9 / 10]);
    accel_session_release(session);
    free(x), free(y), free(times);
    return 0;
}
