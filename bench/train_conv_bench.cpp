// Times the oneDNN training kernel of every [convolutional] layer of a cfg (default:
// darknet's yolov2-voc at 416, batch 8): forward and backward medians, GFLOP/s, and the
// fraction of this machine's measured fp32 FMA peak. FLOPs per pass: forward, backward
// data and backward weights each cost the forward's; the first layer skips backward data
// (no input gradient), as in training.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "backend/onednn/kernel.h"
#include "core/error.h"
#include "layer/convolutional.h"
#include "network/network.h"
#include "perf/fma_peak.h"
#include "perf/stats.h"

namespace {

double load_average() {
    double load[1] = {0};
    return getloadavg(load, 1) == 1 ? load[0] : -1;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale) {
    std::uniform_real_distribution<float> u(-scale, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace yolo9k;
    CLI::App app("Forward + backward speed of the oneDNN [convolutional] training kernel");
    std::string cfg = "/usr/share/darknet/cfg/yolov2-voc.cfg";
    int size = 416, batch = 8, reps = 3;
    std::vector<int> only;
    double peak_override = 0;
    app.add_option("--cfg", cfg, "darknet cfg")->capture_default_str();
    app.add_option("--size", size, "network width and height")->capture_default_str();
    app.add_option("--batch", batch, "images per pass")->capture_default_str();
    app.add_option("--reps", reps, "timed repetitions per layer (median reported)")->capture_default_str();
    app.add_option("--peak", peak_override, "FMA peak in GFLOP/s to compare with (default: measured now)");
    app.add_option("--layers", only, "layer indices to time (default: every conv layer)")->delimiter(',');
    CLI11_PARSE(app, argc, argv);

    try {
        Network net = Network::from_cfg_file(cfg, {.width = size, .height = size});
        const double load_before = load_average();
        // Other processes depress a peak measurement: on a busy machine pass a quiet run's --peak.
        perf::FmaPeak peak = perf::measure_fma_peak();
        if (peak_override > 0) peak.gflops_total = peak_override;
        std::printf("%s at %d, batch %d, median of %d; FMA peak %.1f GFLOP/s (%s, %d threads); load %.2f\n",
                    cfg.c_str(), size, batch, reps, peak.gflops_total, peak.isa.c_str(), peak.threads, load_before);
        std::printf("%5s  %-44s %9s %9s %9s %7s\n", "layer", "convolution (output size)", "fwd ms", "bwd ms", "GFLOP/s",
                    "% peak");

        std::mt19937 rng(1);
        double total_flops = 0, total_ms = 0;
        for (int i = 0; i < net.size(); ++i) {
            auto* L = dynamic_cast<ConvolutionalLayer*>(&net.layer(i));
            if (!L || (!only.empty() && std::find(only.begin(), only.end(), i) == only.end())) continue;
            const int fan_in = L->input_shape().c * L->size * L->size;
            L->weights = random_floats(L->weights.size(), rng, std::sqrt(6.f / fan_in));
            auto kernel = (*onednn::train_kernels().find("convolutional"))({*L, batch});

            const bool first = L->sources().empty() ? i == 0 : L->sources()[0] < 0;
            const auto x = random_floats(size_t(batch) * L->input_shape().size(), rng, 1.f);
            const auto dy = random_floats(size_t(batch) * L->output_shape().size(), rng, 1.f);
            // gradient layout: biases, [scales], weights
            std::vector<float> y(dy.size()), state(kernel->state_floats()),
                dp(L->biases.size() + L->scales.size() + L->weights.size());
            std::vector<float> dx(first ? 0 : x.size());
            const float* inputs[] = {x.data()};
            float* input_grads[] = {first ? nullptr : dx.data()};

            const perf::TimingOptions timing{.warmup = 1, .iterations = reps};
            const auto fwd = perf::measure([&] { kernel->forward(inputs, y.data(), state.data()); }, timing);
            const auto bwd = perf::measure(
                [&] { kernel->backward(inputs, y.data(), dy.data(), state.data(), input_grads, dp.data()); }, timing);
            const double flops = L->flops() * batch * (first ? 2 : 3);
            const double ms = fwd.median + bwd.median;
            total_flops += flops;
            total_ms += ms;
            const Shape in = L->input_shape(), out = L->output_shape();
            char desc[96];
            std::snprintf(desc, sizeof desc, "%dx%d/%d %4d -> %4d  %3dx%-3d%s %s", L->size, L->size, L->stride, in.c,
                          out.c, out.w, out.h, L->batch_normalize ? " bn" : "", activation_name(L->activation));
            std::printf("%5d  %-44.44s %9.2f %9.2f %9.1f %6.1f%%\n", i, desc, fwd.median, bwd.median, flops / ms / 1e6,
                        100 * flops / ms / 1e6 / peak.gflops_total);
            std::fflush(stdout);
        }
        std::printf("total: %.1f GFLOP in %.1f ms = %.1f GFLOP/s, %.1f%% of FMA peak %.1f; load %.2f -> %.2f\n",
                    total_flops / 1e9, total_ms, total_flops / total_ms / 1e6,
                    100 * total_flops / total_ms / 1e6 / peak.gflops_total, peak.gflops_total, load_before,
                    load_average());
    } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
