"""Zero-copy accel_tensor views of numpy arrays and torch tensors (CPU, contiguous)."""

from ._lib import MAX_DIMS, Tensor

F32, F16, BF16, I8, U8, I32, I64, F8E4M3, F4E2M1, UE8M0 = range(10)

#: accel dtype codes by name (the names accel_dtype and Accel's DType use).
DTYPES = {"f32": F32, "f16": F16, "bf16": BF16, "i8": I8, "u8": U8, "i32": I32, "i64": I64,
          "f8e4m3": F8E4M3, "f4e2m1": F4E2M1, "ue8m0": UE8M0}

_NUMPY = {"float32": F32, "float16": F16, "int8": I8, "uint8": U8, "int32": I32, "int64": I64}
_TORCH = {"torch.float32": F32, "torch.float16": F16, "torch.bfloat16": BF16, "torch.int8": I8, "torch.uint8": U8,
          "torch.int32": I32, "torch.int64": I64, "torch.float8_e4m3fn": F8E4M3}


def is_torch(x):
    """True for a torch tensor (without importing torch)."""
    return type(x).__module__.split(".")[0] == "torch"


def view(x, name, dtype=None):
    """An accel_tensor over the memory of `x` (no copy). `dtype` (a name of DTYPES) overrides the
    element type, for formats numpy lacks (e.g. bf16 or FP8 held in uint16 / uint8 arrays)."""
    if is_torch(x):
        if x.device.type != "cpu":
            raise ValueError(f"{name} is on {x.device}; Accel reads host memory, so pass {name}.cpu().")
        if not x.is_contiguous():
            raise ValueError(f"{name} is not contiguous; pass {name}.contiguous().")
        code, data, shape = _TORCH.get(str(x.dtype)), x.data_ptr(), tuple(x.shape)
        kind = str(x.dtype)
    else:
        import numpy as np
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name} must be a numpy array or a torch tensor, not {type(x).__name__}.")
        if not x.flags.c_contiguous:
            raise ValueError(f"{name} is not C-contiguous; pass np.ascontiguousarray({name}).")
        code, data, shape = _NUMPY.get(x.dtype.name), x.ctypes.data, x.shape
        kind = x.dtype.name
    if dtype is not None:
        if dtype not in DTYPES:
            raise ValueError(f"{name}: dtype '{dtype}' is not one of {', '.join(DTYPES)}.")
        code = DTYPES[dtype]
    if code is None:
        raise ValueError(f"{name} is {kind}, which Accel does not take; use float32, float16 or bfloat16 "
                         f"activations and int32 or int64 ids (e.g. {name}.astype(numpy.float32) or {name}.float()).")
    if not 1 <= len(shape) <= MAX_DIMS:
        raise ValueError(f"{name} has {len(shape)} dimensions; Accel takes 1 to {MAX_DIMS}.")
    t = Tensor()
    t.data = data or None
    t.dtype = code
    t.ndim = len(shape)
    for i, extent in enumerate(shape):
        t.shape[i] = extent
    return t


def empty_like_rows(x, rows, cols, kind):
    """A new output for `x`'s library: kind 'act' has x's dtype, 'ids' is int32 (numpy) or int64
    (torch, as torch.topk returns), 'weights' is float32."""
    if is_torch(x):
        import torch
        dtype = {"act": x.dtype, "ids": torch.int64, "weights": torch.float32}[kind]
        return torch.empty((rows, cols), dtype=dtype)
    import numpy as np
    dtype = {"act": x.dtype, "ids": np.int32, "weights": np.float32}[kind]
    return np.empty((rows, cols), dtype=dtype)
