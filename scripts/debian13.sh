#!/usr/bin/env bash
# The Debian 13 ("trixie") / Python 3.13 leg: build peakmem with meson and
# run the Check programs, then build and install it into a venv made from
# Debian 13's /usr/bin/python3 with --system-site-packages (Debian 13's own
# Jupyter stack) and run the Python tests with real kernels there.
#
# Usage: scripts/debian13.sh RESULTS_DIR [MESON_SETUP_ARGS...]
# Writes RESULTS_DIR/pytest-debian13.xml and build-debian13/check_*.tap.
#    or: scripts/debian13.sh --run COMMAND [ARGS...]
# runs COMMAND in the same system from the repository's top folder (after a
# leg, .venv-debian13/bin/python is Python 3.13 with peakmem), e.g.
#   bash scripts/debian13.sh --run .venv-debian13/bin/python bench/mprun.py
#
# On a Debian 13 host this runs natively. Elsewhere it runs in a Debian 13
# root made by debootstrap from Debian's archive (its default mirror), kept
# between runs on one machine in /var/cache/peakmem/trixie-KEY
# (PEAKMEM_DEBIAN13_CACHE overrides the folder), KEY a hash of the package
# list below so that a change makes a new root. The root is entered in
# private mount and PID namespaces (unshare), so its /proc, /dev, /sys, /tmp
# and the repository's bind mount vanish with the leg whatever happens; the
# cached root itself only ever holds what debootstrap and apt put there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian 13's names for scripts/install-deps.sh's list.
pkgs=(
  build-essential pkg-config meson ninja-build
  libzmq3-dev libjansson-dev libssl-dev check
  python3 python3-dev python3-venv python3-pip python3-mesonpy
  python3-ipython python3-ipykernel python3-jupyter-client python3-nbclient
  python3-nbformat python3-zmq python3-numpy python3-pandas python3-pytest
  python3-memory-profiler python3-matplotlib locales
)
suite=trixie

# The leg itself, in the Debian 13 system (the root or a Debian 13 host),
# from the repository's top folder. Every step runs even when one before it
# failed (as in scripts/test.sh); the exit status says whether any did.
leg() { # results_dir, meson setup args...
  local results=$1; shift
  local py=/usr/bin/python3 venv=.venv-debian13 failed=0
  export PYDEVD_DISABLE_FILE_VALIDATION=1 PIP_NO_CACHE_DIR=1
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  "$py" -c 'import sys; print("debian 13 leg: Python", sys.version.split()[0])'
  rm -rf build-debian13
  meson setup build-debian13 -Dtests=enabled -Dpython="$py" "$@" \
    && meson compile -C build-debian13 \
    && meson test -C build-debian13 --suite c --print-errorlogs \
    || failed=1
  # A venv of another Python (a root rebuilt with a newer 3.13.x keeps
  # working; another minor version does not) is made anew.
  if ! "$venv/bin/python" -c \
      'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    rm -rf "$venv"
    "$py" -m venv --system-site-packages "$venv"
  fi
  if "$venv/bin/python" -m pip install -q --no-index --no-build-isolation \
      --force-reinstall --no-deps \
      --config-settings=setup-args=-Dtests=disabled . \
    && "$venv/bin/python" -m ipykernel install --sys-prefix --name python3 \
      --display-name "Python 3 (peakmem, debian 13)" >/dev/null; then
    "$venv/bin/python" - <<'EOF'
import IPython, ipykernel, jupyter_client, numpy, sys
print("debian 13 leg: Python %s, ipykernel %s, IPython %s, jupyter_client %s,"
      " numpy %s" % (sys.version.split()[0], ipykernel.__version__,
                     IPython.__version__, jupyter_client.__version__,
                     numpy.__version__))
EOF
    PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pytest tests -q \
      -p no:cacheprovider --junitxml="$results/pytest-debian13.xml" \
      -o junit_suite_name=debian13 || failed=1
  else
    failed=1
  fi
  return $failed
}

if [ "${1:-}" = --inside ]; then # run by the outer half, in the root
  shift
  leg "$@"
  exit
fi

usage="usage: scripts/debian13.sh RESULTS_DIR [MESON_SETUP_ARGS...]
       scripts/debian13.sh --run COMMAND [ARGS...]"
if [ "${1:-}" = --run ]; then
  shift
  [ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
  mode=run results=out
  cmd=("$@")
else
  [ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
  mode=leg results=$1
  shift
  cmd=(bash scripts/debian13.sh --inside /results "$@")
fi
mkdir -p "$results"
results=$(cd "$results" && pwd)

if grep -q '^13\.' /etc/debian_version 2>/dev/null; then
  echo "debian 13 leg: this host is Debian 13, running natively"
  if [ $mode = leg ]; then leg "$results" "$@"; else "${cmd[@]}"; fi
  exit
fi

# unshare ARGS... in the background, waited for. unshare ignores SIGTERM and
# SIGINT: a stop of this script becomes SIGKILL for unshare, which
# --kill-child passes on to the namespace's first process, whose end ends
# every process in its PID namespace and drops the namespace's mounts.
ns() {
  local child rc=0
  unshare --kill-child "$@" &
  child=$!
  trap 'kill -KILL '"$child"' 2>/dev/null; exit 143' TERM INT HUP
  wait "$child" || rc=$?
  trap - TERM INT HUP
  return $rc
}

# The root: made once per package list, under a lock so that two runs at
# once build it once; made in ROOT.new and renamed when complete, so that a
# run stopped half-way leaves nothing that looks usable.
cache=${PEAKMEM_DEBIAN13_CACHE:-/var/cache/peakmem}
key=$(printf '%s\n' "$suite" "${pkgs[@]}" | sha256sum | cut -c1-12)
root=$cache/$suite-$key
mkdir -p "$cache"
exec 9>"$cache/$suite.lock"
flock 9
if [ ! -e "$root/.peakmem-complete" ]; then
  command -v debootstrap >/dev/null \
    || { echo "debian 13 leg: no debootstrap (scripts/install-deps.sh)" >&2
         exit 1; }
  start=$(date +%s)
  echo "debian 13 leg: building the $suite root in $root (first run only)"
  # --one-file-system: never follow a mount left inside a broken root.
  rm -rf --one-file-system "$root.new"
  # minbase then apt in the root rather than --include: debootstrap's own
  # resolver does not follow virtual packages and alternatives, and apt
  # fetches in parallel. Both run in a private mount namespace, so the
  # /proc and /sys they mount go away with them.
  ns --mount debootstrap --variant=minbase "$suite" "$root.new" \
    >"$cache/$suite-debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/$suite-debootstrap.log" >&2
         echo "debian 13 leg: debootstrap failed" \
              "(log: $cache/$suite-debootstrap.log)" >&2
         exit 1; }
  printf '#!/bin/sh\nexit 101\n' >"$root.new/usr/sbin/policy-rc.d"
  chmod 755 "$root.new/usr/sbin/policy-rc.d"
  ns --mount --pid /bin/sh -ec '
    mount -t proc proc "$1/proc"
    mount --rbind /dev "$1/dev"
    cp /etc/resolv.conf "$1/etc/resolv.conf"
    shift
    chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      DEBIAN_FRONTEND=noninteractive sh -ec "
        apt-get update -q
        apt-get install -y -q --no-install-recommends $*
        apt-get clean"' "$root.new" "$root.new" "${pkgs[@]}"
  mkdir -p "$root.new/src" "$root.new/results"
  touch "$root.new/.peakmem-complete"
  mv "$root.new" "$root"
  echo "debian 13 leg: root built in $(( $(date +%s) - start )) s"
fi
# Roots of other package lists unused for a day (another branch may still
# use one) are removed; the stamp's time is the root's last use.
touch "$root/.peakmem-complete"
for old in "$cache/$suite"-*/; do
  old=${old%/}
  [ "$old" = "$root" ] || [ "$old" = "$root.new" ] && continue
  [ -z "$(find "$old/.peakmem-complete" -mmin -1440 2>/dev/null)" ] \
    && rm -rf --one-file-system "$old"
done
exec 9>&-

# Enter the root: /proc (peakmem reads /proc/self/status, statm, clear_refs)
# of its own PID namespace, the host's /dev and /sys (cgroup files), a fresh
# /tmp, the repository at /src and the results folder at /results. The trap
# unmounts in order; the namespace is the backstop.
ns --mount --pid /bin/bash -c '
  set -euo pipefail
  root=$1 src=$2 results=$3; shift 3
  mounts=()
  cleanup() {
    local i
    for (( i = ${#mounts[@]} - 1; i >= 0; i-- )); do
      umount -l "${mounts[i]}" 2>/dev/null || true
    done
  }
  trap cleanup EXIT
  mnt() { mount "$@"; mounts+=("${@: -1}"); }
  mnt -t proc proc "$root/proc"
  mnt --rbind /dev "$root/dev"
  mnt --rbind /sys "$root/sys"
  mnt -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  mnt --bind "$src" "$root/src"
  mnt --bind "$results" "$root/results"
  mkdir -p "$root/tmp/home"
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp/home LANG=C.UTF-8 ${CI:+CI=$CI} \
    /bin/bash -c "cd /src && \"\$@\"" debian13 "$@"
' debian13 "$root" "$PWD" "$results" "${cmd[@]}"
