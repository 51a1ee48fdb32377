#include "perf/stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace yolo9k::perf {

double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) throw Error("percentile of no samples");
    if (!(p >= 0.0 && p <= 1.0)) throw Error("percentile must be in [0, 1]");
    std::sort(values.begin(), values.end());
    const double pos = p * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

Summary summarize(std::vector<double> samples_ms) {
    if (samples_ms.empty()) throw Error("no timing samples to summarize");
    Summary s;
    s.median = percentile(samples_ms, 0.5);
    s.p90 = percentile(samples_ms, 0.9);
    const auto [lo, hi] = std::minmax_element(samples_ms.begin(), samples_ms.end());
    s.min = *lo;
    s.max = *hi;
    s.mean = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) /
             static_cast<double>(samples_ms.size());
    s.samples_ms = std::move(samples_ms);
    return s;
}

Summary measure(const std::function<void()>& fn, const TimingOptions& options) {
    if (options.iterations < 1) throw Error("timing: iterations must be >= 1");
    for (int i = 0; i < options.warmup; ++i) fn();
    const int floor = std::clamp(options.min_iterations, 1, options.iterations);
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(options.iterations));
    double spent = 0;
    for (int i = 0; i < options.iterations; ++i) {
        if (options.budget_ms > 0 && spent >= options.budget_ms && i >= floor) break;
        const double t0 = now_ms();
        fn();
        const double dt = now_ms() - t0;
        samples.push_back(dt);
        spent += dt;
    }
    return summarize(std::move(samples));
}

}  // namespace yolo9k::perf
