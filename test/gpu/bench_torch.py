#!/usr/bin/env python3
"""PyTorch on the same GPU, the reference side of test/gpu/run.sh's benchmark (one JSON line per measurement).

  python3 test/gpu/bench_torch.py matmul                                bf16 matrix-product rate, 8192^3
  python3 test/gpu/bench_torch.py train MODEL B eager|compile [steps]  training images/s

train: timm's ViT (vit_small_patch16_224 / vit_base_patch16_224, no classifier, its fused attention) with the same
gated-attention MIL aggregator and two task heads as the engine's model (test/fixtures/engine/make_fixtures.py), on
one slide of B uint8 patches normalised on the GPU, under bf16 autocast with fp32 master weights and the fused AdamW:
the work of bench_core's "train MODEL B B" (forward + backward + AdamW, no recompute). 'compile' runs the ViT
through torch.compile (default mode). Times are wall clock around `steps` steps after warm-up, synchronised.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../fixtures/engine'))
from make_fixtures import Aggregator  # noqa: E402

MODELS = {'vit_small': ('vit_small_patch16_224', 384, 12, 1536), 'vit_base': ('vit_base_patch16_224', 768, 12, 3072)}


def matmul_rate():
    n = 8192
    a = torch.randn(n, n, device='cuda', dtype=torch.bfloat16)
    b = torch.randn(n, n, device='cuda', dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(10):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        a @ b
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e) / 1e3)
    t = sorted(times)[len(times) // 2]
    return dict(mode='matmul', n=n, dtype='bf16', tflops=round(2 * n ** 3 / t / 1e12, 1),
                device=torch.cuda.get_device_name(), torch=torch.__version__)


def forward_flops(dim, depth, hidden, img=224, patch=16):
    """Matrix-product FLOPs per image, forward (bench_core's count: patch embedding, linears, attention)."""
    p = (img // patch) ** 2
    t = p + 1
    return 2.0 * (p * 3 * patch * patch * dim + depth * (t * (4 * dim * dim + 2 * dim * hidden) + 2 * t * t * dim))


def train(name, batch, how, steps):
    import timm

    timm_name, dim, depth, hidden = MODELS[name]
    torch.manual_seed(0)
    vit = timm.create_model(timm_name, pretrained=False, num_classes=0).cuda()
    agg = Aggregator(dim, 128).cuda()
    heads = torch.nn.ModuleList([torch.nn.Linear(dim, 1), torch.nn.Linear(dim, 3)]).cuda()
    params = list(vit.parameters()) + list(agg.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.05, fused=True)
    encoder = torch.compile(vit) if how == 'compile' else vit
    mean = torch.tensor([0.485, 0.456, 0.406], device='cuda').view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device='cuda').view(1, 3, 1, 1)
    px = torch.randint(0, 256, (batch, 224, 224, 3), dtype=torch.uint8, device='cuda')
    y_bin = torch.tensor([1.0], device='cuda')
    y_cat = torch.tensor([2], device='cuda')

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast('cuda', dtype=torch.bfloat16):
            x = (px.permute(0, 3, 1, 2).float() / 255.0 - mean) / std
            h = encoder(x)
            z, _ = agg(h)
            loss = F.binary_cross_entropy_with_logits(heads[0](z).float(), y_bin) + \
                0.5 * F.cross_entropy(heads[1](z).float().unsqueeze(0), y_cat)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    warmup = time.perf_counter() - t0
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / steps
    flops = 3.0 * forward_flops(dim, depth, hidden) * batch
    return dict(mode='train', model=name, reference='pytorch-' + how, images=batch, images_per_s=round(batch / dt, 1),
                tflops=round(flops / dt / 1e12, 1), warmup_s=round(warmup, 1),
                peak_device_mb=round(torch.cuda.max_memory_allocated() / 2 ** 20, 1), torch=torch.__version__)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ('matmul', 'train'):
        sys.exit(__doc__)
    if sys.argv[1] == 'matmul':
        r = matmul_rate()
    else:
        name, batch, how = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        steps = int(sys.argv[5]) if len(sys.argv) > 5 else 10
        r = train(name, batch, how, steps)
    print(json.dumps(r), flush=True)


if __name__ == '__main__':
    main()
