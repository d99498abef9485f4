#!/usr/bin/env python3
"""Counts passed and failed test cases in a meson testlog.json.

Each meson test is a Catch2 program; its output ends with Catch2's totals
("All tests passed (A assertions in N test cases)" or
"test cases: N | P passed | F failed"). A program that crashed, timed out or
printed no totals counts as one failed test case. Prints "N passed, N failed".
"""
import json
import re
import sys

ALL_PASSED = re.compile(r"All tests passed \((\d+) assertions? in (\d+) test cases?\)")
TOTALS = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")
ALL_FAILED = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) failed")
SKIPPED_ONLY = re.compile(r"No tests ran")


def count(entry):
    out = entry.get("stdout") or ""
    result = entry.get("result")
    passed = failed = 0
    m = ALL_PASSED.search(out)
    if m:
        passed = int(m.group(2))
    else:
        m = TOTALS.search(out)
        if m:
            passed, failed = int(m.group(2)), int(m.group(3))
        else:
            m = ALL_FAILED.search(out)
            if m:
                failed = int(m.group(2))
            elif result in ("OK", "SKIP") and SKIPPED_ONLY.search(out):
                pass
            elif result == "OK":
                passed = 1  # a non-Catch2 test program that passed
    if result not in ("OK", "SKIP", "EXPECTEDFAIL") and failed == 0:
        failed = 1  # crashed, timed out, or failed outside a test case
    return passed, failed


def main():
    passed = failed = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            p, fl = count(json.loads(line))
            passed += p
            failed += fl
    print(f"{passed} passed, {failed} failed")


if __name__ == "__main__":
    main()
