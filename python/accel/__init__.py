"""Accel from Python: the MoE block of one layer of a DeepSeek-V3/V4, Mixtral or Qwen2-MoE model on
any Accel device (cpu, opencl:N, ilgpu-cpu, cuda:N, the vendor shims), over the C ABI of
libaccel.so with ctypes. Takes numpy arrays and CPU torch tensors without copying them.

    import accel, numpy as np
    with accel.Session("ckpt/config.json", "ckpt/model.safetensors", device="cpu", layer=3) as s:
        y = s.run(np.zeros((4, s.hidden_size), np.float32))

accel.nn.MoeBlock is a torch.nn.Module for the MoE block of a decoder layer.
"""

from .errors import (AccelError, ConfigError, DeviceUnavailableError, InvalidArgumentError,  # noqa: F401
                     NotFoundError)
from .session import Session, devices, version  # noqa: F401
from ._tensors import DTYPES  # noqa: F401

__all__ = ["Session", "devices", "version", "AccelError", "InvalidArgumentError", "ConfigError", "NotFoundError",
           "DeviceUnavailableError", "DTYPES"]
