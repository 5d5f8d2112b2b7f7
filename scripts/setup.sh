#!/usr/bin/env bash
# Installs what Accel needs beyond the .NET 10 SDK on Debian 12: an OpenCL runtime (PoCL) for the
# opencl backend, a C compiler and Debian's numpy and torch for embedding Accel in C and Python
# (ACCEL_SETUP_TORCH=0 skips torch, about 150 MB), builds the solution and libaccel.so. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: not root and no sudo; install pocl-opencl-icd and ocl-icd-libopencl1 yourself" >&2
  fi
fi

if command -v apt-get >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL.so.1' ; then
  $SUDO apt-get update -qq || true
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pocl-opencl-icd ocl-icd-libopencl1 >/dev/null \
    || echo "setup: could not install PoCL; the opencl backend will report itself absent" >&2
elif command -v apt-get >/dev/null 2>&1 && ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
  $SUDO apt-get update -qq || true
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pocl-opencl-icd >/dev/null \
    || echo "setup: could not install PoCL; the opencl backend will report itself absent" >&2
fi

if [ -x tools/get-ptxas.sh ]; then
  tools/get-ptxas.sh || echo "setup: ptxas not available; the PTX assembly test will be skipped" >&2
fi

# Embedding: a C compiler for libaccel.so and the samples; numpy (and torch) for the Python package's tests.
embedding_packages=""
command -v cc > /dev/null 2>&1 && command -v c++ > /dev/null 2>&1 && command -v make > /dev/null 2>&1 \
  || embedding_packages="gcc g++ make"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import numpy" 2> /dev/null || embedding_packages="$embedding_packages python3-numpy"
if [ "${ACCEL_SETUP_TORCH:-1}" = "1" ] && ! /usr/bin/python3 -c "import torch" 2> /dev/null; then
  embedding_packages="$embedding_packages python3-torch"
fi
if [ -n "$embedding_packages" ] && command -v apt-get > /dev/null 2>&1; then
  $SUDO apt-get update -qq || true
  # shellcheck disable=SC2086 # a list of package names
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $embedding_packages > /dev/null \
    || echo "setup: could not install$embedding_packages; the C or Python embedding tests will be skipped or fail" >&2
fi

dotnet build Accel.sln -c Release -nologo -v quiet
make -C native -s --no-print-directory
