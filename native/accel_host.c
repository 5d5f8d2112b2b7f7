/*
 * accel_host.c - libaccel.so: the C side of Accel's C ABI (include/accel.h).
 *
 * On the first call that needs it, this file finds the .NET runtime (nethost), starts it for
 * Accel's managed half (Accel.Native.dll, a component with its own runtimeconfig.json, in this
 * library's folder or in ACCEL_NATIVE_DIR) and asks it for its table of [UnmanagedCallersOnly]
 * entry points (NativeExports.Bind). Every public function then forwards to that table. The
 * thread-local last-error string lives here, so it also carries the host's own failures.
 */
#define _GNU_SOURCE
#include "accel.h"

#include <coreclr_delegates.h>
#include <hostfxr.h>
#include <nethost.h>

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The managed entry points; must match Accel.Native.NativeApi field for field. */
typedef struct managed_api {
    size_t struct_size;
    int (*devices)(char *json, size_t capacity, size_t *length);
    int (*session_create)(const char *config, const char *weights, const accel_session_options *options,
                          intptr_t *session);
    int (*session_create_from_tensors)(const char *config, const accel_named_tensor *tensors, size_t count,
                                       const accel_session_options *options, intptr_t *session);
    int (*session_run)(intptr_t session, const accel_tensor *hidden, const accel_tensor *token_ids,
                       accel_tensor *out, accel_tensor *topk_ids, accel_tensor *topk_weights);
    int (*session_run_routed)(intptr_t session, const accel_tensor *hidden, const accel_tensor *topk_ids,
                              const accel_tensor *topk_weights, accel_tensor *out);
    int (*session_describe)(intptr_t session, char *json, size_t capacity, size_t *length);
    int (*session_release)(intptr_t session);
} managed_api;

typedef int (*bind_fn)(managed_api *api, size_t size, void (*set_error)(const char *message));

#define MANAGED_ASSEMBLY "Accel.Native.dll"
#define MANAGED_CONFIG "Accel.Native.runtimeconfig.json"
#define MANAGED_TYPE "Accel.Native.NativeExports, Accel.Native"

static managed_api g_api;
static int g_load_status = ACCEL_ERR_RUNTIME;
static char g_load_error[4096];
static pthread_once_t g_load_once = PTHREAD_ONCE_INIT;

/* ---- the thread's last error ------------------------------------------------------------ */

static pthread_key_t g_error_key;
static pthread_once_t g_error_once = PTHREAD_ONCE_INIT;

static void make_error_key(void) { pthread_key_create(&g_error_key, free); }

static void set_error(const char *message)
{
    pthread_once(&g_error_once, make_error_key);
    free(pthread_getspecific(g_error_key));
    pthread_setspecific(g_error_key, message != NULL && message[0] != '\0' ? strdup(message) : NULL);
}

const char *accel_last_error(void)
{
    pthread_once(&g_error_once, make_error_key);
    const char *message = pthread_getspecific(g_error_key);
    return message != NULL ? message : "";
}

/* ---- starting the runtime --------------------------------------------------------------- */

static void load_fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(g_load_error, sizeof g_load_error, format, args);
    va_end(args);
    g_load_status = ACCEL_ERR_RUNTIME;
}

/* hostfxr reports why it failed through this writer (on the loading thread). */
static char g_hostfxr_messages[2048];

static void HOSTFXR_CALLTYPE collect_hostfxr_message(const char_t *message)
{
    size_t used = strlen(g_hostfxr_messages);
    snprintf(g_hostfxr_messages + used, sizeof g_hostfxr_messages - used, "%s%s", used > 0 ? " " : "", message);
}

/* The folder of Accel.Native.dll: ACCEL_NATIVE_DIR, else the folder of this library. */
static int managed_folder(char *folder, size_t size)
{
    const char *configured = getenv("ACCEL_NATIVE_DIR");
    if (configured != NULL && configured[0] != '\0') {
        snprintf(folder, size, "%s", configured);
        return 0;
    }

    Dl_info info;
    char resolved[PATH_MAX];
    if (dladdr((void *)&accel_version, &info) == 0 || info.dli_fname == NULL ||
        realpath(info.dli_fname, resolved) == NULL) {
        return -1;
    }

    char *slash = strrchr(resolved, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    snprintf(folder, size, "%s", resolved);
    return 0;
}

static void load_runtime(void)
{
    char folder[PATH_MAX], assembly[PATH_MAX + 64], config[PATH_MAX + 64];
    if (managed_folder(folder, sizeof folder) != 0) {
        load_fail("libaccel.so cannot tell which folder it was loaded from; set ACCEL_NATIVE_DIR to the "
                  "folder that holds " MANAGED_ASSEMBLY ".");
        return;
    }
    snprintf(assembly, sizeof assembly, "%s/%s", folder, MANAGED_ASSEMBLY);
    snprintf(config, sizeof config, "%s/%s", folder, MANAGED_CONFIG);
    if (access(assembly, R_OK) != 0 || access(config, R_OK) != 0) {
        load_fail("Accel's managed half is missing: '%s' or '%s' cannot be read. Build it with "
                  "scripts/setup.sh (dotnet build src/Native), keep libaccel.so next to it, or set "
                  "ACCEL_NATIVE_DIR to its folder.", assembly, config);
        return;
    }

    char_t hostfxr_path[PATH_MAX];
    size_t hostfxr_size = sizeof hostfxr_path / sizeof(char_t);
    struct get_hostfxr_parameters params = { sizeof params, assembly, NULL };
    int rc = get_hostfxr_path(hostfxr_path, &hostfxr_size, &params);
    if (rc != 0) {
        load_fail("The .NET runtime was not found (get_hostfxr_path returned 0x%x). Install the .NET 10 "
                  "runtime, or set DOTNET_ROOT to the folder that holds it.", (unsigned)rc);
        return;
    }

    void *hostfxr = dlopen(hostfxr_path, RTLD_LAZY | RTLD_LOCAL);
    if (hostfxr == NULL) {
        load_fail("The .NET host '%s' could not be loaded: %s.", hostfxr_path, dlerror());
        return;
    }
    hostfxr_initialize_for_runtime_config_fn init =
        (hostfxr_initialize_for_runtime_config_fn)dlsym(hostfxr, "hostfxr_initialize_for_runtime_config");
    hostfxr_get_runtime_delegate_fn get_delegate =
        (hostfxr_get_runtime_delegate_fn)dlsym(hostfxr, "hostfxr_get_runtime_delegate");
    hostfxr_close_fn close_context = (hostfxr_close_fn)dlsym(hostfxr, "hostfxr_close");
    hostfxr_set_error_writer_fn set_writer = (hostfxr_set_error_writer_fn)dlsym(hostfxr, "hostfxr_set_error_writer");
    hostfxr_set_runtime_property_value_fn set_property =
        (hostfxr_set_runtime_property_value_fn)dlsym(hostfxr, "hostfxr_set_runtime_property_value");
    if (init == NULL || get_delegate == NULL || close_context == NULL) {
        load_fail("The .NET host '%s' lacks the hosting functions (it is older than .NET 3.0); install the "
                  ".NET 10 runtime.", hostfxr_path);
        return;
    }

    hostfxr_error_writer_fn previous = set_writer != NULL ? set_writer(collect_hostfxr_message) : NULL;
    hostfxr_handle context = NULL;
    rc = init(config, NULL, &context);
    if (rc < 0 || context == NULL) {
        load_fail("The .NET runtime could not start for '%s' (hostfxr_initialize_for_runtime_config returned "
                  "0x%x). %s Accel needs the Microsoft.NETCore.App 10 runtime.", config, (unsigned)rc,
                  g_hostfxr_messages);
        if (context != NULL) {
            close_context(context);
        }
        if (set_writer != NULL) {
            set_writer(previous);
        }
        return;
    }

    /* A component has no application folder of its own; Accel finds its shipped files (hardware
     * profiles) under AppContext.BaseDirectory, so point it at the managed folder. This is possible
     * only when this library started the runtime (rc 0), not inside a process that already runs .NET. */
    if (rc == 0 && set_property != NULL) {
        char base[PATH_MAX + 2];
        snprintf(base, sizeof base, "%s/", folder);
        set_property(context, "APP_CONTEXT_BASE_DIRECTORY", base);
    }

    load_assembly_and_get_function_pointer_fn load = NULL;
    rc = get_delegate(context, hdt_load_assembly_and_get_function_pointer, (void **)&load);
    close_context(context);
    if (set_writer != NULL) {
        set_writer(previous);
    }
    if (rc != 0 || load == NULL) {
        load_fail("The .NET runtime started but refused to load components (0x%x). %s", (unsigned)rc,
                  g_hostfxr_messages);
        return;
    }

    bind_fn bind = NULL;
    rc = load(assembly, MANAGED_TYPE, "Bind", UNMANAGEDCALLERSONLY_METHOD, NULL, (void **)&bind);
    if (rc != 0 || bind == NULL) {
        load_fail("'%s' loaded but its entry point %s.Bind was not found (0x%x); rebuild src/Native and "
                  "native/ from the same commit.", assembly, MANAGED_TYPE, (unsigned)rc);
        return;
    }

    rc = bind(&g_api, sizeof g_api, set_error);
    if (rc != ACCEL_OK || g_api.struct_size != sizeof g_api) {
        load_fail("'%s' does not match this libaccel.so (entry table of %zu bytes, expected %zu); rebuild "
                  "src/Native and native/ from the same commit.", assembly, g_api.struct_size, sizeof g_api);
        return;
    }
    g_load_status = ACCEL_OK;
}

/* Starts the runtime once; on failure every later call reports the same reason. */
static int ensure_runtime(void)
{
    pthread_once(&g_load_once, load_runtime);
    if (g_load_status != ACCEL_OK) {
        set_error(g_load_error);
    }
    return g_load_status;
}

/* Clears the thread's last error, starts the runtime, then makes the managed call. */
#define FORWARD(call)                                  \
    do {                                               \
        set_error(NULL);                               \
        int status_ = ensure_runtime();                \
        return status_ != ACCEL_OK ? status_ : (call); \
    } while (0)

/* Like FORWARD for the calls that make a session: *session is NULL unless the call succeeds. */
#define CREATE(call)                                       \
    do {                                                   \
        intptr_t handle_ = 0;                              \
        if (session != NULL) {                             \
            *session = NULL;                               \
        }                                                  \
        set_error(NULL);                                   \
        int status_ = ensure_runtime();                    \
        if (status_ == ACCEL_OK) {                         \
            status_ = (call);                              \
        }                                                  \
        if (session != NULL && status_ == ACCEL_OK) {      \
            *session = (accel_session *)handle_;           \
        }                                                  \
        return status_;                                    \
    } while (0)

/* ---- the ABI ------------------------------------------------------------------------------ */

const char *accel_version(void) { return ACCEL_VERSION_STRING; }

const char *accel_status_name(int status)
{
    switch (status) {
    case ACCEL_OK: return "ACCEL_OK";
    case ACCEL_ERR_INVALID_ARGUMENT: return "ACCEL_ERR_INVALID_ARGUMENT";
    case ACCEL_ERR_CONFIG: return "ACCEL_ERR_CONFIG";
    case ACCEL_ERR_NOT_FOUND: return "ACCEL_ERR_NOT_FOUND";
    case ACCEL_ERR_DEVICE_UNAVAILABLE: return "ACCEL_ERR_DEVICE_UNAVAILABLE";
    case ACCEL_ERR_DEVICE_MEMORY: return "ACCEL_ERR_DEVICE_MEMORY";
    case ACCEL_ERR_GRAPH: return "ACCEL_ERR_GRAPH";
    case ACCEL_ERR_BACKEND: return "ACCEL_ERR_BACKEND";
    case ACCEL_ERR_IO: return "ACCEL_ERR_IO";
    case ACCEL_ERR_RUNTIME: return "ACCEL_ERR_RUNTIME";
    case ACCEL_ERR_INTERNAL: return "ACCEL_ERR_INTERNAL";
    default: return "ACCEL_ERR_UNKNOWN";
    }
}

void accel_session_options_init(accel_session_options *options)
{
    if (options == NULL) {
        return;
    }
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->device = NULL;
    options->layer = -1;
    options->strict = -1;
    options->threads = 0;
    options->mode = ACCEL_MODE_LAYER;
}

int accel_devices(char *json, size_t capacity, size_t *length)
{
    FORWARD(g_api.devices(json, capacity, length));
}

int accel_session_create(const char *config, const char *weights, const accel_session_options *options,
                         accel_session **session)
{
    CREATE(g_api.session_create(config, weights, options, session != NULL ? &handle_ : NULL));
}

int accel_session_create_from_tensors(const char *config, const accel_named_tensor *tensors, size_t count,
                                      const accel_session_options *options, accel_session **session)
{
    CREATE(g_api.session_create_from_tensors(config, tensors, count, options, session != NULL ? &handle_ : NULL));
}

int accel_session_run(accel_session *session, const accel_tensor *hidden, const accel_tensor *token_ids,
                      accel_tensor *out, accel_tensor *topk_ids, accel_tensor *topk_weights)
{
    FORWARD(g_api.session_run((intptr_t)session, hidden, token_ids, out, topk_ids, topk_weights));
}

int accel_session_run_routed(accel_session *session, const accel_tensor *hidden, const accel_tensor *topk_ids,
                             const accel_tensor *topk_weights, accel_tensor *out)
{
    FORWARD(g_api.session_run_routed((intptr_t)session, hidden, topk_ids, topk_weights, out));
}

int accel_session_describe(accel_session *session, char *json, size_t capacity, size_t *length)
{
    FORWARD(g_api.session_describe((intptr_t)session, json, capacity, length));
}

int accel_session_release(accel_session *session)
{
    if (session == NULL) {
        set_error(NULL);
        return ACCEL_OK;
    }
    FORWARD(g_api.session_release((intptr_t)session));
}
