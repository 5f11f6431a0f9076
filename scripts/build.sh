#!/usr/bin/env bash
# Build peakmem with meson-python and install it into .venv, a venv made
# from Debian's /usr/bin/python3 with --system-site-packages (so Debian's
# Jupyter stack is visible). Registers the venv's Python as the "python3"
# Jupyter kernel inside the venv, so notebooks run with peakmem importable.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv --system-site-packages .venv
fi
# --no-index: Debian's packages only; the build backend (meson-python) and
# meson come from Debian, hence --no-build-isolation.
.venv/bin/python -m pip install -q --no-index --no-build-isolation \
  --force-reinstall --no-deps \
  --config-settings=setup-args=-Dtests=disabled .
.venv/bin/python -m ipykernel install --sys-prefix --name python3 \
  --display-name "Python 3 (peakmem)" >/dev/null
(cd / && "$OLDPWD/.venv/bin/python" -c 'import peakmem; print("peakmem", peakmem.__version__, "installed in .venv")')
