#!/usr/bin/python3
"""PyTorch CPU reference for `npm run bench -- engine` (run by engine.bench.ts, not by hand).

Times the same models the engine runs: a timm-style ViT (training through a gated-attention MIL aggregator
and two heads, with AdamW, on one slide of N patches; inference of the encoder alone) and exports the encoder
to ONNX for onnxruntime-node. The modules come from test/fixtures/engine/make_fixtures.py (timm semantics and
parameter names). Prints one JSON object.

Usage: /usr/bin/python3 engine_reference.py --dim 192 --heads 3 --depth 12 --img 224 --patch 16
           --threads 2 --batch 8 --seconds 6 [--onnx out.onnx]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'fixtures', 'engine'))
from make_fixtures import SlideModel  # noqa: E402


def config(a):
    return dict(img_size=a.img, patch_size=a.patch, embed_dim=a.dim, depth=a.depth, num_heads=a.heads,
                mlp_ratio=4.0, qkv_bias=True, init_values=0.0, reg_tokens=0, no_embed_class=False,
                class_token=True, global_pool='token', fc_norm=False, norm_eps=1e-6, mlp='gelu',
                mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])


def timed(fn, seconds, min_iters=2):
    """Seconds of the fastest call after one warm-up, calling for `seconds` (at least min_iters times)."""
    fn()
    best, n, start = float('inf'), 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        n += 1
    return best


def main():
    p = argparse.ArgumentParser()
    for k, d in [('dim', 192), ('heads', 3), ('depth', 12), ('img', 224), ('patch', 16), ('threads', 2),
                 ('batch', 8)]:
        p.add_argument('--' + k, type=int, default=d)
    p.add_argument('--seconds', type=float, default=6.0)
    p.add_argument('--onnx', default='')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = SlideModel(config(a), 128)
    pixels = torch.randint(0, 256, (a.batch, a.img, a.img, 3), dtype=torch.uint8)
    out = {'torch': torch.__version__, 'threads': torch.get_num_threads()}

    model.eval()
    with torch.inference_mode():
        t = timed(lambda: model.vit(pixels), a.seconds)
    out['infer_images_per_s'] = a.batch / t

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

    def step():
        h = model.vit(pixels)
        z, _ = model.aggregator(h)
        logit = model.heads['msi'](z)
        loss = F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t = timed(step, a.seconds)
    out['train_images_per_s'] = a.batch / t

    if a.onnx:
        model.eval()
        torch.onnx.export(model.vit, (pixels[:1],), a.onnx, input_names=['pixels'], output_names=['embedding'],
                          dynamic_axes={'pixels': {0: 'batch'}, 'embedding': {0: 'batch'}}, opset_version=14)
        out['onnx'] = a.onnx
    print(json.dumps(out))


if __name__ == '__main__':
    main()
