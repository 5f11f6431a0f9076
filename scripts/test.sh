#!/usr/bin/env bash
# The whole test suite: install what is needed; build and run the Check
# programs (plain and under AddressSanitizer+UBSan); run the fuzz targets
# (tests/fuzz) for a bounded time under ASan+UBSan; build and install
# peakmem into .venv; run the Python tests (a real ipykernel, notebooks
# executed by nbclient). Ends with one line
# "N passed, N failed, N skipped".
set -uo pipefail
export PYDEVD_DISABLE_FILE_VALIDATION=1
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

werror=()
[ "${CI:-}" = "true" ] && werror=(--werror)
results=out/test-results
rm -rf build-tests build-asan build-fuzz build-debian13 "$results"
mkdir -p "$results"
failed_steps=()

step() { # name, command...
  local name=$1; shift
  echo "=== $name"
  "$@" || failed_steps+=("$name")
}

step "meson setup" meson setup build-tests -Dtests=enabled \
  -Dpython=/usr/bin/python3 "${werror[@]}"
step "compile" meson compile -C build-tests
step "check tests" meson test -C build-tests --suite c --print-errorlogs

step "meson setup (asan)" meson setup build-asan -Dtests=enabled \
  -Dpython=/usr/bin/python3 -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debug "${werror[@]}" -Dc_link_args=-fsanitize=float-cast-overflow \
  "-Dc_args=-fsanitize=float-cast-overflow -fno-sanitize-recover=float-cast-overflow"
step "compile (asan)" meson compile -C build-asan
ASAN_OPTIONS=detect_leaks=1 \
  step "check tests (asan)" meson test -C build-asan --suite c \
  --print-errorlogs

# libFuzzer targets for the .dat reader and the option parser (clang,
# installed by install-deps.sh), each run for FUZZ_SECONDS (default 30).
step "meson setup (fuzz)" env CC=clang meson setup build-fuzz \
  -Dtests=disabled -Dfuzz=enabled -Dpython=/usr/bin/python3 \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
  "${werror[@]}"
step "compile (fuzz)" meson compile -C build-fuzz tests/fuzz/fuzz_dat \
  tests/fuzz/fuzz_options
echo "=== fuzz"  # counted from its TAP lines, one per target
bash tests/fuzz/run.sh build-fuzz "$results/fuzz.tap" "${FUZZ_SECONDS:-30}"

step "install into .venv" bash scripts/build.sh
step "python tests" .venv/bin/python -m pytest tests -q -p no:cacheprovider \
  --junitxml="$results/pytest.xml"

# The same Python tests on the other legs of the Jupyter-stack matrix, each a
# venv pinned by scripts/constraints/LEG.txt (the Debian 12 leg is above).
for leg in current ipykernel6; do
  step "leg $leg" bash scripts/leg.sh "$leg" "$results/pytest-$leg.xml"
done

# Python 3.12 (the first with sys.monitoring) with the current PyPI stack:
# the kernel-level tests only. Without a 3.12 interpreter on the host the
# leg is one skip with its reason (scripts/leg.sh).
step "leg py312" bash scripts/leg.sh py312 "$results/pytest-py312.xml" \
  tests/test_memit_kernel.py tests/test_mprun_kernel.py \
  tests/test_live_kernel.py tests/test_locale_kernel.py

# Python 3.13 with Debian 13's own stack: the build, the Check programs and
# the Python tests in a Debian 13 root (cached; natively on Debian 13).
step "debian 13" bash scripts/debian13.sh "$results" "${werror[@]}"

# peakmem in real browsers: JupyterLab 4.6, Notebook 7.6 (and Debian's
# classic Notebook 6.4) driven by Playwright with Debian's Chromium.
step "browser" bash scripts/browser.sh "$results/pytest-browser.xml"

fails=()
for s in "${failed_steps[@]+"${failed_steps[@]}"}"; do fails+=(--failed-step "$s"); done
/usr/bin/python3 tests/summarize.py "${fails[@]+"${fails[@]}"}" \
  build-tests/*.tap build-asan/*.tap build-debian13/*.tap \
  "$results"/*.tap "$results"/pytest*.xml
