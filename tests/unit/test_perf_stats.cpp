// Timing statistics and the FMA-peak probe. Timing-based checks use loose bounds: CI
// machines are noisy, and the point is wiring, not precision.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/error.h"
#include "perf/fma_peak.h"
#include "perf/stats.h"

using namespace yolo9k::perf;

TEST(PerfStats, MedianOfOddCountIsMiddleValue) {
    EXPECT_DOUBLE_EQ(percentile({3.0, 1.0, 2.0}, 0.5), 2.0);
    EXPECT_DOUBLE_EQ(percentile({7.0}, 0.5), 7.0);
}

TEST(PerfStats, MedianOfEvenCountIsMeanOfMiddlePair) {
    EXPECT_DOUBLE_EQ(percentile({4.0, 1.0, 3.0, 2.0}, 0.5), 2.5);
    EXPECT_DOUBLE_EQ(percentile({10.0, 20.0}, 0.5), 15.0);
}

TEST(PerfStats, PercentileInterpolatesBetweenOrderStatistics) {
    std::vector<double> v;
    for (int i = 10; i >= 1; --i) v.push_back(i);  // unsorted on purpose
    EXPECT_DOUBLE_EQ(percentile(v, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(percentile(v, 1.0), 10.0);
    EXPECT_NEAR(percentile(v, 0.9), 9.1, 1e-12);  // position 0.9 * 9 = 8.1
}

TEST(PerfStats, PercentileRejectsBadInput) {
    EXPECT_THROW(percentile({}, 0.5), yolo9k::Error);
    EXPECT_THROW(percentile({1.0}, -0.1), yolo9k::Error);
    EXPECT_THROW(percentile({1.0}, 1.5), yolo9k::Error);
}

TEST(PerfStats, SummarizeKeepsSampleOrderAndComputesAll) {
    const Summary s = summarize({5.0, 1.0, 3.0, 2.0, 4.0});
    EXPECT_EQ(s.samples_ms, (std::vector<double>{5.0, 1.0, 3.0, 2.0, 4.0}));
    EXPECT_DOUBLE_EQ(s.median, 3.0);
    EXPECT_DOUBLE_EQ(s.min, 1.0);
    EXPECT_DOUBLE_EQ(s.max, 5.0);
    EXPECT_DOUBLE_EQ(s.mean, 3.0);
    EXPECT_NEAR(s.p90, 4.6, 1e-12);
    EXPECT_THROW(summarize({}), yolo9k::Error);
}

TEST(PerfStats, ClockIsMonotonic) {
    double prev = now_ms();
    for (int i = 0; i < 1000; ++i) {
        const double t = now_ms();
        ASSERT_GE(t, prev);
        prev = t;
    }
}

TEST(PerfStats, MeasureRunsWarmupThenIterations) {
    int calls = 0;
    const Summary s = measure([&] { ++calls; }, {.warmup = 2, .iterations = 7});
    EXPECT_EQ(calls, 9);
    EXPECT_EQ(s.samples_ms.size(), 7u);
    for (double ms : s.samples_ms) EXPECT_GE(ms, 0.0);
}

TEST(PerfStats, MeasureStopsAtBudgetButKeepsMinimum) {
    using namespace std::chrono_literals;
    const Summary s = measure([] { std::this_thread::sleep_for(5ms); },
                              {.warmup = 0, .iterations = 100, .budget_ms = 12, .min_iterations = 1});
    EXPECT_GE(s.samples_ms.size(), 1u);
    EXPECT_LE(s.samples_ms.size(), 3u);  // 5 ms sleeps overshoot 12 ms by the third sample
    EXPECT_GE(s.min, 4.0);

    int calls = 0;
    const Summary floor = measure([&] { ++calls; },
                                  {.warmup = 0, .iterations = 10, .budget_ms = 1e-9, .min_iterations = 4});
    EXPECT_EQ(floor.samples_ms.size(), 4u);
    EXPECT_EQ(calls, 4);
    EXPECT_THROW(measure([] {}, {.iterations = 0}), yolo9k::Error);
}

TEST(PerfFmaPeak, AllThreadsAtLeastOneThread) {
    FmaPeakOptions options;
    options.trials = 3;
    options.trial_ms = 20;
    // Other test processes may share the cores (ctest -j): retry before calling it a failure.
    FmaPeak peak;
    for (int attempt = 0; attempt < 3; ++attempt) {
        peak = measure_fma_peak(options);
        if (peak.gflops_total >= 0.9 * peak.gflops_per_thread) break;
    }
    EXPECT_EQ(peak.isa, best_fma_isa());
    EXPECT_EQ(peak.threads, available_cpus());
    EXPECT_GT(peak.gflops_per_thread, 0.0);
    EXPECT_GE(peak.gflops_total, 0.9 * peak.gflops_per_thread)
        << "isa " << peak.isa << ", " << peak.threads << " threads";
}

TEST(PerfFmaPeak, EveryKernelThisCpuSupportsRuns) {
    for (const char* isa : {"avx512f", "avx512bf16", "avx512vnni", "amx-int8", "amx-bf16", "avx2+fma", "generic"}) {
        if (!fma_isa_supported(isa)) continue;
        FmaPeakOptions options;
        options.threads = 1;
        options.trials = 1;
        options.trial_ms = 10;
        options.isa = isa;
        const FmaPeak peak = measure_fma_peak(options);
        EXPECT_EQ(peak.isa, isa);
        EXPECT_GT(peak.gflops_per_thread, 0.0) << isa;
        EXPECT_DOUBLE_EQ(peak.gflops_total, peak.gflops_per_thread) << isa;
    }
}

// The int8 probes count operations as the f32 one counts FLOPs (a multiply-add is 2): VNNI
// does 4x the f32 FMA's work per instruction, and an AMX tile instruction hundreds of times
// more, so where both run the AMX figure must be far above the VNNI one.
TEST(PerfFmaPeak, AmxInt8OutrunsVnniWhereTheCpuHasBoth) {
    if (!fma_isa_supported("amx-int8") || !fma_isa_supported("avx512vnni")) GTEST_SKIP() << "no AMX int8 here";
    const auto peak = [](const char* isa) {
        return measure_fma_peak({.threads = 1, .trials = 2, .trial_ms = 20, .isa = isa}).gflops_per_thread;
    };
    EXPECT_GT(peak("amx-int8"), 2 * peak("avx512vnni"));
}

TEST(PerfFmaPeak, RejectsUnknownIsaAndBadOptions) {
    FmaPeakOptions unknown;
    unknown.isa = "sse9";
    EXPECT_THROW(measure_fma_peak(unknown), yolo9k::Error);
    FmaPeakOptions no_trials;
    no_trials.trials = 0;
    EXPECT_THROW(measure_fma_peak(no_trials), yolo9k::Error);
    EXPECT_TRUE(fma_isa_supported("generic"));
    EXPECT_FALSE(fma_isa_supported("sse9"));
}
