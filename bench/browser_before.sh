#!/usr/bin/env bash
# Screenshots of an older peakmem with today's browser harness, for
# before/after comparisons: builds COMMIT in a temporary worktree
# (<repo>-before, removed at the end), puts this checkout's tests/browser/
# in it, runs scripts/browser.sh there (its assertions may fail: the
# screenshots are taken before them) and copies its screenshots to
# out/screenshots/before-<frontend>-<step>.png here. Shares this checkout's
# .venv-browser (pins unchanged): the next scripts/browser.sh here puts the
# current peakmem back in it. The classic Notebook 6 leg needs .venv here
# (scripts/build.sh); the old code gets its own .venv in the worktree.
# Usage: bench/browser_before.sh COMMIT
# e.g. the commit before issue 11's work: bench/browser_before.sh 43d6e01
set -euo pipefail
cd "$(dirname "$0")/.."
commit=${1:?usage: bench/browser_before.sh COMMIT}
here=$PWD
wt=$here-before
[ -x .venv-browser/bin/python ] || { echo "run scripts/browser.sh first" >&2
                                      exit 2; }
[ ! -e "$wt" ] || { echo "$wt exists: remove it first" >&2; exit 2; }
git worktree add --detach "$wt" "$commit" >/dev/null
trap 'git -C "$here" worktree remove --force "$wt"' EXIT
cp tests/browser/*.py tests/browser/*.ipynb "$wt/tests/browser/"
ln -s "$here/.venv-browser" "$wt/.venv-browser"
(cd "$wt" && bash scripts/build.sh >/dev/null)
mkdir -p "$wt/out/test-results"
(cd "$wt" && bash scripts/browser.sh out/test-results/pytest-browser.xml) \
  || echo "browser_before: the old code fails today's assertions (expected)"
mkdir -p out/screenshots
for f in "$wt"/out/screenshots/*.png; do
  cp "$f" "out/screenshots/before-$(basename "$f")"
done
ls out/screenshots/before-*.png
