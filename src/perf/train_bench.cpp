#include "perf/train_bench.h"

#include <random>

#include "backend/backend.h"
#include "core/error.h"
#include "layer/region.h"
#include "network/initialize.h"
#include "network/network.h"
#include "perf/stats.h"
#include "train/optimizer.h"
#include "train/region_loss.h"

namespace yolo9k::perf {

double TrainLayerTime::total_ms() const {
    double t = 0;
    for (double v : ms) t += v;
    return t;
}

TrainBenchResult bench_training(const TrainBenchOptions& o) {
    Network net = Network::from_cfg_file(o.cfg, {.width = o.size, .height = o.size});
    initialize_weights(net, 1);
    const auto* region = dynamic_cast<const RegionLayer*>(&net.layer(net.output_layer()));
    if (!region) throw Error(o.cfg + ": bench --train needs a detector cfg ending in [region]");
    const std::unique_ptr<TrainExecutor> ex_owner = make_train_executor(net, o.backend, {o.batch, o.threads});
    TrainExecutor& ex = *ex_owner;
    Optimizer opt(net);

    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    std::vector<float> input(size_t(o.batch) * net.input_shape().size());
    for (float& v : input) v = u(rng);
    std::vector<std::vector<TruthBox>> truths(o.batch);
    for (auto& t : truths)
        for (int k = 0; k < 6; ++k)
            t.push_back({int(rng() % unsigned(region->classes)), .1f + .8f * u(rng), .1f + .8f * u(rng), .05f + .3f * u(rng),
                         .05f + .3f * u(rng)});
    std::vector<float> grad(size_t(o.batch) * region->input_shape().size());

    std::vector<double> fwd, loss, bwd, upd, step;
    const auto one_step = [&](double* t) {
        t[0] = now_ms();
        ex.forward(input.data());
        t[1] = now_ms();
        region_loss(*region, ex.head_input(), ex.output(), truths, o.batch, 100000, grad.data());
        t[2] = now_ms();
        ex.zero_grad();
        ex.backward(grad.data());
        t[3] = now_ms();
        opt.step(ex.gradients(), 1e-6f, .9f, 5e-4f, o.batch);
        ex.parameters_changed();
        t[4] = now_ms();
    };
    for (int it = 0; it < o.iterations + 1; ++it) {
        double t[5];
        one_step(t);
        if (it == 0) continue;  // warm-up: first-touch allocations, primitive caches
        fwd.push_back(t[1] - t[0]);
        loss.push_back(t[2] - t[1]);
        bwd.push_back(t[3] - t[2]);
        upd.push_back(t[4] - t[3]);
        step.push_back(t[4] - t[0]);
    }

    TrainBenchResult r;
    r.cfg = o.cfg;
    r.size = o.size;
    r.batch = o.batch;
    r.step_ms = summarize(step).median;
    r.forward_ms = summarize(fwd).median;
    r.loss_ms = summarize(loss).median;
    r.backward_ms = summarize(bwd).median;
    r.update_ms = summarize(upd).median;
    r.images_per_s = 1000.0 * o.batch / r.step_ms;
    bool first = true;
    for (int i = 0; i < net.size(); ++i) {
        const Layer& l = net.layer(i);
        if (l.type() != "convolutional") continue;
        r.conv_gflop += l.flops() * o.batch * 1e-9 * (first ? 2 : 3);
        first = false;
    }
    r.gflops = r.conv_gflop / (r.step_ms * 1e-3);

    if (o.layers) {
        // Separate steps, so the marks' waits never touch the timings above.
        TrainProfile profile;
        ex.set_profile(&profile);
        for (int it = 0; it < o.iterations; ++it) {
            double t[5];
            one_step(t);
            r.profiled_passes_ms += (t[1] - t[0] + t[3] - t[2]) / o.iterations;
        }
        ex.set_profile(nullptr);
        for (int i = 0; i < net.size() && i < int(profile.ms.size()); ++i) {
            const Layer& l = net.layer(i);
            TrainLayerTime row{.layer = i, .type = std::string(l.type())};
            for (size_t p = 0; p < kTrainPhases; ++p) row.ms[p] = profile.ms[size_t(i)][p] / o.iterations;
            if (l.type() == "convolutional") row.conv_gflop = l.flops() * o.batch * 1e-9;
            row.input_gradient = i > 0;
            r.layers.push_back(row);
        }
    }
    return r;
}

}  // namespace yolo9k::perf
