"""OpenSlide side of `npm run bench -- slides`: the same requests as the Tessera side, timed here.

usage: slides-openslide.py REQUESTS.json  -> prints one JSON object of results
REQUESTS.json: {"slide": path, "threads": n, "kind": "dz" | "region", "tile_size": 254, "overlap": 1,
                "warmup": [item, ...], "passes": [[item, ...], ...]}
with items [level, col, row] (dz) or [x, y, size] (region). As on the Tessera side, the warm-up runs on a
throwaway handle and every pass on the slide opened afresh (OpenSlide 3.4's tile cache belongs to the
handle, so each pass starts cold); only the passes are timed.
DeepZoomGenerator tiles are encoded as JPEG quality 75, as OpenSlide's own Deep Zoom server does.
"""
import io
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openslide
from openslide.deepzoom import DeepZoomGenerator

req = json.load(open(sys.argv[1]))


def run_pass(items, pool):
    slide = openslide.OpenSlide(req['slide'])
    dz = DeepZoomGenerator(slide, tile_size=req.get('tile_size', 254), overlap=req.get('overlap', 1),
                           limit_bounds=False)

    def dz_tile(item):
        level, col, row = item
        t = time.perf_counter()
        buf = io.BytesIO()
        dz.get_tile(level, (col, row)).save(buf, 'jpeg', quality=75)
        return time.perf_counter() - t

    def region(item):
        x, y, size = item
        t = time.perf_counter()
        slide.read_region((x, y), 0, (size, size)).tobytes()
        return time.perf_counter() - t

    work = dz_tile if req['kind'] == 'dz' else region
    start = time.perf_counter()
    cpu_start = time.process_time()
    latencies = list(pool.map(work, items))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    slide.close()
    return latencies, wall, cpu


latencies, wall, cpu = [], 0.0, 0.0
with ThreadPoolExecutor(max_workers=req['threads']) as pool:
    run_pass(req['warmup'], pool)
    for items in req['passes']:
        lat, w, c = run_pass(items, pool)
        latencies += lat
        wall += w
        cpu += c
print(json.dumps({'wall_s': wall, 'cpu_s': cpu, 'latencies_s': latencies, 'openslide': openslide.__library_version__}))
