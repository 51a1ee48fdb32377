#include "perf/fma_peak.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define YOLO9K_PERF_X86 1
#endif
#if defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core/error.h"
#include "perf/stats.h"

namespace yolo9k::perf {
namespace {

// Written once per trial so the compiler cannot drop the accumulator chains.
std::atomic<float> g_sink{0.0f};

// acc = acc * kMul + kAdd converges to 1.0: no overflow, no denormals, however long it runs.
constexpr float kMul = 0.99990f;
constexpr float kAdd = 0.00010f;

// Accumulator chains per kernel. Zen 4: FMA latency 4 cycles, two 256-bit FMA pipes, so
// >= 8 chains saturate ymm; zmm ops occupy both pipes (double-pumped) and need fewer, but
// more chains cost nothing. 16 zmm chains + 2 constants fit the 32 AVX-512 registers;
// with only 16 ymm registers, 12 chains + 2 constants avoid spills.
constexpr int kChains512 = 16;
constexpr int kChainsAvx2 = 12;
constexpr int kChainsGeneric = 16;
constexpr int kGenericLanes = 4;

#ifdef YOLO9K_PERF_X86
// Every lane of every chain, summed (what the sink keeps alive).
__attribute__((target("avx512f"))) float sum_of_chains(const __m512 (&acc)[kChains512]) {
    __m512 sum = acc[0];
    for (int c = 1; c < kChains512; ++c) sum = _mm512_add_ps(sum, acc[c]);
    // Horizontal sum by hand: GCC 12's _mm512_reduce_add_ps trips -Wuninitialized.
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, sum);
    float total = 0;
    for (float v : lanes) total += v;
    return total;
}

__attribute__((target("avx512f"))) float fma_loop_avx512(std::uint64_t iterations) {
    __m512 acc[kChains512];
    for (int c = 0; c < kChains512; ++c) acc[c] = _mm512_set1_ps(0.01f * static_cast<float>(c));
    const __m512 mul = _mm512_set1_ps(kMul);
    const __m512 add = _mm512_set1_ps(kAdd);
    for (std::uint64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
        for (int c = 0; c < kChains512; ++c) acc[c] = _mm512_fmadd_ps(acc[c], mul, add);
    }
    return sum_of_chains(acc);
}

// vdpbf16ps: each lane adds two bf16 x bf16 products to an f32 accumulator, 64 FLOP per
// zmm instruction. Its rate against the f32 FMA's depends on the CPU: 2.0x on the Zen 4/5
// machines measured (843.9 vs 420.0 GF/s), 0.49x on a Xeon with AVX512-BF16 (112 vs 227 GF/s
// per thread), where it issues on one port and the FMA on two; so no test assumes a ratio. Two products of 2^-10 add 2^-9 per lane and iteration: a long trial
// (1e9 iterations) ends near 2e6, far from overflow, and nothing is ever denormal.
__attribute__((target("avx512f,avx512bf16"))) float bf16_loop_avx512(std::uint64_t iterations) {
    __m512 acc[kChains512];
    for (int c = 0; c < kChains512; ++c) acc[c] = _mm512_set1_ps(0.01f * static_cast<float>(c));
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0x1p-5f), _mm512_set1_ps(0x1p-5f));
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0x1p-5f), _mm512_set1_ps(0x1p-5f));
    for (std::uint64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
        for (int c = 0; c < kChains512; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
    }
    return sum_of_chains(acc);
}

// vpdpbusd: each 32-bit lane adds four u8 x s8 products to an s32 accumulator, 128 integer
// operations per zmm instruction (int8 inference's multiply-add). Integer lanes wrap without
// harm on a long trial; the sum only keeps the loop alive.
__attribute__((target("avx512f,avx512vnni"))) float vnni_loop_avx512(std::uint64_t iterations) {
    __m512i acc[kChains512];
    for (int c = 0; c < kChains512; ++c) acc[c] = _mm512_set1_epi32(c);
    const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
    for (std::uint64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
        for (int c = 0; c < kChains512; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    }
    __m512i sum = acc[0];
    for (int c = 1; c < kChains512; ++c) sum = _mm512_add_epi32(sum, acc[c]);
    alignas(64) std::int32_t lanes[16];
    _mm512_store_si512(lanes, sum);
    float total = 0;
    for (std::int32_t v : lanes) total += float(v);
    return total;
}

// AMX (Sapphire Rapids and later): one tile instruction multiplies a 16x64-byte tile by a
// 64-byte x 16 tile into a 16x16 s32 (int8: 16*16*64 multiply-adds) or f32 (bf16: 16*16*32)
// accumulator tile. Four independent accumulators (tiles 0-3) from four sources (4-7) keep
// the unit busy. oneDNN's int8 and bf16 kernels use these where the CPU has them, so these
// are the peaks those kernels are measured against.
struct alignas(64) TileConfig {
    std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
    std::uint16_t colsb[16] = {};
    std::uint8_t rows[16] = {};
};

__attribute__((target("amx-tile"))) void configure_tiles() {
    TileConfig cfg;
    for (int t = 0; t < 8; ++t) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
}

template <class Element>
__attribute__((target("amx-tile"))) void load_sources(Element one) {
    alignas(64) Element source[16 * 64 / sizeof(Element)];
    std::fill(std::begin(source), std::end(source), one);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, source, 64);
    _tile_loadd(5, source, 64);
    _tile_loadd(6, source, 64);
    _tile_loadd(7, source, 64);
}

__attribute__((target("amx-tile"))) float first_accumulator_and_release() {
    alignas(64) float out[16 * 16];
    _tile_stored(0, out, 64);
    _tile_release();
    return out[0];
}

__attribute__((target("amx-tile,amx-int8"))) float amx_int8_loop(std::uint64_t iterations) {
    configure_tiles();
    load_sources<std::int8_t>(1);  // s32 lanes wrap harmlessly on a long trial
    for (std::uint64_t i = 0; i < iterations; ++i) {
        _tile_dpbusd(0, 4, 6);
        _tile_dpbusd(1, 4, 7);
        _tile_dpbusd(2, 5, 6);
        _tile_dpbusd(3, 5, 7);
    }
    return first_accumulator_and_release();
}

__attribute__((target("amx-tile,amx-bf16"))) float amx_bf16_loop(std::uint64_t iterations) {
    configure_tiles();
    load_sources<std::uint16_t>(0x3a80);  // bf16 2^-10: products of 2^-20, far from overflow
    for (std::uint64_t i = 0; i < iterations; ++i) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    return first_accumulator_and_release();
}

// The CPU has the AMX feature (CPUID.7.0:EDX) and Linux grants this process the tile state.
bool amx_usable(unsigned edx_bit) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const unsigned tile = 1u << 24;
    if ((d & tile) == 0 || (d & (1u << edx_bit)) == 0) return false;
#if defined(__linux__)
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(std::uint64_t iterations) {
    __m256 acc[kChainsAvx2];
    for (int c = 0; c < kChainsAvx2; ++c) acc[c] = _mm256_set1_ps(0.01f * static_cast<float>(c));
    const __m256 mul = _mm256_set1_ps(kMul);
    const __m256 add = _mm256_set1_ps(kAdd);
    for (std::uint64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
        for (int c = 0; c < kChainsAvx2; ++c) acc[c] = _mm256_fmadd_ps(acc[c], mul, add);
    }
    __m256 sum = acc[0];
    for (int c = 1; c < kChainsAvx2; ++c) sum = _mm256_add_ps(sum, acc[c]);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, sum);
    float total = 0;
    for (float v : lanes) total += v;
    return total;
}
#endif

// Portable fallback: multiply-add the compiler may or may not fuse or vectorise; it still
// counts 2 FLOP per multiply-add, so the figure stays comparable.
float fma_loop_generic(std::uint64_t iterations) {
    float acc[kChainsGeneric][kGenericLanes];
    for (int c = 0; c < kChainsGeneric; ++c)
        for (int l = 0; l < kGenericLanes; ++l) acc[c][l] = 0.01f * static_cast<float>(c + l);
    for (std::uint64_t i = 0; i < iterations; ++i)
        for (int c = 0; c < kChainsGeneric; ++c)
            for (int l = 0; l < kGenericLanes; ++l) acc[c][l] = acc[c][l] * kMul + kAdd;
    float total = 0;
    for (auto& chain : acc)
        for (float v : chain) total += v;
    return total;
}

struct Kernel {
    std::string isa;
    float (*loop)(std::uint64_t);
    double flops_per_iteration;  // chains * lanes * 2 (an FMA is a multiply and an add)
};

Kernel kernel_for(const std::string& isa) {
#ifdef YOLO9K_PERF_X86
    if (isa == "avx512f") return {isa, fma_loop_avx512, kChains512 * 16 * 2.0};
    if (isa == "avx512bf16") return {isa, bf16_loop_avx512, kChains512 * 16 * 2 * 2.0};
    if (isa == "avx512vnni") return {isa, vnni_loop_avx512, kChains512 * 16 * 4 * 2.0};
    if (isa == "amx-int8") return {isa, amx_int8_loop, 4 * 16 * 16 * 64 * 2.0};
    if (isa == "amx-bf16") return {isa, amx_bf16_loop, 4 * 16 * 16 * 32 * 2.0};
    if (isa == "avx2+fma") return {isa, fma_loop_avx2, kChainsAvx2 * 8 * 2.0};
#endif
    if (isa == "generic") return {isa, fma_loop_generic, kChainsGeneric * kGenericLanes * 2.0};
    throw Error("fma peak: unknown ISA '" + isa + "' (expected avx512f, avx512bf16, avx512vnni, amx-int8, amx-bf16, avx2+fma or generic)");
}

// Seconds one call of the loop takes.
double time_loop(const Kernel& k, std::uint64_t iterations) {
    const double t0 = now_ms();
    g_sink.store(k.loop(iterations), std::memory_order_relaxed);
    return (now_ms() - t0) * 1e-3;
}

// Iterations that make one call last about `target_ms`; grows the probe until the timing
// is long enough (>= 5 ms) to trust.
std::uint64_t calibrate(const Kernel& k, double target_ms) {
    std::uint64_t iterations = 1 << 12;
    double seconds = time_loop(k, iterations);
    while (seconds < 5e-3 && iterations < (std::uint64_t{1} << 40)) {
        iterations *= 4;
        seconds = time_loop(k, iterations);
    }
    const double scaled = static_cast<double>(iterations) * (target_ms * 1e-3) / std::max(seconds, 1e-9);
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(scaled));
}

double best_single_thread(const Kernel& k, std::uint64_t iterations, int trials) {
    double best = 0;
    for (int t = 0; t < trials; ++t) {
        const double seconds = time_loop(k, iterations);
        best = std::max(best, k.flops_per_iteration * static_cast<double>(iterations) / seconds * 1e-9);
    }
    return best;
}

// All threads start together at a barrier; a trial's rate is total work over the span from
// the first start to the last finish, so a straggler (shared core, migration) lowers it.
double best_all_threads(const Kernel& k, std::uint64_t iterations, int trials, int threads) {
    std::vector<double> start(threads), stop(threads);
    std::barrier sync(threads + 1);
    std::vector<std::jthread> pool;
    pool.reserve(threads);
    for (int w = 0; w < threads; ++w) {
        pool.emplace_back([&, w] {
            for (int t = 0; t < trials; ++t) {
                sync.arrive_and_wait();  // trial begins
                start[w] = now_ms();
                g_sink.store(k.loop(iterations), std::memory_order_relaxed);
                stop[w] = now_ms();
                sync.arrive_and_wait();  // trial done
            }
        });
    }
    double best = 0;
    for (int t = 0; t < trials; ++t) {
        sync.arrive_and_wait();
        sync.arrive_and_wait();
        const double span_ms = *std::max_element(stop.begin(), stop.end()) -
                               *std::min_element(start.begin(), start.end());
        const double flops = k.flops_per_iteration * static_cast<double>(iterations) * threads;
        best = std::max(best, flops / (span_ms * 1e-3) * 1e-9);
    }
    return best;
}

}  // namespace

bool fma_isa_supported(const std::string& isa) {
    if (isa == "generic") return true;
#ifdef YOLO9K_PERF_X86
    // __builtin_cpu_supports checks CPUID and, for AVX/AVX-512, that the OS saves the state.
    __builtin_cpu_init();
    if (isa == "avx512f") return __builtin_cpu_supports("avx512f");
    if (isa == "avx512bf16") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
    if (isa == "avx512vnni") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
    if (isa == "amx-int8") return amx_usable(25);
    if (isa == "amx-bf16") return amx_usable(22);
    if (isa == "avx2+fma") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return false;
}

std::string best_fma_isa() {
    for (const char* isa : {"avx512f", "avx2+fma"})
        if (fma_isa_supported(isa)) return isa;
    return "generic";
}

int available_cpus() {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

FmaPeak measure_fma_peak(const FmaPeakOptions& options) {
    const std::string isa = options.isa.empty() ? best_fma_isa() : options.isa;
    const Kernel k = kernel_for(isa);
    if (!fma_isa_supported(isa)) throw Error("fma peak: this CPU cannot run the " + isa + " kernel");
    if (options.trials < 1) throw Error("fma peak: trials must be >= 1");
    if (options.trial_ms <= 0) throw Error("fma peak: trial_ms must be > 0");

    FmaPeak peak;
    peak.isa = isa;
    peak.threads = options.threads > 0 ? options.threads : available_cpus();
    const std::uint64_t iterations = calibrate(k, options.trial_ms);
    peak.gflops_per_thread = best_single_thread(k, iterations, options.trials);
    peak.gflops_total = peak.threads == 1
                            ? peak.gflops_per_thread
                            : best_all_threads(k, iterations, options.trials, peak.threads);
    return peak;
}

}  // namespace yolo9k::perf
