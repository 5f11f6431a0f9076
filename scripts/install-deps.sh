#!/usr/bin/env bash
# Install the Debian 12 packages peakmem needs to build, run and test.
# Run as root. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential pkg-config meson ninja-build
  libzmq3-dev libjansson-dev libssl-dev check
  python3 python3-dev python3-venv python3-pip python3-mesonpy
  python3-ipython python3-ipykernel python3-jupyter-client python3-nbclient
  python3-nbformat python3-zmq python3-numpy python3-pandas python3-pytest
  python3-memory-profiler python3-matplotlib valgrind
  clang libclang-rt-14-dev
  locales
  # the Debian 13 leg's root (scripts/debian13.sh), its signatures checked
  debootstrap debian-archive-keyring
  # the browser tests (scripts/browser.sh)
  chromium python3-notebook
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
