"""Reference patches as CLAM and Trident read them: OpenSlide read_region, convert('RGB'), Pillow resize
with LANCZOS where the read size differs from the patch size.

usage: patches_reference.py SLIDE LEVEL READ_SIZE PATCH_SIZE COORDS OUT
COORDS: little-endian int32 pairs (level-0 x, y); OUT: the patches' RGB bytes, one after another."""
import struct
import sys

import openslide
from PIL import Image

slide_path, level, read_size, patch_size, coords_path, out_path = sys.argv[1:7]
level, read_size, patch_size = int(level), int(read_size), int(patch_size)
raw = open(coords_path, 'rb').read()
coords = struct.unpack('<%di' % (len(raw) // 4), raw)
slide = openslide.OpenSlide(slide_path)
with open(out_path, 'wb') as out:
    for i in range(0, len(coords), 2):
        im = slide.read_region((coords[i], coords[i + 1]), level, (read_size, read_size)).convert('RGB')
        if read_size != patch_size:
            im = im.resize((patch_size, patch_size), Image.LANCZOS)
        out.write(im.tobytes())
