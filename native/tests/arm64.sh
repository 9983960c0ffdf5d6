#!/bin/bash
# Cross-builds the engine core and its test driver for aarch64 (the portable kernels: the x86 ones are compiled
# out there) with Debian's g++-aarch64-linux-gnu, and runs every engine-core check under qemu-user against the
# PyTorch fixtures:
#   native/tests/arm64.sh [outdir]        (needs: apt-get install g++-aarch64-linux-gnu qemu-user)
# Prints the driver's PASS/FAIL lines and SUMMARY; exits with its status, or 2 when the tools are missing.
set -e
here=$(cd "$(dirname "$0")" && pwd)
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  if ! command -v "$tool" >/dev/null; then
    echo "arm64.sh: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)" >&2
    exit 2
  fi
done
out=${1:-$(mktemp -d)}
CXX=aarch64-linux-gnu-g++ CXXFLAGS=${CXXFLAGS:--O2} "$here/build.sh" "$out" >/dev/null
# -L: the aarch64 sysroot (dynamic loader, libc, libstdc++) installed with the cross compiler.
# TESSERA_UNDER_QEMU: qemu-user answers /proc/self/smaps itself (the host-memory check skips the huge-page advice).
exec env TESSERA_UNDER_QEMU=1 qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/engine_core_test" "$here/../../test/fixtures/engine"
