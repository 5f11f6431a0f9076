#!/usr/bin/env bash
# The browser tests: tests/browser/browser_tests.py, run by pytest in
# .venv-browser, a venv from Debian's /usr/bin/python3 with JupyterLab 4.6,
# Notebook 7.6, Playwright and the kernel stack of the 'current' leg, all
# pinned in scripts/constraints/browser.txt (no Debian site packages).
# peakmem is built and installed into it and its Python registered as the
# venv's "python3" kernel. Playwright drives Debian's Chromium
# (/usr/bin/chromium; Playwright's own browser download is never used).
# Debian's classic Notebook 6.4, when installed, is served from the main
# .venv (scripts/build.sh must have run). Screenshots: out/screenshots/
# (before-*.png: an older commit's, from bench/browser_before.sh).
# Usage: scripts/browser.sh JUNIT_XML
set -euo pipefail
cd "$(dirname "$0")/.."
junit=$1
pins=scripts/constraints/browser.txt
venv=.venv-browser
[ -x /usr/bin/chromium ] || { echo "browser: no /usr/bin/chromium" >&2
                              exit 2; }

# Kept between runs on one machine while its pins are unchanged.
stamp=$venv/.pins
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$pins" "$stamp"; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -c "$pins" jupyterlab notebook playwright ipykernel ipython \
    jupyter_client nbformat numpy pytest meson-python meson ninja
  cp "$pins" "$stamp"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  --no-build-isolation --no-deps --force-reinstall \
  --config-settings=setup-args=-Dtests=disabled .
"$venv/bin/python" -m ipykernel install --sys-prefix --name python3 \
  --display-name "Python 3 (peakmem, browser)" >/dev/null
"$venv/bin/python" - <<'EOF'
import jupyterlab, notebook, ipykernel, IPython, subprocess, sys
from importlib.metadata import version
chromium = subprocess.run(["/usr/bin/chromium", "--version"],
                          capture_output=True, text=True).stdout.strip()
print("browser: JupyterLab %s, Notebook %s, ipykernel %s, IPython %s, "
      "Playwright %s, %s" % (jupyterlab.__version__, notebook.__version__,
                             ipykernel.__version__, IPython.__version__,
                             version("playwright"), chromium))
EOF

# Classic Notebook 6 (Debian's python3-notebook) from the main .venv.
if [ -x .venv/bin/python ]; then
  export PEAKMEM_CLASSIC_PYTHON=$PWD/.venv/bin/python
fi
# this run's screenshots replace the last ones; bench/browser_before.sh's
# before-*.png stay
mkdir -p out/screenshots
find out/screenshots -maxdepth 1 -name '*.png' ! -name 'before-*' -delete
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pytest \
  tests/browser/browser_tests.py -v -p no:cacheprovider \
  --junitxml="$junit" -o junit_suite_name=browser
