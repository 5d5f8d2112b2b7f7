"""accel.Session over libaccel.so with numpy: every family against the reference backend on each
test device (T = 0, 1, 37), the routed entry point, input forms, errors and threads."""

import os
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np

import support
from support import accel


class LayerAgainstReference(unittest.TestCase):
    """Filled below with one test per family and device."""

    @classmethod
    def setUpClass(cls):
        cls.references = {}

    def reference(self, name):
        if name not in self.references:
            self.references[name] = support.open_session(name, "reference")
        return self.references[name]

    def check_family(self, name, device):
        tolerance = support.family(name)[4]
        try:
            session = support.open_session(name, device, mode="both")
        except accel.DeviceUnavailableError as e:
            self.skipTest(str(e))
        reference = self.reference(name)
        with session:
            for tokens in support.TOKENS:
                with self.subTest(tokens=tokens):
                    x = support.activations(tokens, session.hidden_size, seed=tokens + 11)
                    ids = support.token_ids(tokens, support.config(name).get("vocab_size", 0)) \
                        if session.needs_token_ids else None
                    out, topk, weights = session.run(x, ids, return_routing=True)
                    expected, expected_topk, _ = reference.run(x, ids, return_routing=True)
                    self.assertEqual(out.shape, (tokens, session.hidden_size))
                    self.assertLessEqual(support.nmse(out, expected), tolerance)
                    np.testing.assert_array_equal(topk, expected_topk)
                    routed = session.run_routed(x, topk, weights)
                    self.assertLessEqual(support.nmse(routed, out), 1e-8)


def _add_family_tests():
    for name, *_ in support.FAMILIES:
        for device in support.devices():
            def test(self, name=name, device=device):
                self.check_family(name, device)
            test.__doc__ = f"{name} on {device} matches the reference at T = 0, 1, 37"
            setattr(LayerAgainstReference, f"test_{name}_on_{device}".replace("-", "_").replace(":", "_"), test)


_add_family_tests()


class Inputs(unittest.TestCase):
    """The forms inputs and outputs may take."""

    @classmethod
    def setUpClass(cls):
        cls.session = support.open_session("qwen2-moe", "cpu")

    @classmethod
    def tearDownClass(cls):
        cls.session.close()

    def test_float16_in_gives_float16_out(self):
        x = support.activations(5, self.session.hidden_size, seed=3)
        out16 = self.session.run(x.astype(np.float16))
        self.assertEqual(out16.dtype, np.float16)
        expected = self.session.run(x.astype(np.float16).astype(np.float32))
        np.testing.assert_allclose(out16.astype(np.float32), expected, rtol=2e-3, atol=1e-4)

    def test_out_buffers_are_written_in_place(self):
        x = support.activations(4, self.session.hidden_size, seed=4)
        out = np.full((4, self.session.hidden_size), np.nan, np.float32)
        ids = np.zeros((4, self.session.top_k), np.int64)
        result = self.session.run(x, out=out, topk_ids=ids)
        self.assertIs(result, out)
        np.testing.assert_array_equal(out, self.session.run(x))
        self.assertTrue((ids.sum(axis=1) > 0).all())

    def test_from_tensors_equals_the_checkpoint(self):
        folder = support.checkpoint("mixtral")
        tensors = support.read_safetensors(folder / "model.safetensors")
        x = support.activations(6, 32, seed=5)
        with support.open_session("mixtral", "cpu") as from_file, \
                accel.Session.from_tensors(folder / "config.json", tensors, device="cpu", layer=0) as from_memory:
            np.testing.assert_array_equal(from_memory.run(x), from_file.run(x))

    def test_config_as_a_dict(self):
        folder = support.checkpoint("qwen2-moe")
        with accel.Session(support.config("qwen2-moe"), folder / "model.safetensors", device="reference", layer=1) as s:
            self.assertEqual(s.info["family"], "Qwen2Moe")
            self.assertEqual(s.device, "reference")

    def test_devices_lists_every_backend(self):
        ids = {d["id"] for d in accel.devices()}
        self.assertTrue({"reference", "cpu", "ilgpu-cpu"} <= ids, ids)


class Errors(unittest.TestCase):
    """Bad input is an exception with the status and a message, never a crash."""

    @classmethod
    def setUpClass(cls):
        cls.session = support.open_session("deepseek-v3", "cpu")
        cls.x = support.activations(3, cls.session.hidden_size, seed=6)

    @classmethod
    def tearDownClass(cls):
        cls.session.close()

    def assert_raises(self, kind, fragment, call, *args, **kwargs):
        with self.assertRaises(kind) as caught:
            call(*args, **kwargs)
        self.assertIn(fragment, str(caught.exception))
        return caught.exception

    def test_a_path_that_does_not_exist(self):
        e = self.assert_raises(accel.NotFoundError, "/nonexistent/model.safetensors", accel.Session,
                               support.checkpoint("deepseek-v3") / "config.json", "/nonexistent/model.safetensors")
        self.assertEqual(e.status_name, "ACCEL_ERR_NOT_FOUND")
        self.assertIsInstance(e, FileNotFoundError)

    def test_bad_dtypes(self):
        self.assert_raises(accel.InvalidArgumentError, "hidden must be f32, bf16, f16 but is i32", self.session.run,
                           self.x.astype(np.int32))
        self.assert_raises(ValueError, "float64", self.session.run, self.x.astype(np.float64))
        self.assert_raises(ValueError, "'q7' is not one of", accel.Session.from_tensors,
                           support.config("deepseek-v3"), {"a": (self.x, "q7")})

    def test_missing_inputs(self):
        self.assert_raises(TypeError, "numpy array or a torch tensor", self.session.run, [[1.0, 2.0]])
        self.assert_raises(TypeError, "not NoneType", accel.Session, None, "weights")

    def test_wrong_shapes(self):
        self.assert_raises(accel.InvalidArgumentError, "hidden must be [T, 48]", self.session.run, self.x[:, :7].copy())
        self.assert_raises(accel.InvalidArgumentError, "out must be [3, 48]", self.session.run, self.x,
                           out=np.zeros((4, 48), np.float32))
        self.assert_raises(ValueError, "not C-contiguous", self.session.run, self.x[:, ::2])

    def test_routing_errors(self):
        with support.open_session("deepseek-v3", "cpu", mode="routed") as routed:
            ids = np.tile(np.arange(4, dtype=np.int32), (3, 1))
            weights = np.full((3, 4), 0.25, np.float32)
            ids[2, 1] = 16
            self.assert_raises(accel.InvalidArgumentError, "topk_ids[2, 1] = 16 is outside 0..15", routed.run_routed,
                               self.x, ids, weights)
            self.assert_raises(accel.InvalidArgumentError, "ACCEL_MODE_ROUTED", routed.run, self.x)
        self.assert_raises(accel.InvalidArgumentError, "ACCEL_MODE_LAYER", self.session.run_routed, self.x, ids, weights)

    def test_devices_and_options(self):
        self.assert_raises(accel.DeviceUnavailableError, "nosuch:3", support.open_session, "deepseek-v3", "nosuch:3")
        self.assert_raises(ValueError, "mode must be one of", support.open_session, "deepseek-v3", "cpu", mode="fast")
        self.assert_raises(accel.InvalidArgumentError, "options->threads", support.open_session, "deepseek-v3", "cpu",
                           threads=-1)

    def test_a_closed_session(self):
        session = support.open_session("deepseek-v3", "reference")
        session.close()
        session.close()  # a second close is harmless
        self.assert_raises(ValueError, "closed", session.run, self.x)

    def test_the_session_still_runs_after_errors(self):
        with self.assertRaises(accel.InvalidArgumentError):
            self.session.run(self.x[:, :7].copy())
        self.assertEqual(self.session.run(self.x).shape, (3, 48))


class Loading(unittest.TestCase):
    """A missing library or managed half is a clear error (each case in a fresh interpreter)."""

    def run_python(self, code, **env):
        python_path = str(support.ROOT / "python")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PYTHONPATH": python_path, **env})
        return result.returncode, result.stdout + result.stderr

    def test_no_library(self):
        code, output = self.run_python("import accel; accel.version()", ACCEL_LIB="/nonexistent/libaccel.so")
        self.assertNotEqual(code, 0)
        self.assertIn("libaccel.so was not found", output)
        self.assertIn("scripts/setup.sh", output)

    def test_no_managed_half(self):
        with tempfile.TemporaryDirectory() as empty:
            code, output = self.run_python(
                "import accel\ntry:\n    accel.devices()\nexcept accel.AccelError as e:\n    print(e.status_name, e)",
                ACCEL_NATIVE_DIR=empty)
        self.assertEqual(code, 0, output)
        self.assertIn("ACCEL_ERR_RUNTIME", output)
        self.assertIn("Accel.Native.dll", output)
        self.assertEqual(accel.version(), "0.1.0")  # the version needs no runtime


class Threads(unittest.TestCase):
    def test_eight_threads_on_one_session_are_bitwise_equal(self):
        with support.open_session("deepseek-v4-scored", "cpu") as session:
            x = support.activations(9, session.hidden_size, seed=8)
            expected = session.run(x)
            results, failures = [], []

            def work():
                try:
                    for _ in range(4):
                        results.append(session.run(x))
                except Exception as e:  # noqa: BLE001 - reported below
                    failures.append(e)

            threads = [threading.Thread(target=work) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(failures, [])
            self.assertEqual(len(results), 32)
            for r in results:
                np.testing.assert_array_equal(r, expected)


if __name__ == "__main__":
    unittest.main()
