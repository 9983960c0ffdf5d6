#!/usr/bin/python3
"""PyTorch CPU reference for `npm run bench -- engine` (run by engine.bench.ts, not by hand).

Times the same models the engine runs: a timm-style ViT (training through a gated-attention MIL aggregator
and two heads, with AdamW, on one slide of N patches; inference of the encoder alone) and exports the encoder
to ONNX for onnxruntime-node. The modules come from test/fixtures/engine/make_fixtures.py (timm semantics and
parameter names). Prints one JSON object, with the kernels in use: OpenBLAS's core (openblas_get_corename) and
ATen's CPU capability.

Usage: /usr/bin/python3 engine_reference.py --dim 192 --heads 3 --depth 12 --img 224 --patch 16
           --threads 2 --batch 8 --seconds 6 [--onnx out.onnx]
       /usr/bin/python3 engine_reference.py --kernels     the kernels in use only
       /usr/bin/python3 engine_reference.py --check DIR   checks this environment's kernels: every engine fixture in
           DIR (embeddings, loss, every gradient against the stored PyTorch results) and bench-sized matrix products
           against float64, all within relative L2 error 1e-4
The kernels follow the environment (OPENBLAS_CORETYPE, ATEN_CPU_CAPABILITY); the benchmark picks it.
"""
import argparse
import ctypes
import json
import math
import os
import struct
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


def kernels():
    """OpenBLAS's core and configuration as loaded in this process, and ATen's CPU capability."""
    out = {'torch': torch.__version__, 'openblas_core': None, 'openblas_config': None, 'aten_capability': None}
    with open('/proc/self/maps') as f:
        libs = sorted({line.split()[-1] for line in f if 'openblas' in line and line.rstrip().endswith('.so') or
                       'openblas' in line and '.so.' in line})
    for lib in libs:
        try:
            h = ctypes.CDLL(lib)
            h.openblas_get_corename.restype = ctypes.c_char_p
            h.openblas_get_config.restype = ctypes.c_char_p
            out['openblas_core'] = h.openblas_get_corename().decode()
            out['openblas_config'] = h.openblas_get_config().decode()
            break
        except (OSError, AttributeError):
            continue
    for line in torch.__config__.show().splitlines():
        if 'CPU capability usage' in line:
            out['aten_capability'] = line.split(':', 1)[1].strip()
    return out


def read_fixture(path):
    """The TSFX files of test/fixtures/engine (format in make_fixtures.py)."""
    dtypes = {0: torch.float32, 1: torch.uint8, 2: torch.int32}
    sizes = {0: 4, 1: 1, 2: 4}
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:4] == b'TSFX', path
    _, count = struct.unpack_from('<II', data, 4)
    pos, out = 12, {}
    for _ in range(count):
        (n,) = struct.unpack_from('<I', data, pos)
        name = data[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        dt, nd = struct.unpack_from('<BB', data, pos)
        pos += 2
        shape = struct.unpack_from('<' + 'q' * nd, data, pos)
        pos += 8 * nd
        nbytes = sizes[dt] * math.prod(shape)
        out[name] = torch.frombuffer(bytearray(data[pos:pos + nbytes]), dtype=dtypes[dt]).reshape(shape)
        pos += nbytes
    return out


def rel_l2(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    den = b.norm()
    return float((a - b).norm() / (den if den > 0 else 1))


def check(fixture_dir):
    """Fixtures and bench-sized GEMMs in this environment; returns the worst relative L2 errors."""
    from make_fixtures import loss_fn  # noqa: E402
    worst = {'fixtures': 0.0, 'gemm': 0.0}
    names = sorted(f for f in os.listdir(fixture_dir) if f.startswith('vit_') and f.endswith('.bin'))
    for name in names:
        fx = read_fixture(os.path.join(fixture_dir, name))
        c = {k[4:]: v for k, v in fx.items() if k.startswith('cfg.') and k != 'cfg.agg_hidden'}
        cfg = {k: (v.tolist() if k in ('mean', 'std') else float(v[0])) for k, v in c.items()}
        for k in ('img_size', 'patch_size', 'embed_dim', 'depth', 'num_heads', 'reg_tokens'):
            cfg[k] = int(cfg[k])
        for k in ('qkv_bias', 'no_embed_class', 'class_token', 'fc_norm'):
            cfg[k] = bool(cfg[k])
        cfg['mlp'] = ['gelu', 'swiglu_packed', 'swiglu'][int(fx['cfg.mlp'][0])]
        cfg['global_pool'] = ['token', 'avg', 'token+avg'][int(fx['cfg.global_pool'][0])]
        model = SlideModel(cfg, int(fx['cfg.agg_hidden'][0]))
        params = dict(model.named_engine_params())
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(fx['param.' + n])
        slides, i = [], 0
        while f'input.slide{i}.pixels' in fx:
            slides.append((fx[f'input.slide{i}.pixels'], fx[f'input.slide{i}.labels'].tolist()))
            i += 1
        loss, _, outs = loss_fn(model, slides)
        model.zero_grad()
        loss.backward()
        errs = [rel_l2(loss.detach().reshape(1), fx['out.loss'])]
        errs += [rel_l2(h.detach(), fx[f'out.slide{j}.embeddings']) for j, (h, _, _) in enumerate(outs)]
        errs += [rel_l2(p.grad, fx['grad.' + n]) for n, p in params.items()]
        worst['fixtures'] = max(worst['fixtures'], max(errs))
    gen = torch.Generator().manual_seed(0)
    for m, k, n in ((1576, 384, 1536), (1576, 1536, 384), (1576, 192, 576), (384, 1576, 1536)):
        a = torch.randn(m, k, generator=gen)
        w = torch.randn(n, k, generator=gen)
        got = F.linear(a, w)
        worst['gemm'] = max(worst['gemm'], rel_l2(got, a.double() @ w.double().t()))
    worst['ok'] = worst['fixtures'] <= 1e-4 and worst['gemm'] <= 1e-4
    worst['fixture_files'] = len(names)
    return worst


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--kernels':
        print(json.dumps(kernels()))
        return
    if len(sys.argv) > 2 and sys.argv[1] == '--check':
        torch.set_num_threads(2)
        out = check(sys.argv[2])
        out.update(kernels())
        print(json.dumps(out))
        return
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
    out = {'threads': torch.get_num_threads(), **kernels()}

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
