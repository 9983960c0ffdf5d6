"""Python side of `npm run bench -- training`: the patch reads of a CLAM / Trident style pipeline, timed.

usage: training-openslide.py REQUESTS.json  -> prints one JSON object of results
REQUESTS.json: {"slide": path, "threads": n, "level": L, "read_size": r, "patch_size": s,
                "warmup": [[x, y], ...], "passes": [[[x, y], ...], ...]}
Each patch: OpenSlide read_region((x, y), level, (r, r)), convert('RGB'), Pillow resize to s x s with
LANCZOS where r != s, then the bytes (what a DataLoader hands to torch). As on the Tessera side, the warm-up
runs on a throwaway handle and every pass on the slide opened afresh (OpenSlide's tile cache belongs to the
handle, so each pass starts cold); only the passes are timed.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openslide
from PIL import Image

req = json.load(open(sys.argv[1]))
level, r, s = req['level'], req['read_size'], req['patch_size']


def run_pass(items, pool):
    slide = openslide.OpenSlide(req['slide'])

    def patch(item):
        im = slide.read_region((item[0], item[1]), level, (r, r)).convert('RGB')
        if r != s:
            im = im.resize((s, s), Image.LANCZOS)
        return len(im.tobytes())

    start = time.perf_counter()
    cpu_start = time.process_time()
    total = sum(pool.map(patch, items))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    slide.close()
    assert total == len(items) * s * s * 3
    return wall, cpu


wall, cpu = 0.0, 0.0
with ThreadPoolExecutor(max_workers=req['threads']) as pool:
    run_pass(req['warmup'], pool)
    for items in req['passes']:
        w, c = run_pass(items, pool)
        wall += w
        cpu += c
print(json.dumps({'wall_s': wall, 'cpu_s': cpu, 'openslide': openslide.__library_version__}))
