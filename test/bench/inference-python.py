"""Python side of `npm run bench -- inference`: whole-slide inference the way CLAM and Trident extract features,
timed: tissue detection on a low-resolution level (saturation, Otsu's threshold), patch reads with OpenSlide
(read_region, convert('RGB'), Pillow LANCZOS resize) by a thread pool that reads the next batch while PyTorch
encodes this one (a DataLoader's prefetch), the ViT in PyTorch (loaded from the `tessera export safetensors`
folder with timm's parameter names, scripts/check-timm-export.py), then the gated-attention aggregator.

usage: inference-python.py REQUEST.json  -> prints one JSON object
REQUEST.json: {"slide", "timm_folder", "threads", "level", "read_size", "patch_size", "batch", "coords": [[x, y], ...]}
"""
import importlib.util
import json
import os
import struct
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import openslide
import torch
from PIL import Image

req = json.load(open(sys.argv[1]))
torch.set_num_threads(req['threads'])
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('timm_check', os.path.join(here, '..', '..', 'scripts', 'check-timm-export.py'))
timm_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(timm_check)

folder = req['timm_folder']
cfg = json.load(open(os.path.join(folder, 'config.json')))
model = timm_check.VisionTransformer(cfg['model_args'], 1e-6).eval()
model.load_state_dict(timm_check.read_safetensors(os.path.join(folder, 'model.safetensors')), strict=True)
agg = timm_check.read_safetensors(os.path.join(folder, 'aggregator.safetensors'))
head = [k[len('heads.'):-len('.weight')] for k in agg if k.startswith('heads.') and k.endswith('.weight')][0]
mean = torch.tensor(cfg['pretrained_cfg']['mean']).view(1, 3, 1, 1)
std = torch.tensor(cfg['pretrained_cfg']['std']).view(1, 3, 1, 1)


def tissue(slide):
    """CLAM-style: the level nearest 8 µm/px (coarsest at least that fine), saturation, Otsu."""
    mpp = float(slide.properties.get('openslide.mpp-x', 0.25))
    level = max([i for i, d in enumerate(slide.level_downsamples) if d * mpp <= 8.0] or [0])
    w, h = slide.level_dimensions[level]
    rgb = np.asarray(slide.read_region((0, 0), level, (w, h)).convert('RGB'), dtype=np.float32)
    mx, mn = rgb.max(2), rgb.min(2)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1), 0)
    hist, edges = np.histogram(sat, bins=256, range=(0, 1))
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * edges[:-1])
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    t = edges[np.argmax(w0 * w1 * (mu0 - mu1) ** 2)]
    return float((sat > t).mean())


with torch.no_grad():  # warm-up, untimed (the Tessera side warms up its encoders too)
    model(torch.zeros(req['batch'], 3, req['patch_size'], req['patch_size']))

slide = openslide.OpenSlide(req['slide'])
level, r, s, B = req['level'], req['read_size'], req['patch_size'], req['batch']
t0 = time.perf_counter()
cpu0 = time.process_time()
tissue_fraction = tissue(slide)
t_tissue = time.perf_counter() - t0


def read(xy):
    im = slide.read_region((xy[0], xy[1]), level, (r, r)).convert('RGB')
    if r != s:
        im = im.resize((s, s), Image.LANCZOS)
    return np.asarray(im)


coords = req['coords']
batches = [coords[i:i + B] for i in range(0, len(coords), B)]
t1 = time.perf_counter()
feats = []
with ThreadPoolExecutor(max_workers=req['threads']) as pool:
    pending = pool.map(read, batches[0]) if batches else None
    for i in range(len(batches)):
        pixels = np.stack(list(pending))
        if i + 1 < len(batches):
            pending = pool.map(read, batches[i + 1])  # read ahead while torch encodes
        x = (torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0 - mean) / std
        with torch.no_grad():
            feats.append(model(x))
with torch.no_grad():
    h = torch.cat(feats)
    a = torch.tanh(h @ agg['aggregator.attention_a.weight'].T + agg['aggregator.attention_a.bias'])
    g = torch.sigmoid(h @ agg['aggregator.attention_b.weight'].T + agg['aggregator.attention_b.bias'])
    attn = torch.softmax((a * g) @ agg['aggregator.attention_c.weight'].T, 0).flatten()
    z = attn @ h
    p = torch.sigmoid(z @ agg[f'heads.{head}.weight'].T + agg[f'heads.{head}.bias'])
t_patches = time.perf_counter() - t1
print(json.dumps({
    'tissue_s': t_tissue, 'patches_s': t_patches, 'cpu_s': time.process_time() - cpu0, 'tissue_fraction': tissue_fraction,
    'probability': float(p[0]), 'attention': attn.tolist(), 'torch': torch.__version__, 'openslide': openslide.__library_version__,
}))
