#!/usr/bin/env bash
# Publishes the accel CLI (src/Cli) self-contained for linux-x64 and packs it as
# out/accel-linux-x64.tar.xz (must stay below 64 MiB), for a GPU machine without .NET or network.
# Usage: bench/gpu/pack.sh [output-dir]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/out}"
name="accel-linux-x64"
limit=$((64 * 1024 * 1024))

rm -rf "${out:?}/$name" "$out/$name.tar.xz"
mkdir -p "$out"
dotnet publish "$root/src/Cli/Accel.Cli.csproj" -c Release -r linux-x64 --self-contained true \
  -p:PublishTrimmed=false -p:DebugType=none -p:GenerateDocumentationFile=false -o "$out/$name"

# The GPU check script travels inside the archive, next to the binary.
cp "$root/bench/gpu/check.sh" "$out/$name/"
tar -C "$out" -cf - "$name" | xz -T0 -9 >"$out/$name.tar.xz"

size=$(stat -c %s "$out/$name.tar.xz")
echo "packed $out/$name.tar.xz ($((size / 1024 / 1024)) MiB)"
if [ "$size" -ge "$limit" ]; then
  echo "error: the archive is $size bytes, over the 64 MiB limit" >&2
  exit 1
fi
