// Network::from_cfg on fuzzed cfgs, within a size budget, then the shape-dependent parts:
// describe(), FLOPs, the .weights size, resize() and, for small networks, every layer's
// reference forward pass.
//
// The budget is the library's own: limits().max_network_bytes (weights plus one image's
// activations, checked layer by layer before allocating) lowered to 64 MiB, so the fuzzer
// also tests that check. A cfg the limit lets through but that still allocates more is a bug
// (-rss_limit_mb / -malloc_limit_mb report it).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "fuzz_support.h"
#include "network/network.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

namespace {

constexpr std::uint64_t kMaxNetworkBytes = 64u << 20;
constexpr std::size_t kMaxForwardFloats = 1 << 20;  // activations of all layers, batch 1
constexpr double kMaxForwardFlops = 2e7;

void forward_all(Network& net) {
    std::size_t floats = net.input_shape().size();
    for (int i = 0; i < net.size(); ++i) floats += net.layer(i).output_shape().size();
    if (floats > kMaxForwardFloats || net.total_flops() > kMaxForwardFlops) return;
    std::vector<float> input(net.input_shape().size());
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = std::sin(0.37f * float(i));
    std::vector<std::vector<float>> outputs;
    for (int i = 0; i < net.size(); ++i) {
        const Layer& layer = net.layer(i);
        std::vector<const float*> in;
        for (int src : layer.sources()) in.push_back(src < 0 ? input.data() : outputs.at(std::size_t(src)).data());
        outputs.emplace_back(layer.output_shape().size());
        layer.forward_reference(std::span<const float* const>(in), outputs.back().data(), 1);
    }
}

void prepare_scratch() {
    // tree=/map= keys are resolved beside the cfg (and in the folder above it): give the
    // fuzzer a small tree and map there (dictionary words: data/tiny.tree, data/tiny.map).
    static bool done = false;
    if (done) return;
    done = true;
    yolo9k_fuzz::write_scratch("data/tiny.tree", "a -1\nb -1\nc 0\nd 0\ne 1\n");
    yolo9k_fuzz::write_scratch("data/tiny.map", "2\n3\n4\n");
    yolo9k_fuzz::write_scratch("cfg/.keep", "");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    limits().max_network_bytes = kMaxNetworkBytes;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    prepare_scratch();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    static const std::string cfg_path = yolo9k_fuzz::scratch_dir() + "/cfg/fuzz.cfg";
    expect_errors([&] {
        const CfgFile cfg = parse_cfg_text(text, cfg_path);
        Network net = Network::from_cfg(cfg);
        (void)net.describe();
        (void)net.total_flops();
        (void)net.weights_file_bytes();
        (void)net.weights_file_bytes(1);
        (void)net.output_layer();
        expect_errors([&] { net.require_rgb_input(); });
        expect_errors([&] { forward_all(net); });
        const int w = net.params().width, h = net.params().height;
        expect_errors([&] {
            net.resize(std::max(1, w / 2), std::max(1, h / 2));
            (void)net.describe();
        });
    });
    return 0;
}
