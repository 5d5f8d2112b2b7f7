#!/usr/bin/env bash
# Installs NVIDIA's ptxas (PTX assembler) into .tools/ptxas/ inside the repository, from Debian's
# non-free nvidia-cuda-toolkit package, without installing the toolkit: the .deb is downloaded and
# only unpacked. Idempotent: does nothing when .tools/ptxas/bin/ptxas already runs.
# Needs root (or sudo) only to add the contrib/non-free components to apt's sources.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.tools/ptxas"
ptxas="$dest/bin/ptxas"

if [ -x "$ptxas" ] && "$ptxas" --version >/dev/null 2>&1; then
  echo "ptxas already installed: $ptxas"
  exit 0
fi

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd="sudo"
fi

# Debian 12 lists its sources in deb822 form; add a separate file for contrib/non-free if no
# source offers the non-free component yet (the existing files are left untouched).
if ! grep -rqsE '^(Components:.*|deb .*)\bnon-free\b' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  echo "Adding contrib/non-free components for $codename"
  $sudo_cmd tee /etc/apt/sources.list.d/accel-nonfree.sources >/dev/null <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi

$sudo_cmd apt-get update -qq

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 777 "$work"
# ptxas ships in nvidia-cuda-toolkit itself (usr/bin/ptxas); check rather than assume.
(cd "$work" && apt-get download -qq nvidia-cuda-toolkit)
deb="$(ls "$work"/nvidia-cuda-toolkit_*.deb)"
dpkg -c "$deb" >"$work/contents.txt"
if ! grep -q '\./usr/bin/ptxas$' "$work/contents.txt"; then
  echo "error: $(basename "$deb") does not contain usr/bin/ptxas" >&2
  exit 1
fi

dpkg -x "$deb" "$work/x"
mkdir -p "$dest/bin"
install -m 0755 "$work/x/usr/bin/ptxas" "$ptxas"
"$ptxas" --version | tail -n 2
echo "installed: $ptxas"
