#!/usr/bin/env bash
# Installs what Accel needs beyond the .NET 10 SDK on Debian 12: an OpenCL runtime (PoCL) for the
# opencl backend, and builds the solution. Safe to run again.
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

dotnet build Accel.sln -c Release -nologo -v quiet
