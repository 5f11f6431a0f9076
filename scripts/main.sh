#!/usr/bin/env bash
# The main job: install what is needed, build and install peakmem, execute
# notebooks/quickstart.ipynb in a real Jupyter kernel and show its memory
# reports.
set -euo pipefail
# ipykernel 6.17 warns about frozen modules on every start; not ours.
export PYDEVD_DISABLE_FILE_VALIDATION=1
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p out
.venv/bin/python tests/run_notebook.py notebooks/quickstart.ipynb \
  out/quickstart.ipynb
