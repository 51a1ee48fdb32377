// ONNX export (yolo9k/onnx_export.h): the graph's structure and refusals (unit), darknet's
// reorg proved equal to Reshape -> SpaceToDepth -> Reshape (unit), and the exported models run
// in OpenCV dnn and ONNX Runtime against yolo9k's own forward (oracle): every layer type in
// small networks, and darknet's yolov2-tiny-voc, yolov2-voc, yolov2 (608), darknet19 and yolo9000.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <tuple>
#include <sstream>

#include "api/model_access.h"
#include "backend/backend.h"
#include "core/error.h"
#include "detect/letterbox.h"
#include "detect/region_decode.h"
#include "export/onnx/layer_exporters.h"
#include "layer/layer.h"
#include "layer/region.h"
#include "layer/reorg.h"
#include "network/network.h"
#include "onnx/onnx_runtimes.h"
#include "support/test_support.h"
#include "yolo9k/detector.h"
#include "yolo9k/onnx_export.h"

namespace yolo9k {
namespace {

using test::RuntimeOutput;
using test::TempDir;

constexpr double kRelTolerance = 1e-4;  // max|diff| / max|value| per output tensor

// ONNX's SpaceToDepth, written from the operator's specification (DCR order):
// y[n, (by*s + bx)*C + c, i, j] = x[n, c, i*s + by, j*s + bx].
std::vector<float> space_to_depth(const std::vector<float>& x, int c, int h, int w, int s) {
    std::vector<float> y(x.size());
    const int oh = h / s, ow = w / s;
    for (int by = 0; by < s; ++by)
        for (int bx = 0; bx < s; ++bx)
            for (int k = 0; k < c; ++k)
                for (int i = 0; i < oh; ++i)
                    for (int j = 0; j < ow; ++j)
                        y[((size_t(by * s + bx) * c + k) * oh + i) * ow + j] = x[(size_t(k) * h + i * s + by) * w + j * s + bx];
    return y;
}

TEST(OnnxExport, DarknetsReorgIsSpaceToDepthBetweenTwoReshapes) {
    // The export's form: the input's memory read as (C/s², H·s, W·s), SpaceToDepth(s), and
    // the result's memory taken as the output (Reshapes move no data).
    for (auto [c, h, w, s] : {std::array{64, 26, 26, 2}, std::array{8, 4, 6, 2}, std::array{18, 6, 3, 3}}) {
        Network net = test::net_from("[reorg]\nstride=" + std::to_string(s) + "\n", w, h, c);
        const std::vector<float> x = test::random_vector(size_t(c) * h * w, 5);
        std::vector<float> ours(x.size());
        const float* in[] = {x.data()};
        net.layer(0).forward_reference(in, ours.data(), 1);
        EXPECT_EQ(space_to_depth(x, c / (s * s), h * s, w * s, s), ours) << c << "x" << h << "x" << w << " stride " << s;
    }
}

TEST(OnnxExport, EveryLayerTypeHasAnExporter) {
    // A new layer type must say how it exports ([cost] is an identity at inference).
    std::vector<std::string> missing;
    for (const std::string& type : registered_layers())
        if (type != "cost" && !onnx_export::layer_exporters().find(type)) missing.push_back(type);
    EXPECT_TRUE(missing.empty()) << "no ONNX exporter for: " << ::testing::PrintToString(missing);
}

// A small detector with every layer type a YOLOv2 uses: conv + batch norm + leaky, the
// size-2 stride-1 maxpool (asymmetric padding), reorg, a two-input route, and the region.
const char* kSmallDetector = R"([convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=leaky
[maxpool]
size=2
stride=1
[reorg]
stride=2
[route]
layers=-3
[maxpool]
size=2
stride=2
[route]
layers=-1,-3
[convolutional]
filters=%FILTERS%
size=1
stride=1
pad=1
activation=linear
[region]
anchors=1.1,1.4, 2.5,1.9, 0.6,0.8
classes=%CLASSES%
num=3
%HEAD%
)";

std::string small_detector(int classes, const std::string& head) {
    std::string s = kSmallDetector;
    auto put = [&](const std::string& key, const std::string& value) { s.replace(s.find(key), key.size(), value); };
    put("%FILTERS%", std::to_string(3 * (5 + classes)));
    put("%CLASSES%", std::to_string(classes));
    put("%HEAD%", head);
    return s;
}

onnx::ModelProto parse(const std::string& bytes) {
    onnx::ModelProto m;
    EXPECT_TRUE(m.ParseFromString(bytes));
    return m;
}

std::map<std::string, std::string> metadata(const onnx::ModelProto& m) {
    std::map<std::string, std::string> out;
    for (const auto& e : m.metadata_props()) out[e.key()] = e.value();
    return out;
}

std::vector<int64_t> output_dims(const onnx::ValueInfoProto& v) {
    std::vector<int64_t> d;
    for (const auto& dim : v.type().tensor_type().shape().dim()) d.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    return d;
}

TEST(OnnxExport, DeclaresItsOutputsAndMetadata) {
    Network net = test::net_from(small_detector(4, "softmax=1"), 64, 64, 3);
    test::randomize_weights(net, 3);
    const Model model = ModelAccess::view(net);
    OnnxExportReport report;
    const onnx::ModelProto boxes =
        parse(to_onnx_bytes(model, {.batch = 0, .decode = OnnxDecode::boxes, .class_names = {"a", "b", "c", "d"}}, &report));
    ASSERT_EQ(boxes.graph().output_size(), 3);
    // 64 / 2 (maxpool) / 2 (reorg, and the second maxpool) = 16: a 16x16 grid of 3 anchors;
    // the batch is symbolic.
    EXPECT_EQ(output_dims(boxes.graph().output(0)), (std::vector<int64_t>{-1, 768, 4}));
    EXPECT_EQ(output_dims(boxes.graph().output(1)), (std::vector<int64_t>{-1, 768}));
    EXPECT_EQ(output_dims(boxes.graph().output(2)), (std::vector<int64_t>{-1, 768, 4}));
    EXPECT_EQ(boxes.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
    const auto meta = metadata(boxes);
    EXPECT_EQ(meta.at("yolo9k.class_names"), R"(["a","b","c","d"])");
    EXPECT_EQ(meta.at("yolo9k.grid"), "16x16");
    EXPECT_EQ(meta.at("yolo9k.decode"), "boxes");
    EXPECT_NE(meta.at("yolo9k.anchors").find("2.5"), std::string::npos);
    EXPECT_NE(meta.at("yolo9k.letterbox").find("0.5"), std::string::npos);
    EXPECT_EQ(report.outputs.size(), 3u);
    EXPECT_EQ(report.inputs.at(0), "images: N x 3 x 64 x 64");

    const onnx::ModelProto raw = parse(to_onnx_bytes(model, {.batch = 2}));
    ASSERT_EQ(raw.graph().output_size(), 1);
    EXPECT_EQ(output_dims(raw.graph().output(0)), (std::vector<int64_t>{2, 27, 16, 16}));
    // Batch norm is folded: no BatchNormalization node, one Conv per [convolutional].
    std::multiset<std::string> ops;
    for (const auto& n : raw.graph().node()) ops.insert(n.op_type());
    EXPECT_EQ(ops.count("BatchNormalization"), 0u);
    EXPECT_EQ(ops.count("Conv"), 3u);
    EXPECT_EQ(ops.count("SpaceToDepth"), 1u);
    EXPECT_EQ(ops.count("LeakyRelu"), 2u);
}

TEST(OnnxExport, RefusesWhatItCannotWriteFaithfully) {
    Network net = test::net_from(small_detector(2, "softmax=1"), 32, 32, 3);
    const Model model = ModelAccess::view(net);
    auto message = [&](const OnnxExportOptions& o) {
        try {
            to_onnx_bytes(model, o);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(message({.opset = 10}).find("opset 10"), std::string::npos);
    EXPECT_NE(message({.class_names = {"one"}}).find("1 class names, but"), std::string::npos);
    EXPECT_NE(message({.batch = -1}).find("batch"), std::string::npos);
}

// `yolo9k export` reads its files as `detect` does, so bad ones get the same messages.
TEST(OnnxExportCli, BadFilesGetTheSameErrorsAsDetect) {
    TempDir tmp;
    test::write_file(tmp.file("bad.cfg"), "[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilterz=4\n");
    test::write_file(tmp.file("short.weights"), std::string(30, '\0'));
    const std::string tiny = test::darknet_cfg("yolov2-tiny-voc.cfg");
    for (const std::string& args : {"--cfg " + tmp.file("bad.cfg") + " --weights " + tmp.file("short.weights"),
                                    "--cfg " + tiny + " --weights " + tmp.file("short.weights"),
                                    "--cfg " + tmp.file("none.cfg") + " --weights " + tmp.file("short.weights")}) {
        const test::CliResult e = test::run_cli("export " + args + " --out " + tmp.file("x.onnx"), 60);
        const test::CliResult d = test::run_cli("detect " + args + " " + test::darknet_data("dog.jpg"), 60);
        EXPECT_EQ(e.exit_code, 1) << args << "\n" << e.err;
        EXPECT_EQ(e.err, d.err) << args;
        EXPECT_FALSE(std::filesystem::exists(tmp.file("x.onnx")));
    }
    const test::CliResult usage = test::run_cli("export --cfg " + tiny + " --weights w --out o --batch 0", 60);
    EXPECT_NE(usage.exit_code, 0);
    EXPECT_NE(usage.err.find("--batch"), std::string::npos) << usage.err;

    // A good export says what it wrote.
    Network net = Network::from_cfg_file(tiny);
    test::randomize_weights(net, 2);
    net.save_weights(tmp.file("tiny.weights"));
    const test::CliResult ok = test::run_cli("export --cfg " + tiny + " --weights " + tmp.file("tiny.weights") + " --out " +
                                                 tmp.file("tiny.onnx") + " --decode boxes --batch dynamic --names " +
                                                 test::darknet_data("voc.names"),
                                             120);
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_NE(ok.out.find("output boxes: N x 845 x 4"), std::string::npos) << ok.out;
    EXPECT_EQ(metadata(parse(test::read_file(tmp.file("tiny.onnx")))).at("yolo9k.class_names").substr(0, 13),
              R"(["aeroplane",)");
}

// ---- Against the runtimes -------------------------------------------------------------

// What the graph's outputs must hold, from yolo9k's own forward (oneDNN backend).
std::vector<RuntimeOutput> expected_outputs(Network& net, const std::vector<float>& input, int batch, OnnxDecode decode) {
    auto exec = make_executor(net, "onednn", {.batch = batch, .keep_outputs = true});
    exec->forward(input.data());
    const int last = net.output_layer();
    const auto* region = dynamic_cast<const RegionLayer*>(&net.layer(last));
    std::vector<float> out(exec->output(), exec->output() + size_t(batch) * net.layer(last).output_shape().size());
    if (!region) return {{"", {}, out}};
    if (decode == OnnxDecode::none) return {{"output", {}, exec->layer_output(region->sources().at(0))}};
    const Shape s = region->output_shape();
    const int cells = s.h * s.w, a_n = region->num, e = region->entries(), k_n = region->classes;
    RuntimeOutput boxes{"boxes", {}, {}}, objectness{"objectness", {}, {}}, probs{"class_probs", {}, {}};
    for (int b = 0; b < batch; ++b)
        for (int cell = 0; cell < cells; ++cell)
            for (int a = 0; a < a_n; ++a) {
                auto at = [&](int k) { return out[((size_t(b) * a_n + a) * e + k) * cells + cell]; };
                const int col = cell % s.w, row = cell / s.w;
                boxes.values.insert(boxes.values.end(),
                                    {(col + at(0)) / s.w, (row + at(1)) / s.h, std::exp(at(2)) * region->anchors[2 * a] / s.w,
                                     std::exp(at(3)) * region->anchors[2 * a + 1] / s.h});
                objectness.values.push_back(at(4));
                for (int k = 0; k < k_n; ++k) probs.values.push_back(at(5 + k));
            }
    return {boxes, objectness, probs};
}

std::vector<std::string> output_names(const std::string& bytes) {
    const onnx::ModelProto model = parse(bytes);  // named: the loop must not outlive it
    std::vector<std::string> names;
    for (const auto& o : model.graph().output()) names.push_back(o.name());
    return names;
}

// max|diff| / max|expected| for each output, with a readable failure.
void expect_close(const std::vector<RuntimeOutput>& want, const std::vector<RuntimeOutput>& got, const std::string& what) {
    ASSERT_EQ(want.size(), got.size()) << what;
    for (size_t k = 0; k < want.size(); ++k) {
        ASSERT_EQ(want[k].values.size(), got[k].values.size()) << what << ": output " << got[k].name << " size";
        const float worst = test::max_abs_diff(want[k].values.data(), got[k].values.data(), want[k].values.size());
        const float scale = std::max(test::max_abs(want[k].values.data(), want[k].values.size()), 1e-30f);
        EXPECT_LE(worst / scale, kRelTolerance)
            << what << ": output " << got[k].name << " max|diff| " << worst << " max|value| " << scale;
    }
}

struct RuntimeCase {
    std::string name;  // test row
    std::string cfg;   // a darknet cfg name, or empty for `body`
    std::string body;  // a small network after [net]
    int size = 0, batch = 1;
    OnnxDecode decode = OnnxDecode::none;
    bool dynamic_batch = false;  // exported with a symbolic batch: ONNX Runtime only (OpenCV dnn fixes it at 1)
};

void PrintTo(const RuntimeCase& c, std::ostream* os) { *os << c.name; }

Network case_network(const RuntimeCase& c) {
    Network net = c.cfg.empty() ? test::net_from(c.body, c.size, c.size, 3) : Network::from_cfg_file(test::darknet_cfg(c.cfg));
    if (!c.cfg.empty() && c.size > 0) net.resize(c.size, c.size);
    test::randomize_weights(net, 11);
    return net;
}

class OnnxRuntimes : public ::testing::TestWithParam<RuntimeCase> {};

TEST_P(OnnxRuntimes, OpenCvDnnAndOnnxRuntimeMatchOurForward) {
    const RuntimeCase& c = GetParam();
    Network net = case_network(c);
    const Shape in = net.input_shape();
    const std::vector<float> input = test::random_vector(size_t(c.batch) * in.size(), 21, 0.f, 1.f);
    const std::vector<RuntimeOutput> want = expected_outputs(net, input, c.batch, c.decode);
    const std::string bytes =
        to_onnx_bytes(ModelAccess::view(net), {.batch = c.dynamic_batch ? 0 : c.batch, .decode = c.decode});
    const std::vector<std::string> names = output_names(bytes);
    const std::vector<int> dims = {c.batch, in.c, in.h, in.w};

    if (!c.dynamic_batch) expect_close(want, test::run_opencv_dnn(bytes, input, dims, names), "OpenCV dnn");

    if (test::onnxruntime_node_path().empty()) {
        YOLO9K_REQUIRE_ONNXRUNTIME();
    }
    TempDir tmp;
    test::write_file(tmp.file("model.onnx"), bytes);
    expect_close(want, test::run_onnxruntime(tmp.file("model.onnx"), input, dims, names), "ONNX Runtime");
}

std::string tree_head() { return "softmax=1\ntree=" + test::small_tree_path(); }

INSTANTIATE_TEST_SUITE_P(
    SmallNetworks, OnnxRuntimes,
    ::testing::Values(RuntimeCase{"raw_head", "", small_detector(4, "softmax=1"), 64, 1, OnnxDecode::none},
                      RuntimeCase{"decoded_softmax_batch2", "", small_detector(4, "softmax=1"), 64, 2, OnnxDecode::boxes},
                      RuntimeCase{"decoded_dynamic_batch3", "", small_detector(4, "softmax=1"), 64, 3, OnnxDecode::boxes,
                                  true},
                      RuntimeCase{"decoded_logistic", "", small_detector(3, ""), 64, 1, OnnxDecode::boxes},
                      RuntimeCase{"decoded_wordtree", "", small_detector(9, tree_head()), 64, 1, OnnxDecode::boxes},
                      RuntimeCase{"classifier_groups_temperature", "",
                                  "[convolutional]\nbatch_normalize=1\nfilters=12\nsize=3\nstride=2\npad=1\nactivation=relu\n"
                                  "[avgpool]\n[softmax]\ngroups=3\ntemperature=2\n",
                                  32, 2, OnnxDecode::none},
                      RuntimeCase{"classifier_wordtree", "",
                                  "[convolutional]\nfilters=9\nsize=1\nstride=1\npad=1\nactivation=logistic\n[avgpool]\n"
                                  "[softmax]\ntree=" + test::small_tree_path() + "\n",
                                  32, 1, OnnxDecode::none}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    DarknetCfgs, OnnxRuntimes,
    ::testing::Values(RuntimeCase{"yolov2_tiny_voc_raw", "yolov2-tiny-voc.cfg", "", 0, 1, OnnxDecode::none},
                      RuntimeCase{"yolov2_tiny_voc_boxes", "yolov2-tiny-voc.cfg", "", 0, 1, OnnxDecode::boxes},
                      RuntimeCase{"yolov2_voc_boxes", "yolov2-voc.cfg", "", 0, 1, OnnxDecode::boxes},
                      RuntimeCase{"yolov2_608_raw", "yolov2.cfg", "", 608, 1, OnnxDecode::none},
                      RuntimeCase{"darknet19", "darknet19.cfg", "", 0, 1, OnnxDecode::none},
                      RuntimeCase{"yolo9000_boxes", "yolo9000.cfg", "", 0, 1, OnnxDecode::boxes}),
    [](const auto& info) { return info.param.name; });

// The round trip a user makes: the image letterboxed as darknet does and the exported model
// run in ONNX Runtime, then (1) its raw head decoded with yolo9k's box decoding and NMS, and
// (2) the decoded model's outputs put through the README's Python steps, in JavaScript: both
// give the detections of `yolo9k detect` on the same weights.
TEST(OnnxRoundTrip, OnnxRuntimeOutputsGiveTheDetectorsDetections) {
    YOLO9K_REQUIRE_ONNXRUNTIME();
    TempDir tmp;
    const std::string cfg = test::darknet_cfg("yolov2-tiny-voc.cfg");
    Network net = Network::from_cfg_file(cfg);
    test::randomize_weights(net, 5);
    net.save_weights(tmp.file("random.weights"));
    const cv::Mat image = cv::imread(test::darknet_data("dog.jpg"));
    ASSERT_FALSE(image.empty());
    const float thresh = .3f, nms = .45f;
    Detector detector({.cfg = cfg, .weights = tmp.file("random.weights"), .thresh = thresh, .nms = nms, .threads = 2});
    const std::vector<Detection> want = detector.detect(image);

    const Shape in = net.input_shape();
    std::vector<float> input(in.size());
    const LetterboxGeometry geometry = prepare_network_input(image, in.w, in.h, ResizeMode::Letterbox, input.data());
    test::write_file(tmp.file("model.onnx"), to_onnx_bytes(ModelAccess::view(net)));
    std::vector<float> head = test::run_onnxruntime(tmp.file("model.onnx"), input, {1, in.c, in.h, in.w}, {"output"}).at(0).values;
    const auto& region = dynamic_cast<const RegionLayer&>(net.layer(net.output_layer()));
    region.activate_in_place(head.data(), 1);
    RegionDecodeParams params;
    params.grid_w = region.output_shape().w;
    params.grid_h = region.output_shape().h;
    params.num = region.num;
    params.classes = region.classes;
    params.anchors = region.anchors;
    const std::vector<Detection> got = decode_region(head.data(), params, geometry, thresh, nms);

    ASSERT_GT(want.size(), 0u) << "random weights gave no detection above " << thresh << ": the check would be empty";
    auto expect_same = [&](std::vector<Detection> got, const std::string& how) {
        // Pixel edges rounded to 0.1 (the two sides compute them in float and in double), the
        // score last: boxes clamped to the image edge share their edges.
        auto key = [](const Detection& d) {
            auto r = [](float v) { return std::lround(v * 10); };
            return std::tuple(d.class_id, r(d.box.x1), r(d.box.y1), r(d.box.x2), r(d.box.y2), d.score);
        };
        auto by_place = [&](const Detection& a, const Detection& b) { return key(a) < key(b); };
        std::vector<Detection> sorted_want = want;
        std::sort(sorted_want.begin(), sorted_want.end(), by_place);
        std::sort(got.begin(), got.end(), by_place);
        ASSERT_EQ(got.size(), sorted_want.size()) << how;
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].class_id, sorted_want[i].class_id) << how << " " << i;
            EXPECT_NEAR(got[i].score, sorted_want[i].score, 1e-4) << how << " " << i;
            for (auto [a, b] : {std::pair{got[i].box.x1, sorted_want[i].box.x1}, {got[i].box.y1, sorted_want[i].box.y1},
                                {got[i].box.x2, sorted_want[i].box.x2}, {got[i].box.y2, sorted_want[i].box.y2}})
                EXPECT_NEAR(a, b, .05) << how << ": detection " << i << " (pixels)";
        }
    };
    expect_same(got, "ONNX Runtime + yolo9k's decoding");

    test::write_file(tmp.file("boxes.onnx"), to_onnx_bytes(ModelAccess::view(net), {.decode = OnnxDecode::boxes}));
    const nlohmann::json js =
        nlohmann::json::parse(test::run_onnxruntime_detect(tmp.file("boxes.onnx"), input, image.cols, image.rows, thresh, nms));
    std::vector<Detection> from_js;
    for (const auto& d : js) {
        Detection det;
        det.class_id = d.at("class_id");
        det.score = d.at("score");
        det.box = {d.at("box")[0], d.at("box")[1], d.at("box")[2], d.at("box")[3]};
        from_js.push_back(det);
    }
    expect_same(from_js, "the README's steps in onnxruntime-node");
}

}  // namespace
}  // namespace yolo9k
