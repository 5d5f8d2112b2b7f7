"""Session: one layer's MoE block on a device, over the C ABI."""

import ctypes
import json
import os
import threading

from . import _lib
from ._tensors import empty_like_rows, view
from .errors import error_for

_MODES = {"layer": 0, "routed": 1, "both": 2}
_lib_handle = None
_lib_lock = threading.Lock()


def lib():
    """libaccel.so, loaded on first use."""
    global _lib_handle
    with _lib_lock:
        if _lib_handle is None:
            _lib_handle = _lib.load()
        return _lib_handle


def check(status):
    """Raises the AccelError subclass for a failure status."""
    if status != 0:
        L = lib()
        raise error_for(status, L.accel_status_name(status).decode(), L.accel_last_error().decode("utf-8", "replace"))


def read_text(function, *args):
    """Calls a JSON-returning function of the ABI twice: once for the length, once for the text."""
    length = ctypes.c_size_t(0)
    check(function(*args, None, 0, ctypes.byref(length)))
    buffer = ctypes.create_string_buffer(length.value + 1)
    check(function(*args, buffer, len(buffer), ctypes.byref(length)))
    return json.loads(buffer.value.decode("utf-8"))


def version():
    """The library's version, e.g. '0.1.0'."""
    return lib().accel_version().decode()


def devices():
    """Every device as a list of dicts (id, backend, name, kind, status, usable, memory_bytes, note)."""
    return read_text(lib().accel_devices)


def _config_arg(config):
    if isinstance(config, dict):
        return json.dumps(config).encode()
    if isinstance(config, (str, os.PathLike)):
        return os.fsencode(config)
    raise TypeError(f"config must be a path to config.json, its JSON text or a dict, not {type(config).__name__}.")


def _options(device, layer, strict, threads, mode):
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, not {mode!r}.")
    o = _lib.Options()
    lib().accel_session_options_init(ctypes.byref(o))
    o.device = device.encode() if device is not None else None
    o.layer = -1 if layer is None else int(layer)
    o.strict = -1 if strict is None else int(bool(strict))
    o.threads = int(threads)
    o.mode = _MODES[mode]
    return o


class Session:
    """One layer's MoE block on a device.

    Session(config, weights, device=None, layer=None, strict=None, threads=0, mode="layer")

    config:  path of the model's config.json, its JSON text, or a dict.
    weights: a .safetensors file, a folder of shards, or a model.safetensors.index.json; or use
             Session.from_tensors with tensors by Hugging Face name.
    device:  "cpu", "opencl:0", "ilgpu-cpu", "cuda:0", "reference", ... (see accel.devices());
             None for ACCEL_DEVICE, then auto.
    layer:   the layer index (None: the first MoE layer).
    strict:  True to refuse an op fallback to another backend (None: ACCEL_STRICT, default off).
    threads: worker threads of the cpu device (0: one per processor).
    mode:    "layer" (run), "routed" (run_routed) or "both".

    Inputs and outputs are numpy arrays or CPU torch tensors, read and written in place through
    their data pointers (no copies on the Python side); outputs follow the input's library.
    Thread-safe: runs on one session are serialised (the GIL is released during a run).
    """

    def __init__(self, config, weights, *, device=None, layer=None, strict=None, threads=0, mode="layer"):
        self._handle = None
        handle = ctypes.c_void_p()
        options = _options(device, layer, strict, threads, mode)
        check(lib().accel_session_create(_config_arg(config), os.fsencode(weights), ctypes.byref(options),
                                         ctypes.byref(handle)))
        self._adopt(handle)

    @classmethod
    def from_tensors(cls, config, tensors, *, device=None, layer=None, strict=None, threads=0, mode="layer"):
        """A session from tensors by Hugging Face name (a dict of numpy arrays or torch tensors, e.g. a
        state dict; a value may be (array, dtype name) for formats numpy lacks, such as ('bf16')).
        The tensors are copied; they may be freed afterwards."""
        views, keep = [], []
        for name, value in tensors.items():
            array, dtype = value if isinstance(value, tuple) else (value, None)
            keep.append(array)
            views.append(_lib.NamedTensor(name.encode(), view(array, name, dtype)))
        table = (_lib.NamedTensor * len(views))(*views)
        handle = ctypes.c_void_p()
        options = _options(device, layer, strict, threads, mode)
        check(lib().accel_session_create_from_tensors(_config_arg(config), table, len(views), ctypes.byref(options),
                                                      ctypes.byref(handle)))
        session = cls.__new__(cls)
        session._handle = None
        session._adopt(handle)
        return session

    def _adopt(self, handle):
        self._handle = handle
        self.info = read_text(lib().accel_session_describe, handle)
        self.device = self.info["device"]
        self.hidden_size = self.info["hidden_size"]
        self.top_k = self.info["top_k"]
        self.experts = self.info["experts"]
        self.layer = self.info["layer"]
        self.needs_token_ids = self.info["needs_token_ids"]

    def _live(self):
        if self._handle is None:
            raise ValueError("The session is closed; create a new one.")
        return self._handle

    def run(self, hidden, token_ids=None, *, out=None, topk_ids=None, topk_weights=None, return_routing=False):
        """The whole MoE block on hidden [T, D] (float32, float16 or bfloat16); token_ids [T] for
        DeepSeek-V4 hash layers. Returns out [T, D] (hidden's dtype), or (out, topk_ids [T, K],
        topk_weights [T, K]) with return_routing=True; out=, topk_ids=, topk_weights= write into
        given buffers instead."""
        handle = self._live()
        x = view(hidden, "hidden")
        rows = x.shape[0]
        want = return_routing or topk_ids is not None or topk_weights is not None
        out = empty_like_rows(hidden, rows, self.hidden_size, "act") if out is None else out
        if want:
            topk_ids = empty_like_rows(hidden, rows, self.top_k, "ids") if topk_ids is None else topk_ids
            topk_weights = empty_like_rows(hidden, rows, self.top_k, "weights") if topk_weights is None else topk_weights
        y = view(out, "out")
        t = view(token_ids, "token_ids") if token_ids is not None else None
        ids = view(topk_ids, "topk_ids") if want else None
        w = view(topk_weights, "topk_weights") if want else None
        check(lib().accel_session_run(handle, x, _ref(t), y, _ref(ids), _ref(w)))
        return (out, topk_ids, topk_weights) if return_routing else out

    def run_routed(self, hidden, topk_ids, topk_weights, *, out=None):
        """The experts only, on routing chosen by the caller: topk_ids [T, K] (int32 or int64, K distinct
        experts per row) and topk_weights [T, K] (the weight of each expert's output). Needs mode
        "routed" or "both". Returns out [T, D] in hidden's dtype."""
        handle = self._live()
        x, ids, w = view(hidden, "hidden"), view(topk_ids, "topk_ids"), view(topk_weights, "topk_weights")
        out = empty_like_rows(hidden, x.shape[0], self.hidden_size, "act") if out is None else out
        y = view(out, "out")
        check(lib().accel_session_run_routed(handle, x, ids, w, y))
        return out

    def close(self):
        """Frees the session's device memory (also done when the session is collected)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            check(lib().accel_session_release(handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    def __repr__(self):
        state = "closed" if self._handle is None else f"on {self.device}"
        return f"<accel.Session layer {self.info['layer']} ({self.info['family']}) {state}>"


def _ref(t):
    return ctypes.byref(t) if t is not None else None


__all__ = ["Session", "devices", "version", "lib"]
