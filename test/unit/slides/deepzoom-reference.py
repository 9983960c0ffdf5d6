"""Writes OpenSlide DeepZoomGenerator tiles (openslide-python) for the Deep Zoom tests.

usage: deepzoom-reference.py SLIDE OUT_DIR TILE_SIZE OVERLAP LEVEL:COL:ROW...
Prints a JSON line with level_count, level_dimensions and level_tiles; writes OUT_DIR/L_C_R.png
(PNG, so the comparison sees OpenSlide's pixels before JPEG encoding).
"""
import json
import sys

import openslide
from openslide.deepzoom import DeepZoomGenerator

slide, out, size, overlap = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
dz = DeepZoomGenerator(openslide.OpenSlide(slide), tile_size=size, overlap=overlap, limit_bounds=False)
for spec in sys.argv[5:]:
    level, col, row = (int(v) for v in spec.split(':'))
    dz.get_tile(level, (col, row)).save(f'{out}/{level}_{col}_{row}.png')
print(json.dumps({
    'level_count': dz.level_count,
    'level_dimensions': dz.level_dimensions,
    'level_tiles': dz.level_tiles,
}))
