// Whole networks: the oneDNN executor against the reference executor on random weights.
#include <gtest/gtest.h>

#include "backend/backend.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

using test::darknet_cfg;

struct NetCase {
    const char* cfg;
    int size;
    int batch;
};

class OnednnMatchesReference : public ::testing::TestWithParam<NetCase> {};

TEST_P(OnednnMatchesReference, FinalAndEveryLayerOutput) {
    const NetCase c = GetParam();
    Network net = Network::from_cfg_file(darknet_cfg(c.cfg), {.width = c.size, .height = c.size});
    test::randomize_weights(net, 7);
    const Shape in = net.input_shape();
    const auto input = test::random_vector(size_t(c.batch) * in.size(), 11, 0.f, 1.f);

    auto ref = make_executor(net, "reference", {.batch = c.batch, .keep_outputs = true});
    auto fast = make_executor(net, "onednn", {.batch = c.batch, .keep_outputs = true});
    ref->forward(input.data());
    fast->forward(input.data());
    for (int i = 0; i < net.size(); ++i) {
        const auto a = ref->layer_output(i), b = fast->layer_output(i);
        ASSERT_EQ(a.size(), b.size());
        const float scale = std::max(test::max_abs(a.data(), a.size()), 1e-6f);
        EXPECT_LE(test::max_abs_diff(a.data(), b.data(), a.size()), 1e-4f * scale)
            << c.cfg << " layer " << i << " (" << net.layer(i).type() << ")";
    }
    const size_t n = size_t(c.batch) * net.layer(net.output_layer()).output_shape().size();
    const auto final_ref = ref->layer_output(net.output_layer());
    EXPECT_LE(test::max_abs_diff(final_ref.data(), fast->output(), n), 1e-4f * test::max_abs(final_ref.data(), n));
}

// Small input sizes keep the double-precision reference fast; shapes still exercise
// every layer (odd grids, size-2 stride-1 maxpool, reorg + route).
INSTANTIATE_TEST_SUITE_P(Nets, OnednnMatchesReference,
                         ::testing::Values(NetCase{"yolov2-tiny-voc.cfg", 96, 2}, NetCase{"yolov2-tiny.cfg", 160, 1},
                                           NetCase{"yolov2-voc.cfg", 96, 1}, NetCase{"darknet19.cfg", 64, 2}),
                         [](const auto& info) {
                             std::string name = info.param.cfg;
                             name = name.substr(0, name.find('.'));
                             for (auto& ch : name)
                                 if (!isalnum(ch)) ch = '_';
                             return name + "_" + std::to_string(info.param.size) + "_b" + std::to_string(info.param.batch);
                         });

}  // namespace
}  // namespace yolo9k
