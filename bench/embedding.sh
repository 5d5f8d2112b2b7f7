#!/usr/bin/env bash
# Measures what embedding Accel through the C ABI costs (docs/embedding.md): start-up of the hosted
# .NET runtime and the per-call overhead of accel_session_run against the same layer called from
# .NET directly, 1-token decode on the cpu device, on the layer of docs/performance.md.
#
#   bench/embedding.sh [rounds] [runs] [format] [tokens] [preset]
#
# Defaults: 5 rounds of 300 runs, fp8 weights, 1 token, the benchmark layer; a preset name (e.g.
# mixtral-tiny) measures a layer so small that the overhead is most of the call.
#
# The two programs run alternately, one process each per round; each prints its median per call.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"; runs="${2:-300}"; format="${3:-fp8}"; tokens="${4:-1}"; preset="${5:-}"
threads="${ACCEL_BENCH_THREADS:-2}"
dir="out/embedding-bench/${preset:-bench}-$format"

dotnet build bench/Embedding -c Release -nologo -v quiet > /dev/null
make -C native -s --no-print-directory
lib=src/Native/bin/Release/net10.0
mkdir -p out/embedding-bench
cc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude bench/embedding/overhead.c -o out/embedding-bench/overhead \
  -L"$lib" -laccel -Wl,-rpath,"$PWD/$lib"
dotnet=(dotnet bench/Embedding/bin/Release/net10.0/accel-embedding-bench.dll)
[ -f "$dir/model.safetensors" ] || "${dotnet[@]}" write "$dir" "$format" $preset

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus, $threads threads, ${preset:-benchmark layer}, $format weights, $tokens token(s), $runs runs per round"
for round in $(seq "$rounds"); do
  echo "round=$round $(out/embedding-bench/overhead "$dir" "$tokens" "$runs" "$threads")"
  echo "round=$round $(out/embedding-bench/overhead "$dir" "$tokens" 20 "$threads" phases)"
  echo "round=$round $("${dotnet[@]}" run "$dir" "$tokens" "$runs" "$threads")"
done
