#!/usr/bin/env bash
# Tests Accel's embedding in C, C++ and Python against the built tree (scripts/setup.sh first):
# the C ABI tests (tests/native), the C and C++ samples and the Python package's tests, on every
# layer family and on each device of ACCEL_TEST_DEVICES (default cpu,opencl:0,ilgpu-cpu), all
# compared with the reference backend. Ends with one line: "embedding: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

devices="${ACCEL_TEST_DEVICES:-cpu,opencl:0,ilgpu-cpu}"
python="${ACCEL_PYTHON:-/usr/bin/python3}"
[ -x "$python" ] || python="$(command -v python3 || true)"
accel=(dotnet src/Cli/bin/Release/net10.0/accel.dll)
bin=out/native
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0; failed=0; skipped=0

# Adds the counts of a line "<name>: N passed, N failed, N skipped" (a missing line is one failure).
count() {
  local line="$1" p f s
  p=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
  if [ -z "$p" ] || [ -z "$f" ] || [ -z "$s" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

# Runs a sample and counts it: exit 0 passes; a device that is absent here is a skip.
sample() {
  local name="$1"; shift
  if "$@" > "$work/sample.log" 2>&1; then
    passed=$((passed + 1)); echo "ok - $name"
  elif grep -q ACCEL_ERR_DEVICE_UNAVAILABLE "$work/sample.log"; then
    skipped=$((skipped + 1)); echo "skip - $name: device absent"
  else
    failed=$((failed + 1)); echo "not ok - $name"; sed 's/^/#   /' "$work/sample.log"
  fi
}

if ! make -C native samples -s --no-print-directory; then
  echo "embedding: 0 passed, 1 failed, 0 skipped"; exit 1
fi

# One checkpoint per layer family, as conformance tests them: name preset layer format tolerance (NMSE).
families=(
  "deepseek-v3 deepseek-v3-tiny 2 Fp8 2e-3"
  "deepseek-v4-scored deepseek-v4-tiny 3 Fp4 2e-3"
  "deepseek-v4-hash deepseek-v4-tiny 0 Fp4 2e-3"
  "mixtral mixtral-tiny 0 BF16 1e-8"
  "qwen2-moe qwen2-moe-tiny 1 F32 1e-8"
)
cases=()
for f in "${families[@]}"; do
  read -r name preset layer format tolerance <<< "$f"
  "${accel[@]}" example --preset "$preset" --layer "$layer" --format "$format" --dir "$work/$name" > /dev/null \
    || { echo "embedding: 0 passed, 1 failed, 0 skipped"; exit 1; }
  cases+=("$name=$work/$name:$layer:$tolerance")
done

echo "# C ABI tests on $devices"
"$bin/accel_abi_tests" "$devices" "${cases[@]}" 2>&1 | grep -v "warnings generated" | tee "$work/abi.log"
count "$(grep '^abi_tests:' "$work/abi.log" | tail -n 1)"

echo "# samples"
for device in ${devices//,/ }; do
  sample "C sample on $device" "$bin/accel_example_c" "$work/deepseek-v3/config.json" "$work/deepseek-v3/model.safetensors" \
    "$device" 37 2e-3 2
  sample "C++ sample on $device" "$bin/accel_example_cpp" "$work/qwen2-moe/config.json" "$work/qwen2-moe/model.safetensors" \
    1 "$device" 37 1e-8
done
# A vendor shim (an Ascend-shaped device emulated on ilgpu-cpu) through the same ABI, a few tokens (it is slow).
sample "C sample on ascend-910b" "$bin/accel_example_c" "$work/deepseek-v3/config.json" "$work/deepseek-v3/model.safetensors" \
  ascend-910b 5 2e-3 2

echo "# Python tests ($python)"
if [ -n "$python" ] && "$python" -c "import numpy" 2> /dev/null; then
  ACCEL_TEST_CHECKPOINTS="$work" ACCEL_TEST_DEVICES="$devices" "$python" python/tests/run.py 2>&1 | tee "$work/python.log"
  count "$(grep '^python:' "$work/python.log" | tail -n 1)"
else
  skipped=$((skipped + 1)); echo "skip - Python tests: no python3 with numpy (apt-get install python3-numpy, or set ACCEL_PYTHON)"
fi

echo "embedding: ${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
