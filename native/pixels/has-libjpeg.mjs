// Prints 1 when libjpeg's headers are on the C++ compiler's include path (binding.gyp then compiles
// partial JPEG decoding into tessera_pixels), else 0. TESSERA_NO_LIBJPEG=1 forces 0, to test the fallback.
import { spawnSync } from 'node:child_process';

function hasLibjpeg() {
  if (process.env.TESSERA_NO_LIBJPEG === '1' || process.platform === 'win32') return false;
  const cxx = process.env.CXX || 'c++';
  const r = spawnSync(cxx, ['-E', '-x', 'c++', '-'], {
    input: '#include <cstdio>\n#include <jpeglib.h>\n',
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  return r.status === 0;
}

process.stdout.write(hasLibjpeg() ? '1' : '0');
