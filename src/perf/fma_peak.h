// Measured fp32 FMA throughput of this machine: the roofline ceiling that benchmark
// numbers (GFLOP/s of a conv net) are compared against. Measured, never looked up from a
// spec sheet, because clocks, SMT, VMs and double-pumped AVX-512 (Zen 4) all move it.
#pragma once

#include <string>

namespace yolo9k::perf {

struct FmaPeak {
    std::string isa = {};           // "avx512f", "avx2+fma" or "generic"
    int threads = 0;                // threads used for gflops_total
    double gflops_per_thread = 0;   // best single-thread figure
    double gflops_total = 0;        // best figure with all `threads` running at once
};

struct FmaPeakOptions {
    int threads = 0;          // 0: one per CPU this process may run on
    int trials = 5;           // best of this many trials, for each of 1 and `threads` threads
    double trial_ms = 60;     // wall time of one trial
    // empty: the widest f32 FMA this CPU supports; else one of best_fma_isa()'s names, or
    // "avx512bf16" (vdpbf16ps, the bf16 peak: each instruction 32 multiply-adds) or
    // "avx512vnni" (vpdpbusd, the int8 peak: each instruction 64 multiply-adds, counted as
    // 2 operations each like FLOPs), or "amx-int8" / "amx-bf16" (AMX tile multiply-adds:
    // what oneDNN's int8 and bf16 kernels use where the CPU has AMX)
    std::string isa = {};
};

// Widest f32 FMA kernel this CPU (and OS) can run: "avx512f", "avx2+fma" or "generic".
std::string best_fma_isa();

// True when `isa` names a kernel that can run here.
bool fma_isa_supported(const std::string& isa);

// CPUs this process may run on (affinity mask, so taskset/cgroups are honoured); >= 1.
int available_cpus();

// Runs throughput-bound FMA loops (many independent accumulator chains) and reports the
// best of several trials. Throws yolo9k::Error for an unknown or unsupported `isa`.
FmaPeak measure_fma_peak(const FmaPeakOptions& options = {});

}  // namespace yolo9k::perf
