"""The install's llama.cpp flag choice, on /proc/cpuinfo flag lines of the pool's two kinds of host."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "llama_cpu_flags.py"

# AMD EPYC (Milan), no AVX-512: this pool's AMD hosts.
AMD = (
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 "
    "ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid "
    "extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt "
    "tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a "
    "misalignsse 3dnowprefetch osvw topoext ssbd ibrs ibpb stibp vmmcall fsgsbase tsc_adjust bmi1 avx2 smep "
    "bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves clzero "
    "xsaveerptr wbnoinvd arat umip pku ospke vaes vpclmulqdq rdpid fsrm"
)
# Intel Xeon (Sapphire Rapids): AVX-512 family and AMX advertised.
INTEL = (
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 "
    "ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq "
    "pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c "
    "rdrand hypervisor lahf_lm abm 3dnowprefetch ssbd ibrs ibpb stibp ibrs_enhanced fsgsbase tsc_adjust bmi1 "
    "avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni "
    "avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx_vnni avx512_bf16 wbnoinvd arat avx512vbmi umip pku "
    "ospke waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq la57 rdpid "
    "cldemote movdiri movdir64b fsrm md_clear serialize tsxldtrk amx_bf16 avx512_fp16 amx_tile amx_int8 "
    "arch_capabilities"
)


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llama_cpu_flags", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


flags_mod = _module()


def _chosen(line: str, base: bool = False) -> dict[str, bool]:
    chosen: dict[str, bool] = flags_mod.choose(flags_mod.cpu_flags(f"processor\t: 0\n{line}\n"), base_only=base)
    return chosen


def test_amd_without_avx512_gets_the_avx2_base_only() -> None:
    c = _chosen(AMD)
    assert c["GGML_NATIVE"] is False
    assert all(c[o] for o in ("GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_BMI2"))
    assert not any(c[o] for o in ("GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16"))
    assert not any(c[o] for o in ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16"))


def test_intel_with_amx_gets_avx512_but_never_amx() -> None:
    c = _chosen(INTEL)
    assert c["GGML_NATIVE"] is False
    assert all(c[o] for o in ("GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16"))
    assert not any(c[o] for o in ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16", "GGML_AVX_VNNI"))
    args = flags_mod.cmake_args(c)
    assert "-DGGML_NATIVE=OFF" in args and "-DGGML_AMX_TILE=OFF" in args and "-DGGML_AVX512=ON" in args


def test_base_fallback_drops_avx512_and_keys_differ() -> None:
    full, base = _chosen(INTEL), _chosen(INTEL, base=True)
    assert base["GGML_AVX2"] and not base["GGML_AVX512"] and not base["GGML_AVX512_VNNI"]
    # The wheel folder is keyed by the flags: an AMD wheel never serves the Intel host, nor the reverse.
    keys = {flags_mod.key(full), flags_mod.key(base), flags_mod.key(_chosen(AMD))}
    assert len(keys) == 3 or flags_mod.key(base) == flags_mod.key(_chosen(AMD))
    assert flags_mod.key(full) != flags_mod.key(_chosen(AMD))


def test_avx512_member_without_avx512f_is_not_enabled() -> None:
    c = _chosen(AMD + " avx512_vnni")
    assert not c["GGML_AVX512_VNNI"]


def test_command_line_reads_a_cpuinfo_file(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\n{INTEL}\n\nprocessor\t: 1\n{INTEL}\n")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--cpuinfo", str(cpuinfo), "--cmake-args"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "-DGGML_AVX512=ON" in out and "-DGGML_AMX_INT8=OFF" in out and "-march" not in out
