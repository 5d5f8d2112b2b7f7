#!/usr/bin/env bash
# Fetches prebuilt ggml CPU libraries (the ones node-llama-cpp ships) into bench/.ggml/, for the
# ggml peer of bench/peers.sh. Nothing fetched here is committed (bench/.ggml/ is git-ignored).
#   bench/fetch-ggml.sh        (idempotent: does nothing when the libraries are already there)
set -euo pipefail
cd "$(dirname "$0")"
package="@node-llama-cpp/linux-x64"
version="3.22.1"
dir=.ggml
libs="$dir/package/bins/linux-x64"
if [ -f "$libs/libggml-base.so" ] && [ -f "$dir/VERSION" ] && [ "$(cat "$dir/VERSION")" = "$package@$version" ]; then
  echo "ggml: $package@$version already in bench/$libs"
  exit 0
fi
command -v npm >/dev/null || { echo "ggml: npm is needed to fetch $package@$version" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
tarball=$(cd "$dir" && npm pack "$package@$version" --silent | tail -n 1)
tar -xzf "$dir/$tarball" -C "$dir"
rm -f "$dir/$tarball"
[ -f "$libs/libggml-base.so" ] || { echo "ggml: $package@$version has no $libs/libggml-base.so" >&2; exit 1; }
echo "$package@$version" > "$dir/VERSION"
echo "ggml: fetched $package@$version into bench/$libs:"
ls "$libs" | grep -E '^libggml' | sed 's/^/  /'
