#!/usr/bin/env bash
# A long run of the input fuzzer: the fuzz tests of Accel.Core.Tests (category "fuzz") with more
# cases per format. Prints one summary line per format and every finding with its seed, its
# mutation and the command that replays it; exits 1 on any finding, 2 on bad usage or a failed build.
#
#   scripts/fuzz.sh [--iterations N] [--seed S] [--format safetensors|config|profile]
#
# --iterations N  cases per format (default 20000; CI runs 300)
# --seed S        seed of the first case; case i uses S + i, so --seed S --iterations 1 replays one case
# --format F      fuzz one format only (default: all three)
set -uo pipefail
cd "$(dirname "$0")/.."

iterations=20000
seed=1
format=""
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --iterations) iterations="${2:-}"; shift 2 || true ;;
    --seed) seed="${2:-}"; shift 2 || true ;;
    --format) format="${2:-}"; shift 2 || true ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if ! [[ "$iterations" =~ ^[0-9]+$ ]] || [ "$iterations" -lt 1 ]; then
  echo "fuzz.sh: --iterations must be a whole number of at least 1, not '$iterations'" >&2; exit 2
fi
if ! [[ "$seed" =~ ^[0-9]+$ ]]; then
  echo "fuzz.sh: --seed must be a non-negative whole number, not '$seed'" >&2; exit 2
fi
case "$format" in
  "") filter="TestCategory=fuzz" ;;
  safetensors) filter="FullyQualifiedName~Fuzzing.SafetensorsFuzzTests" ;;
  config) filter="FullyQualifiedName~Fuzzing.ConfigFuzzTests" ;;
  profile) filter="FullyQualifiedName~Fuzzing.ProfileFuzzTests" ;;
  *) echo "fuzz.sh: --format must be safetensors, config or profile, not '$format'" >&2; exit 2 ;;
esac

project=tests/Accel.Core.Tests/Accel.Core.Tests.csproj
dotnet build "$project" -c Release -nologo -v q >/dev/null || { echo "fuzz.sh: the build failed" >&2; exit 2; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
ACCEL_FUZZ_ITERATIONS="$iterations" ACCEL_FUZZ_SEED="$seed" \
  dotnet test "$project" -c Release --no-build -nologo --filter "$filter" \
  --logger "console;verbosity=normal" >"$log" 2>&1
status=$?

# The findings (with their mutations and replay commands), then the summary lines.
sed -n '/^\[\(safetensors\|config\|profile\)\] seed /,/replay:/p' "$log"
grep -E '^fuzz (safetensors|config|profile):' "$log" | sort -u
if [ "$status" -ne 0 ] && ! grep -q '^\[\(safetensors\|config\|profile\)\] seed ' "$log"; then
  tail -n 40 "$log"
fi
exit $(( status == 0 ? 0 : 1 ))
