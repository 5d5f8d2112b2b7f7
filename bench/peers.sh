#!/usr/bin/env bash
# Runs the same MoE layer in Accel's CPU backend, ONNX Runtime, TorchSharp and ggml in one process,
# alternating the engines round after round, and prints medians, ranges and ratios per token count,
# and each ggml format against Accel's matched format (f32/f32, bf16/bf16, q8_0/fp8, mxfp4/fp4).
#   bench/peers.sh [--tokens 1,16,128,1024] [--threads 2] [--rounds 3] [--runs 5] [--hot] [--extra bf16,fp8,fp4]
#                  [--peers ort,torch,ggml] [--ggml-formats f32,bf16,q8_0,mxfp4] [--ggml-repack on|off]
#                  [--ggml-poll 0..100] [--preset v4-flash] [--moments] ...
# --moments also times each run's cache eviction (30 ms after the run before, so no idle thread
# slows it) and holds every run to the bandwidth it read; the runs then start after that idle spell.
# Results go to bench/results/peers-<date>.json and a roofline plot to bench/results/roofline-<date>.png.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
mkdir -p "$out"
stamp=$(date -u +%Y%m%d-%H%M%S)
# The ggml peer's prebuilt libraries (git-ignored); without them that peer is reported as skipped.
bench/fetch-ggml.sh || echo "fetching ggml failed; the ggml peer will be skipped" >&2
dotnet build -c Release bench/Peers/Accel.Peers.csproj -nologo -v quiet >/dev/null
bin=bench/Peers/bin/Release/net10.0
preload=""
# TorchSharp-cpu 0.107.0's libLibTorchSharp.so asks for GLIBCXX_3.4.32 (GCC 13) for one symbol,
# std::ios_base_library_init(); Debian 12 ships GLIBCXX_3.4.30. If that is the only thing missing,
# retarget that one reference to the system library and supply the symbol from a two-line shim
# (it initialises the iostreams, which GCC 12's libstdc++ already does itself).
lib=$bin/cpu/libLibTorchSharp.so
# (ldd's output is captured first: with pipefail, grep -q closing the pipe early would fail the test.)
deps=$( [ -f "$lib" ] && ldd "$lib" 2>&1 || true)
if [[ "$deps" == *"GLIBCXX_3.4.32' not found"* ]]; then
  if command -v patchelf >/dev/null && command -v g++ >/dev/null; then
    shim=$bin/cpu/libiosinit.so
    printf '#include <ios>\nnamespace std { void ios_base_library_init() { static ios_base::Init init; } }\n' > "$bin/cpu/iosinit.cpp"
    g++ -shared -fPIC -O2 -o "$shim" "$bin/cpu/iosinit.cpp"
    patchelf --clear-symbol-version _ZSt21ios_base_library_initv "$lib"
    python3 bench/retarget_glibcxx.py "$lib"
  else
    echo "TorchSharp needs GLIBCXX_3.4.32; install patchelf and g++ to shim it, or it will be reported as skipped." >&2
  fi
fi
[ -f "$bin/cpu/libiosinit.so" ] && preload="$(pwd)/$bin/cpu/libiosinit.so"
# A run that stops early (bad arguments, a failed check) leaves no results file behind; what it
# printed stays on the console.
status=0
LD_PRELOAD="$preload" dotnet "$bin/accel-peers.dll" --json "$out/peers-$stamp.json" --plot "$out/roofline-$stamp.png" "$@" \
  | tee "$out/peers-$stamp.txt" || status=$?
if [ "$status" -ne 0 ]; then
  rm -f "$out/peers-$stamp.txt" "$out/peers-$stamp.json" "$out/roofline-$stamp.png"
  exit "$status"
fi
