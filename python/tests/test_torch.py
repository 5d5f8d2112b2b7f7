"""torch tensors through accel.Session (zero-copy, bf16) and accel.nn.MoeBlock against plain torch
versions of the Mixtral and Qwen2-MoE blocks. Skipped when torch is not installed."""

import unittest

import numpy as np

import support
from support import accel

try:
    import torch
    import torch.nn.functional as F
    from accel.nn import MoeBlock
    REASON = ""
except ImportError as missing:  # depends on the machine
    torch = None
    REASON = f"torch is not installed ({missing}); on Debian: apt-get install python3-torch"

_Module = torch.nn.Module if torch else object


class Expert(_Module):
    """A SwiGLU expert with Hugging Face's parameter names (Mixtral: w1 gate, w3 up, w2 down)."""

    def __init__(self, d, width, mixtral):
        super().__init__()
        names = ("w1", "w3", "w2") if mixtral else ("gate_proj", "up_proj", "down_proj")
        self.names = names
        setattr(self, names[0], torch.nn.Linear(d, width, bias=False))
        setattr(self, names[1], torch.nn.Linear(d, width, bias=False))
        setattr(self, names[2], torch.nn.Linear(width, d, bias=False))

    def forward(self, x):
        gate, up, down = (getattr(self, n) for n in self.names)
        return down(F.silu(gate(x)) * up(x))


class TorchMoeBlock(_Module):
    """The MoE block as transformers writes it for Mixtral (renormalised top-k) and Qwen2-MoE
    (top-k without renormalisation, plus a sigmoid-gated shared expert); returns (output, logits)."""

    def __init__(self, config):
        super().__init__()
        self.mixtral = config["model_type"] == "mixtral"
        d, k = config["hidden_size"], config["num_experts_per_tok"]
        e = config["num_local_experts"] if self.mixtral else config["num_experts"]
        width = config["intermediate_size"] if self.mixtral else config["moe_intermediate_size"]
        self.top_k, self.normalize = k, self.mixtral or config.get("norm_topk_prob", False)
        self.gate = torch.nn.Linear(d, e, bias=False)
        self.experts = torch.nn.ModuleList(Expert(d, width, self.mixtral) for _ in range(e))
        if not self.mixtral:
            self.shared_expert = Expert(d, config["shared_expert_intermediate_size"], False)
            self.shared_expert_gate = torch.nn.Linear(d, 1, bias=False)

    def forward(self, x):
        logits = self.gate(x)
        weights, ids = torch.topk(torch.softmax(logits.float(), dim=-1), self.top_k, dim=-1)
        if self.normalize:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(x)
        for t in range(x.shape[0]):
            for j in range(self.top_k):
                out[t] += weights[t, j].to(x.dtype) * self.experts[int(ids[t, j])](x[t])
        if not self.mixtral:
            out = out + torch.sigmoid(self.shared_expert_gate(x)) * self.shared_expert(x)
        return out, logits


@unittest.skipIf(torch is None, REASON)
class TorchTensors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.session = support.open_session("deepseek-v4-scored", "cpu")

    @classmethod
    def tearDownClass(cls):
        cls.session.close()

    def test_float32_tensors_match_numpy(self):
        x = support.activations(6, self.session.hidden_size, seed=21)
        out, ids, weights = self.session.run(torch.from_numpy(x), return_routing=True)
        self.assertIsInstance(out, torch.Tensor)
        self.assertEqual(ids.dtype, torch.int64)
        np.testing.assert_array_equal(out.numpy(), self.session.run(x))
        np.testing.assert_array_equal(ids.numpy(), self.session.run(x, return_routing=True)[1])

    def test_bfloat16_in_and_out(self):
        x = torch.from_numpy(support.activations(6, self.session.hidden_size, seed=22)).to(torch.bfloat16)
        out = self.session.run(x)
        self.assertEqual(out.dtype, torch.bfloat16)
        expected = self.session.run(x.float())
        torch.testing.assert_close(out, expected.to(torch.bfloat16), rtol=0, atol=0)

    def test_outputs_are_written_into_the_callers_tensor(self):
        x = torch.from_numpy(support.activations(3, self.session.hidden_size, seed=23))
        out = torch.empty(3, self.session.hidden_size)
        pointer = out.data_ptr()
        self.assertIs(self.session.run(x, out=out), out)
        self.assertEqual(out.data_ptr(), pointer)
        torch.testing.assert_close(out, self.session.run(x), rtol=0, atol=0)

    def test_a_non_contiguous_tensor_is_refused(self):
        x = torch.zeros(self.session.hidden_size, 4).t()
        with self.assertRaises(ValueError) as caught:
            self.session.run(x)
        self.assertIn(".contiguous()", str(caught.exception))

    def test_routed_with_int64_ids_from_torch_topk(self):
        with support.open_session("deepseek-v4-scored", "cpu", mode="both") as both:
            x = torch.from_numpy(support.activations(5, both.hidden_size, seed=24))
            out, ids, weights = both.run(x, return_routing=True)
            torch.testing.assert_close(both.run_routed(x, ids, weights), out, rtol=1e-5, atol=1e-6)


@unittest.skipIf(torch is None, REASON)
class MoeBlockAgainstTorch(unittest.TestCase):
    def check(self, name, layer):
        config = support.config(name)
        torch.manual_seed(7)
        block = TorchMoeBlock(config).eval()
        accelerated = MoeBlock.from_hf_block(block, config, layer, device="cpu")
        x = torch.randn(2, 5, config["hidden_size"])  # [batch, sequence, hidden]
        with torch.no_grad():
            expected, expected_logits = block(x.reshape(-1, x.shape[-1]))
            out, logits = accelerated(x)
        self.assertEqual(out.shape, x.shape)
        self.assertLessEqual(support.nmse(out.reshape(-1, x.shape[-1]).numpy(), expected.numpy()), 1e-8)
        torch.testing.assert_close(logits, expected_logits)
        self.assertIn("device=cpu", repr(accelerated))

    def test_mixtral_block(self):
        self.check("mixtral", 0)

    def test_qwen2_moe_block(self):
        self.check("qwen2-moe", 1)

    def test_from_checkpoint_runs_a_deepseek_block(self):
        folder = support.checkpoint("deepseek-v3")
        block = MoeBlock.from_checkpoint(folder / "config.json", folder / "model.safetensors", 2, device="cpu")
        x = torch.from_numpy(support.activations(4, 48, seed=25)).to(torch.bfloat16)
        out = block(x.unsqueeze(0))
        self.assertEqual((out.shape, out.dtype), ((1, 4, 48), torch.bfloat16))
        with support.open_session("deepseek-v3", "reference") as reference:
            self.assertLessEqual(support.nmse(out.float().numpy()[0], reference.run(x.float().numpy())), 1e-4)


if __name__ == "__main__":
    unittest.main()
