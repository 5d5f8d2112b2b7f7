"""ctypes declarations of include/accel.h and the loading of libaccel.so."""

import ctypes
import ctypes.util
import os
from pathlib import Path

MAX_DIMS = 4


class Tensor(ctypes.Structure):
    """accel_tensor: a caller-owned, row-major, contiguous host buffer."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("dtype", ctypes.c_int32),
        ("ndim", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_DIMS),
    ]


class NamedTensor(ctypes.Structure):
    """accel_named_tensor: a Hugging Face name and its tensor."""

    _fields_ = [("name", ctypes.c_char_p), ("tensor", Tensor)]


class Options(ctypes.Structure):
    """accel_session_options."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("device", ctypes.c_char_p),
        ("layer", ctypes.c_int32),
        ("strict", ctypes.c_int32),
        ("threads", ctypes.c_int32),
        ("mode", ctypes.c_int32),
    ]


_REPO_BUILD = Path("src", "Native", "bin", "Release", "net10.0", "libaccel.so")


def candidates():
    """Where libaccel.so is looked for, in order: ACCEL_LIB alone when set, else next to this package,
    the repository's build folder, then the system's library path."""
    env = os.environ.get("ACCEL_LIB")
    if env:
        return [env]
    here = Path(__file__).resolve().parent
    found = [str(here / "libaccel.so"), str(here.parent.parent / _REPO_BUILD)]
    system = ctypes.util.find_library("accel")
    return found + ([system] if system else [])


def load():
    """Loads libaccel.so and declares its functions; raises OSError saying how to build it."""
    tried = candidates()
    for path in tried:
        if os.path.isfile(path) or os.sep not in path:
            lib = ctypes.CDLL(path)
            _declare(lib)
            return lib
    raise OSError(
        "libaccel.so was not found (looked at: " + ", ".join(tried) + "). "
        "Build it with scripts/setup.sh, or set ACCEL_LIB to its path.")


def _declare(lib):
    c_int, c_size, c_char_p, c_void_p = ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p
    tensor_p, size_p = ctypes.POINTER(Tensor), ctypes.POINTER(c_size)
    signatures = {
        "accel_version": (c_char_p, []),
        "accel_last_error": (c_char_p, []),
        "accel_status_name": (c_char_p, [c_int]),
        "accel_session_options_init": (None, [ctypes.POINTER(Options)]),
        "accel_devices": (c_int, [c_char_p, c_size, size_p]),
        "accel_session_create": (c_int, [c_char_p, c_char_p, ctypes.POINTER(Options), ctypes.POINTER(c_void_p)]),
        "accel_session_create_from_tensors": (
            c_int, [c_char_p, ctypes.POINTER(NamedTensor), c_size, ctypes.POINTER(Options), ctypes.POINTER(c_void_p)]),
        "accel_session_run": (c_int, [c_void_p, tensor_p, tensor_p, tensor_p, tensor_p, tensor_p]),
        "accel_session_run_routed": (c_int, [c_void_p, tensor_p, tensor_p, tensor_p, tensor_p]),
        "accel_session_describe": (c_int, [c_void_p, c_char_p, c_size, size_p]),
        "accel_session_release": (c_int, [c_void_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
