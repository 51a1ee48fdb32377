// load_checkpoint's "<weights>.state" sidecar (magic, version, JSON header, optimizer
// velocity) beside a fixed valid .weights for the small network. Path-only API: the input
// is written to scratch/ckpt.weights.state.
//
// YOLO9K_FUZZ_WRITE_SEEDS=DIR: write valid seed sidecars to DIR and exit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_support.h"
#include "small_net.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

namespace {

TrainState sample_state(std::uint64_t seen) {
    TrainState s;
    s.iteration = 6;
    s.seen = seen;
    s.seed = 42;
    s.avg_loss = 3.5f;
    s.best_map = 0.25f;
    s.history.iteration = {1, 2, 4, 6};
    s.history.loss = {9.f, 7.f, 5.f, 4.f};
    s.history.avg_loss = {9.f, 8.f, 6.f, 5.f};
    s.history.map_iteration = {4};
    s.history.map = {0.25f};
    return s;
}

void write_seeds(const std::string& dir) {
    Network net = yolo9k_fuzz::small_net();
    net.header().seen = 24;
    Optimizer opt(net);
    for (auto& v : opt.velocity())
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.001f * float(i);
    save_checkpoint(dir + "/sgd.weights", net, sample_state(24), opt);
    std::filesystem::rename(dir + "/sgd.weights.state", dir + "/sgd.state");
    std::filesystem::remove(dir + "/sgd.weights");
    TrainState empty;
    empty.seen = 24;
    empty.iteration = 12;
    save_checkpoint(dir + "/empty-history.weights", net, empty, opt);
    std::filesystem::rename(dir + "/empty-history.weights.state", dir + "/empty-history.state");
    std::filesystem::remove(dir + "/empty-history.weights");
    std::exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = std::getenv("YOLO9K_FUZZ_WRITE_SEEDS")) write_seeds(dir);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Network net = yolo9k_fuzz::small_net();
    static const std::string weights = [] {
        Network n = yolo9k_fuzz::small_net();
        n.header().seen = 24;  // the seeds' seen: the sidecar is read, not declared stale
        const std::string path = yolo9k_fuzz::scratch_dir() + "/ckpt.weights";
        n.save_weights(path);
        return path;
    }();
    yolo9k_fuzz::write_scratch("ckpt.weights.state", data, size);
    Optimizer opt(net);
    expect_errors([&] {
        std::string warning;
        (void)load_checkpoint(weights, net, opt, 2, warning);
    });
    return 0;
}
