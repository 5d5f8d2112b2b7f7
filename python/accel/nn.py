"""accel.nn.MoeBlock: a torch.nn.Module that runs the MoE block of one decoder layer on Accel."""

import json
import os

import torch

from .session import Session

# Where a layer's MoE block lives in a Hugging Face checkpoint, by model_type (default "mlp").
_BLOCK = {"mixtral": "block_sparse_moe"}


def _model_type(config):
    if isinstance(config, dict):
        return config.get("model_type", "")
    text = os.fspath(config)
    if not text.lstrip().startswith("{"):
        with open(text, encoding="utf-8") as f:
            text = f.read()
    return json.loads(text).get("model_type", "")


class MoeBlock(torch.nn.Module):
    """The MoE block of a decoder layer (Mixtral's block_sparse_moe, Qwen2-MoE's and DeepSeek-V3/V4's
    mlp) on an Accel device; inference only.

    forward(hidden_states [..., D]) returns the block's output with the same shape and dtype
    (float32, float16 or bfloat16, CPU), and also the router logits [N, E] when
    return_router_logits is set (as Mixtral's and Qwen2-MoE's blocks return them in transformers).

    Make one with MoeBlock.from_hf_block(block, config, layer) from an existing block (its
    state dict is copied to the device), or MoeBlock.from_checkpoint(config, weights, layer).
    """

    def __init__(self, session, router_weight=None, return_router_logits=False):
        super().__init__()
        if return_router_logits and router_weight is None:
            raise ValueError("return_router_logits needs the router weight [E, D]; pass router_weight.")
        self.session = session
        self.return_router_logits = return_router_logits
        if router_weight is not None:
            self.register_buffer("router_weight", router_weight.detach(), persistent=False)
        else:
            self.router_weight = None

    @classmethod
    def from_checkpoint(cls, config, weights, layer, **session_options):
        """A block for `layer` of a checkpoint (a .safetensors file, a folder of shards or an index)."""
        return cls(Session(config, weights, layer=layer, **session_options))

    @classmethod
    def from_hf_block(cls, block, config, layer, *, return_router_logits=None, **session_options):
        """A block with the weights of `block`, a transformers MoE block (or any module with the same
        state-dict names) of decoder layer `layer`; config is the model's config.json (path, text or
        dict). return_router_logits defaults to what transformers' block returns for the family
        (True for Mixtral and Qwen2-MoE)."""
        model_type = _model_type(config)
        prefix = f"model.layers.{layer}.{_BLOCK.get(model_type, 'mlp')}."
        tensors = {prefix + name: t.detach().cpu().contiguous() for name, t in block.state_dict().items()}
        session = Session.from_tensors(config, tensors, layer=layer, **session_options)
        if return_router_logits is None:
            return_router_logits = model_type in ("mixtral", "qwen2_moe")
        return cls(session, tensors.get(prefix + "gate.weight"), return_router_logits)

    def forward(self, hidden_states):
        shape = hidden_states.shape
        x = hidden_states.detach().reshape(-1, shape[-1])
        x = x if x.is_contiguous() else x.contiguous()
        out = self.session.run(x).reshape(shape)
        if not self.return_router_logits:
            return out
        return out, x @ self.router_weight.to(x.dtype).t()

    def extra_repr(self):
        return f"device={self.session.device}, layer={self.session.layer}, hidden_size={self.session.hidden_size}"
