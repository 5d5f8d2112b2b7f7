#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU and its driver, but no .NET and no network.
# Unpacks the self-contained build made by bench/gpu/pack.sh and runs, within 5 minutes:
#   1. the device list,
#   2. the quick CUDA conformance cases (every op against the reference),
#   3. a MoE layer benchmark at a DeepSeek-V4-Flash shape (hidden 4096, expert width 2048,
#      256 experts, top-6, 1 shared expert, FP8 weights) for 1, 16, 128, 1024 and 8192 tokens,
#      printing ms, tokens/s, GB/s and TFLOP/s.
# Usage: check.sh [accel-linux-x64.tar.xz | unpacked directory]   (device: ACCEL_GPU_DEVICE, default cuda:0)
# Output is printed and also written to $OUT (or ./gpu-check-results) as one log per step.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source="${1:-$here/accel-linux-x64.tar.xz}"
device="${ACCEL_GPU_DEVICE:-cuda:0}"
results="${OUT:-$PWD/gpu-check-results}"
deadline=$((SECONDS + 290))
mkdir -p "$results"

if [ -d "$source" ]; then
  app="$source"
elif [ -x "$here/accel" ]; then
  app="$here"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  tar -xJf "$source" -C "$work"
  app="$(dirname "$(find "$work" -maxdepth 2 -name accel -type f | head -n 1)")"
fi
accel="$app/accel"
if [ ! -x "$accel" ]; then
  echo "error: no accel executable in $source" >&2
  exit 2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_gcServer=0
status=0

# run NAME SECONDS ARGS...: runs one step with a time limit, never past the overall deadline.
run() {
  local name="$1" limit="$2"
  shift 2
  local left=$((deadline - SECONDS))
  if [ "$left" -le 5 ]; then
    echo "== $name: skipped, the 5-minute budget is spent" | tee "$results/$name.log"
    status=1
    return
  fi
  [ "$limit" -gt "$left" ] && limit="$left"
  echo "== $name (limit ${limit}s): accel $*"
  local start=$SECONDS
  timeout --kill-after=5 "$limit" "$accel" "$@" 2>&1 | tee "$results/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS - start))s" | tee -a "$results/$name.log"
  [ "$rc" -ne 0 ] && status=1
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$results/nvidia-smi.log" || true
run devices 30 devices
run conformance 100 conformance --device "$device" --filter quick
run bench 160 bench --device "$device" --hidden 4096 --expert-width 2048 --experts 256 --top-k 6 \
  --shared-experts 1 --tokens 1,16,128,1024,8192 --weights fp8 --runs 5
echo "results in $results"
exit $status
