#!/usr/bin/env bash
# The main job: install what is needed, build and install peakmem, execute
# notebooks/quickstart.ipynb in a real Jupyter kernel and show its memory
# reports.
set -euo pipefail
export PYDEVD_DISABLE_FILE_VALIDATION=1
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# the current PyPI Jupyter stack (scripts/constraints/current.txt)
bash scripts/leg.sh current
mkdir -p out
.venv-current/bin/python tests/run_notebook.py notebooks/quickstart.ipynb \
  out/quickstart.ipynb
