// --precision bf16 on the oneDNN backend: that it really runs bf16 kernels (never f32 ones
// under a bf16 label), that it refuses a CPU without AVX512-BF16 by name, and how far its
// outputs move from f32's. The op table (tests/ops) checks every layer type in bf16 too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "backend/backend.h"
#include "network/initialize.h"
#include "network/network.h"
#include "perf/fma_peak.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

bool cpu_has_bf16() { return perf::fma_isa_supported("avx512bf16"); }

Network darknet_net(const std::string& cfg, int size, uint32_t seed) {
    Network net = Network::from_cfg_file(test::darknet_cfg(cfg), {.width = size, .height = size});
    initialize_weights(net, seed);
    return net;
}

TEST(Bf16, EveryConvolutionRunsABf16KernelOrTheCpuIsRefusedByName) {
    Network net = darknet_net("yolov2-voc.cfg", 128, 1);
    if (!cpu_has_bf16()) {
        try {
            make_executor(net, "onednn", {.precision = Precision::bf16});
            FAIL() << "bf16 accepted on a CPU without AVX512-BF16";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("AVX512-BF16"), std::string::npos) << e.what();
        }
        return;
    }
    auto ex = make_executor(net, "onednn", {.precision = Precision::bf16});
    int convolutions = 0;
    for (const LayerExecution& l : ex->plan().layers) {
        if (l.type != "convolutional") continue;
        ++convolutions;
        // oneDNN's implementation names carry the ISA they were built for: a bf16 request that
        // fell back to an f32 or reference kernel would read "jit:avx512_core" or "ref:any".
        EXPECT_NE(l.kernel.find("avx512_core_bf16"), std::string::npos) << "layer " << l.layer << ": " << l.kernel;
        EXPECT_EQ(l.kernel.find("ref"), std::string::npos) << "layer " << l.layer << ": " << l.kernel;
    }
    EXPECT_EQ(convolutions, 23);
    // Activations travel as bf16 between the convolutions; the last feeds the head in f32.
    const auto layers = ex->plan().layers;
    EXPECT_NE(layers[0].output_layout.find("bf16"), std::string::npos) << layers[0].output_layout;
    EXPECT_EQ(layers[net.output_layer() - 1].output_layout.find("bf16"), std::string::npos)
        << layers[net.output_layer() - 1].output_layout;
}

TEST(Bf16, ActivationsTakeAboutHalfTheMemory) {
    if (!cpu_has_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
    Network net = darknet_net("yolov2-tiny-voc.cfg", 416, 2);
    const size_t f32 = make_executor(net, "onednn", {.batch = 2})->plan().activation_bytes;
    const size_t bf16 = make_executor(net, "onednn", {.batch = 2, .precision = Precision::bf16})->plan().activation_bytes;
    EXPECT_LT(double(bf16), 0.6 * double(f32)) << bf16 << " bytes in bf16 vs " << f32 << " in f32";
}

// On the real network shapes, with darknet's initialisation: each output of the head's input
// (the logits the boxes come from) stays within a few percent of the largest, and the
// decoded outputs (sigmoids, exp, softmax) within less.
TEST(Bf16, OutputsStayCloseToF32OnDarknetNetworks) {
    if (!cpu_has_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
    for (const char* cfg : {"yolov2-tiny-voc.cfg", "yolov2-voc.cfg"}) {
        Network net = darknet_net(cfg, 160, 3);
        const auto input = test::random_vector(net.input_shape().size(), 4, 0.f, 1.f);
        auto f32 = make_executor(net, "onednn", {.keep_outputs = true});
        auto bf16 = make_executor(net, "onednn", {.keep_outputs = true, .precision = Precision::bf16});
        f32->forward(input.data());
        bf16->forward(input.data());
        const int head_input = net.output_layer() - 1;
        const auto a = f32->layer_output(head_input), b = bf16->layer_output(head_input);
        const float scale = test::max_abs(a.data(), a.size());
        const float err = test::max_abs_diff(a.data(), b.data(), a.size());
        std::ostringstream what;
        what << cfg << ": logits differ by up to " << err << " of a largest " << scale;
        EXPECT_LE(err, 0.05f * scale) << what.str();
        EXPECT_GT(err, 0.f) << what.str() << " (bf16 identical to f32: is it running f32?)";
        const size_t n = size_t(net.layer(net.output_layer()).output_shape().size());
        EXPECT_LE(test::max_abs_diff(f32->output(), bf16->output(), n), 0.05f) << cfg << ": decoded outputs";
    }
}

// The command line shows what oneDNN itself reports running: ONEDNN_VERBOSE's exec lines.
TEST(CliBf16, OnednnVerboseShowsBf16ConvolutionKernels) {
    if (!cpu_has_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
    test::TempDir d;
    Network net = darknet_net("yolov2-tiny-voc.cfg", 416, 5);
    net.save_weights(d.file("tiny.weights"));
    setenv("ONEDNN_VERBOSE", "1", 1);
    const auto r = test::run_cli("detect --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights " +
                                     d.file("tiny.weights") + " --size 128 --precision bf16 -q " + test::darknet_data("dog.jpg"),
                                 120);
    unsetenv("ONEDNN_VERBOSE");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    int bf16_convolutions = 0;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        if (line.find(",exec,") == std::string::npos || line.find(",convolution,") == std::string::npos) continue;
        EXPECT_NE(line.find("avx512_core_bf16"), std::string::npos) << line;
        EXPECT_NE(line.find("src_bf16"), std::string::npos) << line;
        bf16_convolutions += line.find("avx512_core_bf16") != std::string::npos;
    }
    EXPECT_EQ(bf16_convolutions, 9) << r.out.substr(0, 2000);
}

// What issue 2 left open: 3x OpenCV dnn at batch 1 within 2x the weights file. In bf16 the
// kernels keep half-size weights (no Winograd copies), and the host's f32 ones are freed layer
// by layer: about 1.4x the 203 MB file on the real network at 416.
TEST(CliBf16, DetectWithYolov2VocPeaksUnderTwiceItsWeightsFile) {
    if (test::kSanitized) GTEST_SKIP() << "peak RSS means nothing under AddressSanitizer";
    if (!cpu_has_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
    test::TempDir d;
    const auto [r, weights_bytes] = test::detect_yolov2_voc(d, "--precision bf16");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_GT(r.peak_rss_kib, 0);
    EXPECT_LE(double(r.peak_rss_kib) * 1024, 2.0 * double(weights_bytes))
        << "peak RSS " << r.peak_rss_kib / 1024 << " MiB for a " << weights_bytes / (1 << 20) << " MiB weights file";
}

TEST(CliBf16, RefusedWhereOnednnMayNotUseBf16) {
    test::TempDir d;
    Network net = darknet_net("yolov2-tiny-voc.cfg", 416, 6);
    net.save_weights(d.file("tiny.weights"));
    setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI", 1);  // as on a CPU without AVX512-BF16
    const auto r = test::run_cli("detect --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights " +
                                     d.file("tiny.weights") + " --size 128 --precision bf16 -q " + test::darknet_data("dog.jpg"),
                                 120);
    unsetenv("ONEDNN_MAX_CPU_ISA");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("AVX512-BF16"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ONEDNN_MAX_CPU_ISA"), std::string::npos) << r.err;
}

TEST(CliBf16, Int8IsRefusedByTheBackendUntilItIsBuilt) {
    test::TempDir d;
    Network net = darknet_net("yolov2-tiny-voc.cfg", 416, 7);
    net.save_weights(d.file("tiny.weights"));
    const auto r = test::run_cli("detect --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights " +
                                 d.file("tiny.weights") + " --size 128 --precision int8 -q " + test::darknet_data("dog.jpg"));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("cannot compute in int8"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace yolo9k
