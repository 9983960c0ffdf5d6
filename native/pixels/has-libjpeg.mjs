// Prints 1 when libjpeg's headers are on the C++ compiler's include path (binding.gyp then compiles
// partial JPEG decoding into tessera_pixels), else 0. TESSERA_WITHOUT=libjpeg (a comma-separated list, see
// src-main/slides/optional-libraries.ts) forces 0, as on a machine without libjpeg62-turbo-dev.
import { spawnSync } from 'node:child_process';

function hasLibjpeg() {
  const hidden = (process.env.TESSERA_WITHOUT ?? '').split(',').map((name) => name.trim());
  if (hidden.includes('libjpeg') || process.platform === 'win32') return false;
  const cxx = process.env.CXX || 'c++';
  const r = spawnSync(cxx, ['-E', '-x', 'c++', '-'], {
    input: '#include <cstdio>\n#include <jpeglib.h>\n',
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  return r.status === 0;
}

process.stdout.write(hasLibjpeg() ? '1' : '0');
