#!/bin/sh
# A stand-in for an AI coding agent: it edits the project it is given,
# adds a test and removes nothing it was not asked to. It runs inside the
# sandbox; everything it writes lands in the run's upper dir, not here.
set -eu
cd /workspace
sed -i 's/return "Hello, " + name/return f"Hello, {name}!"/' greet.py
cat >test_greet.py <<'PY'
from greet import greet


def test_greet():
    assert greet("airlock") == "Hello, airlock!"
PY
printf '\nRun the tests with `python3 -m pytest`.\n' >>README.md
git add -A >/dev/null 2>&1 || true
echo "agent: edited greet.py, added test_greet.py, documented the tests"
