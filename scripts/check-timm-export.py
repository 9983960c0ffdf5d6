#!/usr/bin/env python3
"""Checks a `tessera export safetensors` folder in PyTorch: builds timm's VisionTransformer in plain torch, with
timm's module (and so parameter) names, from the folder's config.json; loads model.safetensors with
load_state_dict(strict=True), so every tensor must be there under timm's name with timm's shape and nothing else;
embeds the given patches and compares with the embeddings Tessera's engine computed.

  /usr/bin/python3 scripts/check-timm-export.py FOLDER PIXELS.npy EMBEDDINGS.npy [--tol 1e-4] [--eps 1e-6]

PIXELS.npy: uint8 (N, H, W, 3) RGB patches; EMBEDDINGS.npy: float32 (N, D). Prints the relative L2 error and
exits 1 above the tolerance. Needs torch and numpy only (timm itself is not needed; with timm installed,
timm.create_model(..., pretrained_cfg_overlay=dict(file=FOLDER + '/model.safetensors')) loads the same file).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

DTYPES = {'F32': np.float32, 'F16': np.float16}


def read_safetensors(path):
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        a, b = t['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=DTYPES[t['dtype']]).astype(np.float32).reshape(t['shape']).copy())
    return out


class Attention(nn.Module):
    def __init__(self, dim, heads, qkv_bias):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, T, C = x.shape
        qkv = self.qkv(x).reshape(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * (C // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, T, C))


class LayerScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Mlp(nn.Module):  # timm Mlp (GELU) and GluMlp / SwiGLUPacked (fc1 -> [gate | value], SiLU)
    def __init__(self, dim, hidden, packed_glu):
        super().__init__()
        self.packed_glu = packed_glu
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden // 2 if packed_glu else hidden, dim)

    def forward(self, x):
        x = self.fc1(x)
        if self.packed_glu:
            g, v = x.chunk(2, dim=-1)
            return self.fc2(nn.functional.silu(g) * v)
        return self.fc2(nn.functional.gelu(x))


class SwiGLU(nn.Module):  # timm SwiGLU: fc1_g, fc1_x
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1_g = nn.Linear(dim, hidden)
        self.fc1_x = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(nn.functional.silu(self.fc1_g(x)) * self.fc1_x(x))


class Block(nn.Module):
    def __init__(self, a, eps):
        super().__init__()
        dim = a['embed_dim']
        hidden = int(dim * a.get('mlp_ratio', 4.0))
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, a['num_heads'], a.get('qkv_bias', True))
        ls = a.get('init_values')
        self.ls1 = LayerScale(dim) if ls else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        layer = a.get('mlp_layer', 'Mlp').split('.')[-1].lower()
        self.mlp = SwiGLU(dim, hidden) if layer == 'swiglu' else Mlp(dim, hidden, layer == 'swiglupacked')
        self.ls2 = LayerScale(dim) if ls else nn.Identity()

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, p, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, p, p)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    """timm's VisionTransformer (num_classes=0) for the arguments Tessera's engine supports."""

    def __init__(self, a, eps):
        super().__init__()
        dim, p, img = a['embed_dim'], a['patch_size'], a['img_size']
        self.a = a
        self.class_token = a.get('class_token', True)
        self.reg = a.get('reg_tokens', 0) or 0
        self.no_embed_class = a.get('no_embed_class', False)
        self.pool = a.get('global_pool', 'token')
        self.prefix = int(self.class_token) + self.reg
        n = (img // p) ** 2
        self.patch_embed = PatchEmbed(p, dim)
        if self.class_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        if self.reg:
            self.reg_token = nn.Parameter(torch.zeros(1, self.reg, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n if self.no_embed_class else n + self.prefix, dim))
        self.blocks = nn.Sequential(*[Block(a, eps) for _ in range(a['depth'])])
        if a.get('fc_norm'):
            self.fc_norm = nn.LayerNorm(dim, eps=eps)
        else:
            self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x):
        x = self.patch_embed(x)
        B = x.shape[0]
        prefix = []
        if self.class_token:
            prefix.append(self.cls_token.expand(B, -1, -1))
        if self.reg:
            prefix.append(self.reg_token.expand(B, -1, -1))
        if self.no_embed_class:
            x = torch.cat(prefix + [x + self.pos_embed], 1)
        else:
            x = torch.cat(prefix + [x], 1) + self.pos_embed
        x = self.blocks(x)
        if not self.a.get('fc_norm'):
            x = self.norm(x)
        parts = []
        if self.pool in ('token', 'token+avg'):
            parts.append(x[:, 0])
        if self.pool in ('avg', 'token+avg'):
            parts.append(x[:, self.prefix:].mean(1))
        if self.a.get('fc_norm'):
            parts = [self.fc_norm(t) for t in parts]
        return torch.cat(parts, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('folder')
    ap.add_argument('pixels')
    ap.add_argument('embeddings')
    ap.add_argument('--tol', type=float, default=1e-4)
    ap.add_argument('--eps', type=float, default=None, help='LayerNorm eps (default: 1e-5 for DINOv2 architectures, else 1e-6, as timm)')
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    cfg = json.load(open(os.path.join(args.folder, 'config.json')))
    a = dict(cfg['model_args'])
    a.setdefault('global_pool', cfg.get('global_pool', 'token'))
    eps = args.eps if args.eps is not None else (1e-5 if 'dinov2' in cfg['architecture'] else 1e-6)
    model = VisionTransformer(a, eps).eval()
    state = read_safetensors(os.path.join(args.folder, 'model.safetensors'))
    model.load_state_dict(state, strict=True)  # timm's names and shapes, nothing missing or left over
    pc = cfg['pretrained_cfg']
    mean = torch.tensor(pc['mean'], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(pc['std'], dtype=torch.float32).view(1, 3, 1, 1)
    pixels = torch.from_numpy(np.load(args.pixels)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        out = model((pixels / 255.0 - mean) / std).numpy()
    ref = np.load(args.embeddings).astype(np.float32)
    if out.shape != ref.shape:
        print(f'shape {out.shape} differs from the engine\'s {ref.shape}')
        sys.exit(1)
    rel = float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-30))
    print(json.dumps({'architecture': cfg['architecture'], 'tensors': len(state), 'relL2': rel}))
    sys.exit(0 if rel <= args.tol and math.isfinite(rel) else 1)


if __name__ == '__main__':
    main()
