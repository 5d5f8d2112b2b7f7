"""Runs the Python tests of accel (unittest) and ends with one line: "python: N passed, N failed, N skipped".

    python3 python/tests/run.py [-v]

Environment: ACCEL_TEST_DEVICES (default cpu), ACCEL_TEST_CHECKPOINTS (default: written with `accel example`)."""

import sys
import unittest
from pathlib import Path


def main():
    here = Path(__file__).resolve().parent
    suite = unittest.defaultTestLoader.discover(str(here), top_level_dir=str(here))
    result = unittest.TextTestRunner(verbosity=2 if "-v" in sys.argv else 1).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"python: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
