// accel.hpp - a header-only C++17 wrapper over the C ABI of accel.h: a move-only Session that
// releases itself, tensors made from std::vector or raw pointers, and accel::Error (with the
// status code) thrown where the C functions return a failure status.
#ifndef ACCEL_HPP
#define ACCEL_HPP

#include "accel.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace accel {

/// A failed Accel call: the status and the message of accel_last_error().
class Error : public std::runtime_error {
public:
    Error(int status, const std::string &what)
        : std::runtime_error(what + ": " + accel_status_name(status) + ": " + accel_last_error()), status_(status) {}

    /// The accel_status code.
    int status() const noexcept { return status_; }

private:
    int status_;
};

/// Throws accel::Error unless status is ACCEL_OK.
inline void check(int status, const char *what)
{
    if (status != ACCEL_OK) {
        throw Error(status, what);
    }
}

template <typename T> constexpr accel_dtype dtype_of();
template <> constexpr accel_dtype dtype_of<float>() { return ACCEL_DTYPE_F32; }
template <> constexpr accel_dtype dtype_of<int32_t>() { return ACCEL_DTYPE_I32; }
template <> constexpr accel_dtype dtype_of<int64_t>() { return ACCEL_DTYPE_I64; }

/// A [rows, cols] view of caller memory (the memory stays the caller's).
template <typename T> accel_tensor matrix(T *data, int64_t rows, int64_t cols)
{
    return accel_tensor{ static_cast<void *>(data), dtype_of<T>(), 2, { rows, cols, 0, 0 } };
}

/// A [rows, cols] view of a vector that holds at least rows * cols elements.
template <typename T> accel_tensor matrix(std::vector<T> &v, int64_t rows, int64_t cols)
{
    if (static_cast<int64_t>(v.size()) < rows * cols) {
        throw std::invalid_argument("accel::matrix: the vector is smaller than rows * cols");
    }
    return matrix(v.data(), rows, cols);
}

/// Options with the defaults of accel_session_options_init; chain the setters.
struct Options {
    accel_session_options raw;
    Options() { accel_session_options_init(&raw); }
    Options &device(const char *id) { raw.device = id; return *this; }
    Options &layer(int index) { raw.layer = index; return *this; }
    Options &strict(bool on) { raw.strict = on ? 1 : 0; return *this; }
    Options &threads(int count) { raw.threads = count; return *this; }
    Options &mode(accel_mode m) { raw.mode = m; return *this; }
};

/// One layer on a device; released when it goes out of scope.
class Session {
public:
    /// Opens a layer of a checkpoint (config.json path or text; .safetensors file, folder or index).
    Session(const std::string &config, const std::string &weights, const Options &options = Options())
    {
        check(accel_session_create(config.c_str(), weights.c_str(), &options.raw, &handle_), "accel_session_create");
    }

    Session(Session &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Session &operator=(Session &&other) noexcept
    {
        std::swap(handle_, other.handle_);
        return *this;
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    ~Session() { accel_session_release(handle_); }

    /// The whole layer; topk_ids and topk_weights may be null.
    void run(const accel_tensor &hidden, accel_tensor &out, accel_tensor *topk_ids = nullptr,
             accel_tensor *topk_weights = nullptr, const accel_tensor *token_ids = nullptr) const
    {
        check(accel_session_run(handle_, &hidden, token_ids, &out, topk_ids, topk_weights), "accel_session_run");
    }

    /// The experts on given routing (a session opened with ACCEL_MODE_ROUTED or ACCEL_MODE_BOTH).
    void run_routed(const accel_tensor &hidden, const accel_tensor &topk_ids, const accel_tensor &topk_weights,
                    accel_tensor &out) const
    {
        check(accel_session_run_routed(handle_, &hidden, &topk_ids, &topk_weights, &out), "accel_session_run_routed");
    }

    /// The session's JSON description (device, reason, shape, placements).
    std::string describe() const { return text(accel_session_describe, handle_); }

    /// The underlying C handle.
    accel_session *get() const noexcept { return handle_; }

private:
    template <typename F, typename... A> static std::string text(F f, A... args)
    {
        size_t length = 0;
        check(f(args..., nullptr, 0, &length), "accel: length of a JSON text");
        std::string s(length + 1, '\0');
        check(f(args..., s.data(), s.size(), &length), "accel: JSON text");
        s.resize(length);
        return s;
    }
    friend std::string devices();

    accel_session *handle_ = nullptr;
};

/// Every device as JSON (the list `accel devices` prints).
inline std::string devices()
{
    return Session::text(accel_devices);
}

} // namespace accel

#endif // ACCEL_HPP
