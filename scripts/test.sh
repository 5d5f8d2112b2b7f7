#!/usr/bin/env bash
# Sets up (see setup.sh), runs every test suite except the slow and GPU-only categories, and
# ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
results="TestResults"
rm -rf "$results"
dotnet test Accel.sln -c Release --no-build -nologo \
  --filter "TestCategory!=slow&TestCategory!=gpu" \
  --logger "trx" --results-directory "$results"
status=$?

passed=0; failed=0; skipped=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -n 1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get total) - $(get passed) - $(get failed)))
done

# Embedding in C, C++ and Python (scripts/test-embedding.sh), folded into the same counts.
mkdir -p "$results"
scripts/test-embedding.sh | tee "$results/embedding.log"
embedding_status=${PIPESTATUS[0]}
embedding=$(grep '^embedding:' "$results/embedding.log" | tail -n 1)
if [ -n "$embedding" ]; then
  field() { echo "$embedding" | sed -n "s/.* \([0-9]*\) $1.*/\1/p"; }
  passed=$((passed + $(field passed))); failed=$((failed + $(field failed))); skipped=$((skipped + $(field skipped)))
else
  failed=$((failed + 1))
fi
if [ "$embedding_status" -ne 0 ] && [ "$status" -eq 0 ]; then status=$embedding_status; fi

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
# Name every failed .NET test just above the summary, with the first two lines of its message, so
# the end of the log says what failed and why.
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  if command -v python3 >/dev/null; then
    python3 scripts/trx-failures.py "$f"
  else
    grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$f" | sed -n 's/.* testName="\([^"]*\)".*/failed: \1/p'
  fi
done
grep -h '^not ok' "$results/embedding.log" 2>/dev/null | sed 's/^/failed: /'
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
