"""Qwen3ForCausalLM in plain PyTorch (1.13), with Hugging Face's parameter names so that its state dict is a
standard Qwen3 checkpoint. The forward follows transformers' Qwen3 (RMSNorm in float32, q/k norms per head,
rotate-half RoPE, grouped-query attention, SwiGLU, tied head) and does its math the way torchllm does on CPU
(fused q/k/v and gate/up projections, attention scores and softmax in float32), so that greedy decoding can be
compared token for token in fp32 and bf16."""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Qwen3Config:
    vocab_size: int
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 4
    num_attention_heads: int = 8
    num_key_value_heads: int = 4
    head_dim: int = 32
    max_position_embeddings: int = 512
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0

    def to_hf(self, bos_token_id, eos_token_id, pad_token_id):
        """config.json as transformers writes it for Qwen3ForCausalLM."""
        return {
            "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "attention_bias": False,
            "attention_dropout": 0.0, "bos_token_id": bos_token_id, "eos_token_id": eos_token_id,
            "pad_token_id": pad_token_id, "head_dim": self.head_dim, "hidden_act": "silu",
            "hidden_size": self.hidden_size, "initializer_range": 0.02,
            "intermediate_size": self.intermediate_size, "max_position_embeddings": self.max_position_embeddings,
            "max_window_layers": self.num_hidden_layers, "num_attention_heads": self.num_attention_heads,
            "num_hidden_layers": self.num_hidden_layers, "num_key_value_heads": self.num_key_value_heads,
            "rms_norm_eps": self.rms_norm_eps, "rope_scaling": None, "rope_theta": self.rope_theta,
            "sliding_window": None, "use_sliding_window": False, "tie_word_embeddings": True,
            "torch_dtype": "bfloat16", "use_cache": True, "vocab_size": self.vocab_size,
        }


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        q_rows, kv_rows = c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, q_rows, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, kv_rows, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, kv_rows, bias=False)
        self.o_proj = nn.Linear(q_rows, c.hidden_size, bias=False)
        self.q_norm = RMSNorm(c.head_dim, c.rms_norm_eps)
        self.k_norm = RMSNorm(c.head_dim, c.rms_norm_eps)

    def forward(self, x, cos, sin, cache=None):
        """x: [batch, seq, hidden]; cos/sin: [seq, head_dim]; cache: (k, v) of earlier positions or None."""
        c = self.c
        b, t, _ = x.shape
        qkv = F.linear(x, torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight]))
        q, k, v = qkv.split([c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim,
                             c.num_key_value_heads * c.head_dim], dim=-1)
        q = self.q_norm(q.view(b, t, c.num_attention_heads, c.head_dim))
        k = self.k_norm(k.view(b, t, c.num_key_value_heads, c.head_dim))
        v = v.view(b, t, c.num_key_value_heads, c.head_dim)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [b, heads, t, head_dim]
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        s = k.shape[2]
        groups = c.num_attention_heads // c.num_key_value_heads
        qg = q.reshape(b, c.num_key_value_heads, groups * t, c.head_dim)  # query heads of a group stacked
        scores = torch.matmul(qg, k.transpose(-1, -2)).float() * (1.0 / math.sqrt(c.head_dim))
        scores = scores.view(b, c.num_key_value_heads, groups, t, s)
        causal = torch.ones(t, s, dtype=torch.bool).tril(diagonal=s - t)
        scores = scores.masked_fill(~causal, float("-inf"))
        probs = torch.softmax(scores, dim=-1).to(q.dtype).view(b, c.num_key_value_heads, groups * t, s)
        out = torch.matmul(probs, v).view(b, c.num_attention_heads, t, c.head_dim)
        out = out.transpose(1, 2).reshape(b, t, c.num_attention_heads * c.head_dim)
        return self.o_proj(out), (k, v)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        gate, up = F.linear(x, torch.cat([self.gate_proj.weight, self.up_proj.weight])).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, cos, sin, cache=None):
        attn, cache = self.self_attn(self.input_layernorm(x), cos, sin, cache)
        x = x + attn
        return x + self.mlp(self.post_attention_layernorm(x)), cache


def rope(x, cos, sin):
    """x: [b, t, heads, head_dim]; cos/sin: [t, head_dim] (rotate-half layout)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos[:, None, :] + rotated * sin[:, None, :]


class Backbone(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class Qwen3ForCausalLM(nn.Module):
    """Parameters named as transformers names them: model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight,
    ...; lm_head is tied to the embedding and not stored."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Backbone(c)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)

    def rope_tables(self, positions, dtype):
        c = self.config
        inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2, dtype=torch.float32) / c.head_dim))
        freqs = torch.outer(positions.float(), inv_freq)
        emb = torch.cat([freqs, freqs], dim=-1)  # [t, head_dim]
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def forward(self, ids, caches=None):
        """ids: [batch, seq] -> logits [batch, seq, vocab] (float32) and the per-layer K/V caches."""
        start = 0 if caches is None else caches[0][0].shape[2]
        x = self.model.embed_tokens(ids)
        cos, sin = self.rope_tables(torch.arange(start, start + ids.shape[1]), x.dtype)
        new_caches = []
        for i, layer in enumerate(self.model.layers):
            x, cache = layer(x, cos, sin, None if caches is None else caches[i])
            new_caches.append(cache)
        x = self.model.norm(x)
        return F.linear(x, self.model.embed_tokens.weight).float(), new_caches

    def loss(self, ids, labels):
        """Next-token cross entropy; labels of -100 are not learned."""
        logits, _ = self.forward(ids)
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                               ignore_index=-100)

    def hf_state_dict(self, dtype):
        return {name: p.detach().to(dtype).contiguous() for name, p in self.named_parameters()}

    @torch.no_grad()
    def greedy(self, ids, new_tokens, stop_ids=()):
        """Argmax decoding: the prompt in one forward, then one token at a time through the K/V caches."""
        logits, caches = self.forward(torch.tensor([ids]))
        tokens = []
        for _ in range(new_tokens):
            next_id = int(logits[0, -1].argmax())
            tokens.append(next_id)
            if next_id in stop_ids:
                break
            logits, caches = self.forward(torch.tensor([[next_id]]), caches)
        return tokens
