/*
 * accel.h - the C ABI of Accel: run the Mixture-of-Experts block of one layer of a DeepSeek-V3/V4,
 * Mixtral or Qwen2-MoE model from C, C++ or any language with a C FFI.
 *
 * libaccel.so hosts the .NET runtime (through hostfxr) on first use and calls Accel's managed
 * code; every backend (reference, cpu, ilgpu-cpu, cuda, opencl, the vendor shims) works through it.
 * libaccel.so finds its managed half (Accel.Native.dll and its dependencies) in its own folder, or
 * in the folder named by ACCEL_NATIVE_DIR.
 *
 * Conventions
 *  - Every function that can fail returns an accel_status; ACCEL_OK (0) is success. On failure,
 *    accel_last_error() returns a sentence that says what was wrong and how to fix it.
 *  - Buffers belong to the caller. Accel copies inputs during a call and never keeps a pointer
 *    after the call returns; outputs are written into the caller's tensors.
 *  - Thread-safe: any function may be called from any thread. Runs on one session are serialised
 *    (each run is bitwise repeatable); use one session per thread for parallel runs.
 *  - No exception, signal or abort crosses this boundary: bad input is a status and a message.
 *  - Tensors are row-major and contiguous; [T, D] means T rows of D elements.
 */
#ifndef ACCEL_H
#define ACCEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ACCEL_API __attribute__((visibility("default")))
#else
#define ACCEL_API
#endif

/* The version of this header; accel_version() reports the library's. */
#define ACCEL_VERSION_MAJOR 0
#define ACCEL_VERSION_MINOR 1
#define ACCEL_VERSION_PATCH 0
#define ACCEL_VERSION_STRING "0.1.0"

/* Status codes. The numbers are stable. */
typedef enum accel_status {
    ACCEL_OK                     = 0,
    ACCEL_ERR_INVALID_ARGUMENT   = 1,  /* a NULL pointer, a bad dtype or shape, bad input data      */
    ACCEL_ERR_CONFIG             = 2,  /* config.json, the options, a profile or an ACCEL_* variable */
    ACCEL_ERR_NOT_FOUND          = 3,  /* a file or folder does not exist                            */
    ACCEL_ERR_DEVICE_UNAVAILABLE = 4,  /* the named device is absent or cannot be opened             */
    ACCEL_ERR_DEVICE_MEMORY      = 5,  /* the device (or its profile) has too little memory          */
    ACCEL_ERR_GRAPH              = 6,  /* the layer's graph is invalid (a weight's shape or type)    */
    ACCEL_ERR_BACKEND            = 7,  /* a backend failed: kernel build or launch, strict fallback  */
    ACCEL_ERR_IO                 = 8,  /* a file could not be read                                   */
    ACCEL_ERR_RUNTIME            = 9,  /* the .NET runtime or Accel's managed half could not load    */
    ACCEL_ERR_INTERNAL           = 10  /* a failure inside Accel: please report the message          */
} accel_status;

/* Element types (the same numbers as Accel's DType). */
typedef enum accel_dtype {
    ACCEL_DTYPE_F32    = 0,
    ACCEL_DTYPE_F16    = 1,
    ACCEL_DTYPE_BF16   = 2,
    ACCEL_DTYPE_I8     = 3,
    ACCEL_DTYPE_U8     = 4,
    ACCEL_DTYPE_I32    = 5,
    ACCEL_DTYPE_I64    = 6,
    ACCEL_DTYPE_F8E4M3 = 7,  /* FP8 e4m3fn                                 */
    ACCEL_DTYPE_F4E2M1 = 8,  /* FP4 e2m1, two per byte (low nibble first)  */
    ACCEL_DTYPE_UE8M0  = 9   /* power-of-two scale byte                    */
} accel_dtype;

/* Which entry points a session serves. */
typedef enum accel_mode {
    ACCEL_MODE_LAYER  = 0,  /* router + experts: accel_session_run (default)                       */
    ACCEL_MODE_ROUTED = 1,  /* experts only, routing from the caller: accel_session_run_routed       */
    ACCEL_MODE_BOTH   = 2   /* both entry points (the expert weights are on the device twice)       */
} accel_mode;

#define ACCEL_MAX_DIMS 4

/* A caller-owned host tensor: row-major, contiguous. */
typedef struct accel_tensor {
    void   *data;                   /* first element; may be NULL only when the tensor is empty */
    int32_t dtype;                  /* accel_dtype                                              */
    int32_t ndim;                   /* 1 .. ACCEL_MAX_DIMS                                      */
    int64_t shape[ACCEL_MAX_DIMS];  /* extents, outermost first                                 */
} accel_tensor;

/* A tensor with its Hugging Face name, for accel_session_create_from_tensors. */
typedef struct accel_named_tensor {
    const char  *name;              /* e.g. "model.layers.3.mlp.experts.0.gate_proj.weight" */
    accel_tensor tensor;
} accel_named_tensor;

/* Session options. Fill with accel_session_options_init, then change what you need. */
typedef struct accel_session_options {
    uint32_t    struct_size;  /* sizeof(accel_session_options); set by accel_session_options_init       */
    const char *device;       /* "cpu", "opencl:0", "ilgpu-cpu", "cuda:0", "reference", a profile id,
                                 "auto", or NULL: ACCEL_DEVICE, then auto (see accel_devices)            */
    int32_t     layer;        /* layer index; -1 (default): the first MoE layer (first_k_dense_replace)  */
    int32_t     strict;       /* 1: an op the device lacks is an error; 0: it falls back to reference;
                                 -1 (default): ACCEL_STRICT, else 0                                      */
    int32_t     threads;      /* worker threads of the cpu device; 0 (default): one per processor        */
    int32_t     mode;         /* accel_mode; default ACCEL_MODE_LAYER                                    */
} accel_session_options;

/* An open layer on a device. Opaque; release with accel_session_release. */
typedef struct accel_session accel_session;

/* The library's version, "MAJOR.MINOR.PATCH". Does not load the .NET runtime. */
ACCEL_API const char *accel_version(void);

/* The message of the last failed call on this thread ("" when the last call succeeded). Valid
 * until the next Accel call on this thread. */
ACCEL_API const char *accel_last_error(void);

/* A status code's name, e.g. "ACCEL_ERR_NOT_FOUND". */
ACCEL_API const char *accel_status_name(int status);

/* Fills options with the defaults (struct_size set, device NULL, layer -1, strict -1, threads 0,
 * mode ACCEL_MODE_LAYER). */
ACCEL_API void accel_session_options_init(accel_session_options *options);

/* Every device of every backend, present, emulated or absent, as a JSON array of objects
 * {id, backend, name, kind, status, usable, memory_bytes, note}: the list `accel devices` prints.
 * Writes the text and a NUL into json (capacity bytes) and its length (without the NUL) into
 * *length. With json NULL only *length is set, so a caller can size the buffer first. */
ACCEL_API int accel_devices(char *json, size_t capacity, size_t *length);

/* Opens one layer of a checkpoint on a device.
 *   config:  path of the model's config.json, or the JSON text itself (starting with '{')
 *   weights: a .safetensors file, a folder of shards, or a model.safetensors.index.json
 *   options: NULL for the defaults
 *   session: receives the session (NULL on failure)
 * The layer's weights are read, checked against the config, and uploaded to the device. */
ACCEL_API int accel_session_create(const char *config, const char *weights,
                                   const accel_session_options *options, accel_session **session);

/* Like accel_session_create, with the weights given as host tensors under their Hugging Face
 * names (only the layer's own tensors are needed). The tensors are copied; the caller may free
 * them when this returns. */
ACCEL_API int accel_session_create_from_tensors(const char *config, const accel_named_tensor *tensors,
                                                size_t count, const accel_session_options *options,
                                                accel_session **session);

/* Runs the whole MoE block (router, experts, shared expert; no norm, no residual).
 *   hidden:       [T, D] f32, bf16 or f16 (T may be 0)
 *   token_ids:    [T] i32 or i64, needed by DeepSeek-V4 hash layers; else NULL
 *   out:          [T, D] f32, bf16 or f16 (converted on the way out)
 *   topk_ids:     [T, K] i32 or i64 (each row ascending), or NULL if not wanted
 *   topk_weights: [T, K] f32, bf16 or f16, in the order of topk_ids, or NULL
 * Needs ACCEL_MODE_LAYER or ACCEL_MODE_BOTH. */
ACCEL_API int accel_session_run(accel_session *session, const accel_tensor *hidden,
                                const accel_tensor *token_ids, accel_tensor *out,
                                accel_tensor *topk_ids, accel_tensor *topk_weights);

/* Runs the experts only, on the caller's routing: the fused-MoE hook of vLLM and SGLang.
 *   hidden:       [T, D] f32, bf16 or f16
 *   topk_ids:     [T, K] i32 or i64; each row K distinct experts in 0 .. E-1, any order
 *   topk_weights: [T, K] f32, bf16 or f16, finite: the weight of each expert's output (the
 *                 routed scaling factor included, as accel_session_run reports them)
 *   out:          [T, D] f32, bf16 or f16: routed experts plus the shared expert
 * Needs ACCEL_MODE_ROUTED or ACCEL_MODE_BOTH. */
ACCEL_API int accel_session_run_routed(accel_session *session, const accel_tensor *hidden,
                                       const accel_tensor *topk_ids, const accel_tensor *topk_weights,
                                       accel_tensor *out);

/* The session as JSON: {device, device_name, selected_by, reason, mode, family, layer,
 * hidden_size, experts, top_k, vocab_size, needs_token_ids, placements: [{node, device, fallback}]}.
 * Buffer rules as accel_devices. */
ACCEL_API int accel_session_describe(accel_session *session, char *json, size_t capacity, size_t *length);

/* Frees the session's device memory and closes its backends. NULL is a no-op; releasing a
 * session twice is an error (ACCEL_ERR_INVALID_ARGUMENT), not a crash. Do not release a session
 * while another thread is starting a run on it. */
ACCEL_API int accel_session_release(accel_session *session);

#ifdef __cplusplus
}
#endif

#endif /* ACCEL_H */
