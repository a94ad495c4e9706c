"""Choose llama.cpp's CPU build flags from what this CPU advertises (stdlib only: runs before install).

`GGML_NATIVE=ON` (llama-cpp-python's default) compiles with `-march=native`: on an Intel host that
advertises AMX it builds the AMX tile kernels, which fault (`ldtilecfg`) where the kernel does not
grant tile state, and a wheel built on one host crashes another that lacks its instructions. So the
flags are explicit: AVX/AVX2/FMA/F16C/BMI2 as the base where present, the AVX-512 family only where
the CPU has each member, AMX never. The key names the wheel folder, so a wheel built for another CPU
is never reused.

    python3 scripts/llama_cpu_flags.py [--base] [--cpuinfo FILE] (--cmake-args | --key | --describe)
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

# cmake option -> the /proc/cpuinfo flag that must be present for it.
BASE = {
    "GGML_SSE42": "sse4_2",
    "GGML_AVX": "avx",
    "GGML_AVX2": "avx2",
    "GGML_FMA": "fma",
    "GGML_F16C": "f16c",
    "GGML_BMI2": "bmi2",
}
AVX512 = {
    "GGML_AVX512": "avx512f",
    "GGML_AVX512_VBMI": "avx512vbmi",
    "GGML_AVX512_VNNI": "avx512_vnni",
    "GGML_AVX512_BF16": "avx512_bf16",
}
# Off whatever the CPU says: the AMX kernels are what crashed; AVX-VNNI (the VEX form) is left to
# AVX-512 VNNI on the hosts that have both, and would break a host with AVX2 only if guessed wrong.
ALWAYS_OFF = ("GGML_AVX_VNNI", "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")


def cpu_flags(cpuinfo: str) -> set[str]:
    """The flags of the first `flags` line (every core of one host advertises the same set)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def choose(flags: set[str], base_only: bool = False) -> dict[str, bool]:
    """cmake option -> on/off. The AVX-512 family needs avx512f itself besides its own flag."""
    chosen = {"GGML_NATIVE": False}
    chosen.update({opt: flag in flags for opt, flag in BASE.items()})
    has_f = "avx512f" in flags and not base_only
    chosen.update({opt: has_f and flag in flags for opt, flag in AVX512.items()})
    chosen.update(dict.fromkeys(ALWAYS_OFF, False))
    if not chosen["GGML_AVX"]:
        # Without AVX the rest cannot be used either (no VEX encoding).
        chosen.update({opt: False for opt in (*BASE, *AVX512) if opt != "GGML_SSE42"})
    return chosen


def cmake_args(chosen: dict[str, bool]) -> str:
    return " ".join(f"-D{opt}={'ON' if on else 'OFF'}" for opt, on in chosen.items())


def key(chosen: dict[str, bool]) -> str:
    """Short, readable folder key: the enabled options' names, plus a hash of the whole set."""
    on = [opt.removeprefix("GGML_").lower() for opt, enabled in chosen.items() if enabled]
    digest = hashlib.sha256(cmake_args(chosen).encode()).hexdigest()[:8]
    return "-".join([*on, digest]) if on else f"generic-{digest}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpuinfo", default="/proc/cpuinfo")
    parser.add_argument("--base", action="store_true", help="AVX2-era flags only, no AVX-512")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--cmake-args", action="store_true")
    what.add_argument("--key", action="store_true")
    what.add_argument("--describe", action="store_true")
    args = parser.parse_args(argv)
    chosen = choose(cpu_flags(Path(args.cpuinfo).read_text()), base_only=args.base)
    if args.cmake_args:
        print(cmake_args(chosen))
    elif args.key:
        print(key(chosen))
    else:
        on = [opt for opt, enabled in chosen.items() if enabled]
        print(", ".join(on) if on else "no SIMD extensions beyond SSE")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
