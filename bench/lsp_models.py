"""Realistic model files for the LSP benchmark: nn.Module classes with init loops.

Each block is a small, plausible model (a conv stem, a transformer block, an MLP head)
with its own ``_init_weights`` loop, so the engine sees layers, init sites, guards and
forward chains the way it does in timm- or torchvision-style code.
"""

from __future__ import annotations

HEADER = '''"""Generated model zoo for benchmarking initlint's language server."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

'''

BLOCK = '''

class ConvStem{i}(nn.Module):
    """A conv stem with batch norm and a residual projection."""

    def __init__(self, in_chans: int = 3, dim: int = {dim}, bias: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, dim // 2, kernel_size=3, stride=2, padding=1,
                               bias=bias)
        self.bn1 = nn.BatchNorm2d(dim // 2)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(dim // 2, dim, kernel_size=3, stride=2, padding=1, bias=bias)
        self.bn2 = nn.BatchNorm2d(dim)
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=1, stride=4, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.proj(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        return F.relu(x + shortcut)


class Attention{i}(nn.Module):
    """Multi-head self-attention with a fused qkv projection."""

    def __init__(self, dim: int = {dim}, num_heads: int = 8, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Block{i}(nn.Module):
    """A pre-norm transformer block: attention, then an MLP."""

    def __init__(self, dim: int = {dim}, mlp_ratio: float = 4.0, depth: int = 4):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.attn = Attention{i}(dim)
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.layers = nn.ModuleList([nn.Linear(dim, dim) for _ in range(depth)])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.apply(self._init_weights)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def _init_weights(self, m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        x = x + self.fc2(self.act(self.fc1(self.norm(x))))
        for layer in self.layers:
            x = x + layer(x)
        return x


class Head{i}(nn.Module):
    """An MLP classifier head; its init has the mistakes users make."""

    def __init__(self, dim: int = {dim}, num_classes: int = 1000):
        super().__init__()
        self.pre = nn.Linear(dim, dim)
        self.fc = nn.Linear(dim, num_classes)
        nn.init.xavier_uniform(self.pre.weight)
        nn.init.uniform_(self.fc.weight, -1 / math.sqrt(dim), 1 / math.sqrt(dim))
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.tanh(self.pre(x.mean(dim=1))))
'''


def model_file(lines: int) -> str:
    """A module of about ``lines`` lines built from the blocks above."""
    text = HEADER
    i = 0
    while text.count("\n") < lines:
        text += BLOCK.format(i=i, dim=64 * (1 + i % 8))
        i += 1
    return text


def block_lines() -> int:
    return BLOCK.count("\n")
