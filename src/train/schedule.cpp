#include "train/schedule.h"

#include <cmath>

namespace yolo9k {
namespace {
// splitmix64: a tiny, well-mixed hash for seed-derived choices.
uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
}  // namespace

float learning_rate_at(const NetParams& p, int64_t b) {
    const double lr = p.learning_rate;
    if (b < p.burn_in) return float(lr * std::pow(double(b) / p.burn_in, p.power));
    if (p.policy == "constant") return float(lr);
    if (p.policy == "step") return float(lr * std::pow(p.scale, double(b / p.step)));
    if (p.policy == "steps") {
        double rate = lr;
        for (size_t i = 0; i < p.steps.size(); ++i) {
            if (p.steps[i] > b) return float(rate);
            rate *= p.scales[i];
        }
        return float(rate);
    }
    if (p.policy == "exp") return float(lr * std::pow(p.gamma, double(b)));
    if (p.policy == "poly") {
        if (p.max_batches <= 0) return float(lr);
        double frac = std::max(0.0, 1.0 - double(b) / p.max_batches);
        return float(lr * std::pow(frac, p.power));
    }
    if (p.policy == "sig") return float(lr / (1.0 + std::exp(p.gamma * double(b - p.step))));
    if (p.policy == "random") {
        // darknet draws a fresh uniform each batch; we hash the batch number (reproducible).
        double u = double(mix(uint64_t(b)) >> 11) / double(1ull << 53);
        return float(lr * std::pow(u, p.power));
    }
    return float(lr);
}

int multiscale_size(uint64_t seed, int64_t b, int max_batches) {
    if (max_batches > 0 && b + 200 > max_batches) return 608;
    return int(mix(seed ^ mix(uint64_t(b / 10))) % 10 + 10) * 32;
}

}  // namespace yolo9k
