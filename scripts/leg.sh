#!/usr/bin/env bash
# One leg of the Jupyter-stack matrix: build a venv .venv-LEG from Debian's
# /usr/bin/python3 with the packages pinned in scripts/constraints/LEG.txt
# (no Debian site packages), build and install peakmem into it, register
# its Python as the venv's "python3" kernel, and run the Python tests there
# (real kernels of that stack). Usage: scripts/leg.sh LEG [JUNIT_XML]
# Without JUNIT_XML it only builds and installs. peakmem is installed with
# a plain `pip install .` (build isolation: meson-python from PyPI), as a
# user of that stack would. The Debian 12 leg is .venv (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
leg=$1
junit=${2:-}
pins=scripts/constraints/$leg.txt
venv=.venv-$leg
[ -f "$pins" ] || { echo "leg $leg: no $pins" >&2; exit 2; }

# A venv is kept between runs on one machine while its pins are unchanged.
stamp=$venv/.pins
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$pins" "$stamp"; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  # dask/distributed (tests/test_dask.py) where the leg pins them.
  extra=""
  if grep -qi '^distributed==' "$pins"; then extra="dask distributed"; fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -c "$pins" ipykernel ipython jupyter_client nbclient nbformat numpy \
    pandas pytest memory_profiler matplotlib $extra
  cp "$pins" "$stamp"
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
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pytest tests -q \
  -p no:cacheprovider --junitxml="$junit" \
  -o junit_suite_name="leg-$leg"
