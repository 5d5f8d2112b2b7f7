"""Shared pieces of the Python tests: the layer families, their checkpoints, devices and metrics.

ACCEL_TEST_CHECKPOINTS names a folder with one checkpoint folder per family (as scripts/test.sh
writes them); without it the checkpoints are written once per run with `accel example`.
ACCEL_TEST_DEVICES lists the devices to test (default: cpu)."""

import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import accel  # noqa: E402

#: name, preset, layer, weight format, tolerance (NMSE; conformance: 1e-8 for f32/bf16 weights, 2e-3 for FP8/FP4)
FAMILIES = [
    ("deepseek-v3", "deepseek-v3-tiny", 2, "Fp8", 2e-3),
    ("deepseek-v4-scored", "deepseek-v4-tiny", 3, "Fp4", 2e-3),
    ("deepseek-v4-hash", "deepseek-v4-tiny", 0, "Fp4", 2e-3),
    ("mixtral", "mixtral-tiny", 0, "BF16", 1e-8),
    ("qwen2-moe", "qwen2-moe-tiny", 1, "F32", 1e-8),
]
TOKENS = (0, 1, 37)
_generated = None


def devices():
    return [d for d in os.environ.get("ACCEL_TEST_DEVICES", "cpu").split(",") if d]


def checkpoint(name):
    """The folder of a family's checkpoint (config.json, model.safetensors)."""
    global _generated
    root = os.environ.get("ACCEL_TEST_CHECKPOINTS")
    if root:
        return Path(root, name)
    if _generated is None:
        _generated = Path(tempfile.mkdtemp(prefix="accel-py-"))
        cli = ROOT / "src" / "Cli" / "bin" / "Release" / "net10.0" / "accel.dll"
        for family, preset, layer, fmt, _ in FAMILIES:
            subprocess.run(["dotnet", str(cli), "example", "--preset", preset, "--layer", str(layer), "--format", fmt,
                            "--dir", str(_generated / family)], check=True, stdout=subprocess.DEVNULL)
    return _generated / name


def family(name):
    return next(f for f in FAMILIES if f[0] == name)


def open_session(name, device, **options):
    _, _, layer, _, _ = family(name)
    folder = checkpoint(name)
    return accel.Session(folder / "config.json", folder / "model.safetensors", device=device, layer=layer, **options)


def config(name):
    return json.loads((checkpoint(name) / "config.json").read_text())


def activations(tokens, hidden, seed):
    return np.random.default_rng(seed).uniform(-1, 1, (tokens, hidden)).astype(np.float32)


def token_ids(tokens, vocab):
    return ((7 * np.arange(tokens) + 3) % max(vocab, 1)).astype(np.int64)


def nmse(actual, expected):
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    norm = float((e * e).sum())
    diff = float(((a - e) ** 2).sum())
    return diff / norm if norm > 0 else diff


_SAFETENSORS_TYPES = {"F32": ("<f4", None), "F16": ("<f2", None), "BF16": ("<u2", "bf16"), "I32": ("<i4", None),
                      "I64": ("<i8", None), "U8": ("u1", None), "I8": ("i1", None), "F8_E4M3": ("u1", "f8e4m3"),
                      "F8_E8M0": ("u1", "ue8m0")}


def read_safetensors(path):
    """A safetensors file as {name: (numpy array, accel dtype name or None)}; formats numpy lacks
    (bf16, FP8, UE8M0) come as their raw bits with the accel dtype named."""
    blob = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + size])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        numpy_type, accel_type = _SAFETENSORS_TYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        raw = np.frombuffer(blob, dtype=np.uint8, count=end - begin, offset=8 + size + begin)
        tensors[name] = (raw.view(numpy_type).reshape(entry["shape"]).copy(), accel_type)
    return tensors
