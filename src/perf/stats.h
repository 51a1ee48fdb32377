// Timing helpers for benchmarks: a monotonic clock, a warm-up-then-measure loop with an
// optional time budget, and order statistics over the samples.
#pragma once

#include <functional>
#include <vector>

namespace yolo9k::perf {

// Milliseconds on a monotonic clock (steady_clock): only differences are meaningful.
double now_ms();

struct Summary {
    std::vector<double> samples_ms;  // in the order they were taken
    double median = 0;
    double min = 0;
    double max = 0;
    double p90 = 0;
    double mean = 0;
};

// Percentile p in [0, 1] of `values`, linearly interpolated between order statistics
// (numpy's default), so the median of an even count is the mean of the middle two.
// Throws yolo9k::Error for an empty input or p outside [0, 1].
double percentile(std::vector<double> values, double p);

// Median/min/max/p90/mean of `samples_ms`; throws yolo9k::Error when it is empty.
Summary summarize(std::vector<double> samples_ms);

struct TimingOptions {
    int warmup = 1;          // untimed calls first (caches, lazy allocation, thread pools)
    int iterations = 10;     // measured calls at most
    double budget_ms = 0;    // > 0: stop measuring once this much measured time has passed...
    int min_iterations = 1;  // ...but never before this many samples
};

// Calls `fn` options.warmup times, then up to options.iterations times, timing each call.
// Warm-up calls always all run and do not count against the budget.
Summary measure(const std::function<void()>& fn, const TimingOptions& options = {});

}  // namespace yolo9k::perf
