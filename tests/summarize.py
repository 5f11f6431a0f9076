"""Count every test the suite ran and print the closing line
"N passed, N failed, N skipped". Reads Check's TAP logs (a test that could
not run here is "ok N - ... # SKIP reason") and pytest's JUnit XML; each
--failed-step NAME (a build step that failed, whose tests never ran) counts
as one failure. Exit status 1 when anything failed."""
import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET

SKIP_RE = re.compile(r"#\s*skip\b", re.IGNORECASE)


def count_tap(path):
    passed = failed = skipped = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("ok "):
                if SKIP_RE.search(line):
                    skipped += 1
                else:
                    passed += 1
            elif line.startswith("not ok "):
                failed += 1
    return passed, failed, skipped


def count_junit(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    passed = failed = skipped = 0
    for s in suites:
        total = int(s.get("tests", 0))
        bad = int(s.get("failures", 0)) + int(s.get("errors", 0))
        skip = int(s.get("skipped", 0))
        passed += total - bad - skip
        failed += bad
        skipped += skip
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--failed-step", action="append", default=[])
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    passed = failed = skipped = 0
    for name in args.failed_step:
        print(f"step failed: {name}")
        failed += 1
    for path in args.files:
        if not os.path.exists(path):
            continue
        if path.endswith(".tap"):
            p, f, s = count_tap(path)
        else:
            p, f, s = count_junit(path)
        passed += p
        failed += f
        skipped += s
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
