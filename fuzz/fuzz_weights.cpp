// Network::load_weights (darknet .weights) into a fixed small network, whole-file and
// prefix (allow_prefix) modes. The reader takes only a path, so the input goes to a file.
//
// YOLO9K_FUZZ_WRITE_SEEDS=DIR: write valid seed files to DIR and exit (fuzz/corpus/weights came
// from this; named *.bin because the repository ignores *.weights).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_support.h"
#include "small_net.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

namespace {

void fill(Network& net, float base) {
    for (int i = 0; i < net.size(); ++i)
        for (const WeightBlob& b : net.layer(i).weight_blobs())
            for (std::size_t k = 0; k < b.data->size(); ++k) (*b.data)[k] = base + 0.01f * float(k % 17);
}

void write_seeds(const std::string& dir) {
    Network net = yolo9k_fuzz::small_net();
    fill(net, 0.5f);
    net.header() = {0, 2, 0, 12345};
    net.save_weights(dir + "/full-v0.2-weights.bin");
    net.save_weights(dir + "/prefix-1layer-weights.bin", 1);
    net.header() = {0, 1, 0, 77};  // 32-bit `seen`
    net.save_weights(dir + "/full-v0.1-weights.bin");
    std::exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = std::getenv("YOLO9K_FUZZ_WRITE_SEEDS")) write_seeds(dir);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Network net = yolo9k_fuzz::small_net();
    const std::string path = yolo9k_fuzz::write_scratch("in.weights", data, size);
    expect_errors([&] {
        const int loaded = net.load_weights(path, false);
        if (loaded != net.size()) std::abort();  // a whole-file load loads every layer or throws
        // What the loader accepted must be finite (and variances >= 0): it promises to refuse the rest.
        for (int i = 0; i < net.size(); ++i)
            for (const WeightBlob& b : net.layer(i).weight_blobs())
                for (float v : *b.data)
                    if (!std::isfinite(v)) std::abort();
    });
    expect_errors([&] { (void)net.load_weights(path, true); });
    return 0;
}
