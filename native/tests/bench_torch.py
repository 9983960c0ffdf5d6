#!/usr/bin/python3
"""PyTorch CPU reference for bench_core: the same ViT + gated-attention MIL on the same work.

  /usr/bin/python3 native/tests/bench_torch.py train vit_small 8 [steps]   forward + backward + AdamW
  /usr/bin/python3 native/tests/bench_torch.py infer vit_small 16 [steps]  embeddings (no grad)

Uses the timm-equivalent model from test/fixtures/engine/make_fixtures.py. Threads: TESSERA_THREADS
(default 2). Prints one JSON line like bench_core.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../test/fixtures/engine'))
from make_fixtures import BASE, SlideModel, loss_fn  # noqa: E402

MODELS = {
    'vit_tiny': dict(BASE, img_size=224, patch_size=16, embed_dim=192, depth=12, num_heads=3, mlp_ratio=4.0),
    'vit_small': dict(BASE, img_size=224, patch_size=16, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4.0),
}


def main():
    mode, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    threads = int(os.environ.get('TESSERA_THREADS', '2'))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = SlideModel(MODELS[name], 128)
    px = torch.randint(0, 256, (n, 224, 224, 3), dtype=torch.uint8)
    slides = [(px, [1, 0])]
    if mode == 'train':
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5, foreach=False)

        def once():
            opt.zero_grad()
            loss, _, _ = loss_fn(model, slides)
            loss.backward()
            opt.step()
    else:
        model.eval()

        def once():
            with torch.no_grad():
                model.vit(px)
    once()
    t0 = time.perf_counter()
    for _ in range(steps):
        once()
    dt = (time.perf_counter() - t0) / steps
    print(json.dumps(dict(mode=mode, model=name, images=n, threads=threads, torch=torch.__version__,
                          images_per_s=round(n / dt, 3), reference='pytorch')))


if __name__ == '__main__':
    main()
