#!/usr/bin/env bash
# One leg of the Jupyter-stack matrix: build a venv .venv-LEG from Debian's
# /usr/bin/python3 with the packages pinned in scripts/constraints/LEG.txt
# (no Debian site packages), build and install peakmem into it, register
# its Python as the venv's "python3" kernel, and run the Python tests there
# (real kernels of that stack).
# Usage: scripts/leg.sh LEG [JUNIT_XML [TEST_PATH...]]
# Without JUNIT_XML it only builds and installs; TEST_PATHs (default: tests)
# choose the tests. A pins file with a line "# python: X.Y" is a leg of
# that Python instead of Debian's: its interpreter is looked for (see
# find_python); where there is none the leg is one skipped test (a TAP
# file beside JUNIT_XML) with the reason, not a failure. peakmem is
# installed with a plain `pip install .` (build isolation: meson-python
# from PyPI), as a user of that stack would. The Debian 12 leg is .venv
# (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
leg=$1
junit=${2:-}
shift $(($# < 2 ? $# : 2))
pins=scripts/constraints/$leg.txt
venv=.venv-$leg
[ -f "$pins" ] || { echo "leg $leg: no $pins" >&2; exit 2; }

# An interpreter of version X.Y that can build an extension (Python.h) and
# make a venv: /usr/bin, /usr/local/bin, pyenv's versions (newest first),
# then PATH. Prints its path; fails when there is none.
find_python() { # X.Y
  local c
  local check='import os, sys, sysconfig, venv
assert "%d.%d" % sys.version_info[:2] == sys.argv[1]
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"],
                                   "Python.h"))'
  for c in "/usr/bin/python$1" "/usr/local/bin/python$1" \
      $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$1".*/bin/"python$1" \
          2>/dev/null | sort -rV) \
      "$(command -v "python$1" 2>/dev/null || true)"; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -c "$check" "$1" 2>/dev/null; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

python=/usr/bin/python3
want=$(sed -n 's/^# python: *\([0-9][0-9.]*\).*/\1/p' "$pins" | head -n 1)
if [ -n "$want" ] && ! python=$(find_python "$want"); then
  why="no Python $want interpreter with its headers (looked for python$want"
  why+=" in /usr/bin, /usr/local/bin, pyenv's versions and on PATH)"
  echo "leg $leg: skipped: $why"
  if [ -n "$junit" ]; then
    printf '1..1\nok 1 - leg %s # SKIP %s\n' "$leg" "$why" \
      >"${junit%.xml}.tap"
  fi
  exit 0
fi

# A venv is kept between runs on one machine while its pins and its
# interpreter (named in the stamp when it is not Debian's) are unchanged.
stamp=$venv/.pins
pins_stamp() { cat "$pins"; [ "$python" = /usr/bin/python3 ] || echo "$python"; }
if [ ! -x "$venv/bin/python" ] || ! cmp -s <(pins_stamp) "$stamp"; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # dask/distributed (tests/test_dask.py) where the leg pins them.
  extra=""
  if grep -qi '^distributed==' "$pins"; then extra="dask distributed"; fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -c "$pins" ipykernel ipython jupyter_client nbclient nbformat numpy \
    pandas pytest memory_profiler matplotlib $extra
  pins_stamp >"$stamp"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  --no-deps --force-reinstall \
  --config-settings=setup-args=-Dtests=disabled .
"$venv/bin/python" -m ipykernel install --sys-prefix --name python3 \
  --display-name "Python 3 (peakmem, $leg)" >/dev/null
"$venv/bin/python" - <<'EOF'
import IPython, ipykernel, jupyter_client, numpy, sys
print("leg: Python %s, ipykernel %s, IPython %s, jupyter_client %s, numpy %s"
      % (sys.version.split()[0], ipykernel.__version__, IPython.__version__,
         jupyter_client.__version__, numpy.__version__))
EOF
[ -n "$junit" ] || exit 0
[ $# -gt 0 ] || set -- tests
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pytest "$@" -q \
  -p no:cacheprovider --junitxml="$junit" \
  -o junit_suite_name="leg-$leg"
