// YOLO9000 against libdarknet: read_tree's structure, hierarchy_predictions and
// hierarchy_top_prediction on the real 9k tree, and yolo9000.cfg end to end (random
// weights): the [region] output, and detections from get_network_boxes(hier_thresh) +
// do_nms_sort with and without a class map.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <iostream>
#include <random>

#include <opencv2/imgcodecs.hpp>

#include "backend/backend.h"
#include "detect/letterbox.h"
#include "darknet.h"
#include "darknet_oracle.h"
#include "support/test_support.h"
#include "tree/word_tree.h"
#include "yolo9k/detector.h"

// Exported by libdarknet (tree.c) but not declared in darknet.h.
extern "C" int hierarchy_top_prediction(float* predictions, tree* hier, float thresh, int stride);
extern "C" void softmax_cpu(float* input, int n, int batch, int batch_offset, int groups, int group_offset, int stride,
                            float temp, float* output);
extern "C" void activate_array(float* x, int n, ACTIVATION a);

namespace yolo9k {
namespace {

std::string nine_k(const char* name) { return test::darknet_data(name); }

TEST(WordTreeDarknet, ReadTreeStructureMatches) {
    const WordTree ours = load_word_tree(nine_k("9k.tree"));
    std::string path = nine_k("9k.tree");
    const tree* theirs = read_tree(path.data());
    ASSERT_EQ(theirs->n, ours.size());
    ASSERT_EQ(theirs->groups, ours.groups());
    for (int i = 0; i < ours.size(); ++i) {
        ASSERT_EQ(theirs->parent[i], ours.parent[i]) << i;
        ASSERT_EQ(theirs->group[i], ours.group[i]) << i;
        ASSERT_EQ(theirs->child[i], ours.child_group[i]) << i;
        ASSERT_EQ(theirs->leaf[i] != 0, ours.is_leaf(i)) << i;
        ASSERT_EQ(std::string(theirs->name[i]), ours.ids[i]) << i;
    }
    for (int g = 0; g < ours.groups(); ++g) {
        ASSERT_EQ(theirs->group_offset[g], ours.group_offset[g]) << g;
        ASSERT_EQ(theirs->group_size[g], ours.group_size[g]) << g;
    }
}

// Random logits (scaled so that some descents go deep), group softmax, then products
// and the top-down prediction, ours vs darknet's, at strides 1 and 3.
TEST(WordTreeDarknet, HierarchyProductsAndTopPredictionMatch) {
    const WordTree ours = load_word_tree(nine_k("9k.tree"));
    std::string path = nine_k("9k.tree");
    tree* theirs = read_tree(path.data());
    std::mt19937 rng(5);
    std::normal_distribution<float> logit(0, 1);
    int compared = 0, depth_sum = 0;
    for (const int stride : {1, 3}) {
        for (int trial = 0; trial < 40; ++trial) {
            const float scale = 1.f + trial % 8 * 2.f;
            std::vector<float> x(size_t(ours.size()) * stride, 0.f);
            for (int j = 0; j < ours.size(); ++j) x[size_t(j) * stride] = scale * logit(rng);
            std::vector<float> p(x.size());
            tree_softmax(ours, x.data(), p.data(), stride);
            std::vector<float> mine = p, dn = p;
            hierarchy_products(ours, mine.data(), stride);
            hierarchy_predictions(dn.data(), ours.size(), theirs, 0, stride);
            for (int j = 0; j < ours.size(); ++j) ASSERT_EQ(mine[size_t(j) * stride], dn[size_t(j) * stride]) << j;
            for (const float thresh : {.001f, .05f, .2f, .5f, .8f}) {
                const int a = top_down_prediction(ours, mine.data(), thresh, stride);
                const int b = hierarchy_top_prediction(dn.data(), theirs, thresh, stride);
                ASSERT_EQ(a, b) << "stride " << stride << " trial " << trial << " thresh " << thresh;
                ++compared;
                depth_sum += ours.depth[a];
            }
        }
    }
    std::cout << "top-down predictions compared: " << compared << ", mean depth reached "
              << double(depth_sum) / compared << std::endl;
    EXPECT_GT(depth_sum, compared);  // the descents do go below the roots
}

// A classifier's [softmax] with tree= (darknet9000.cfg at 224, random weights): darknet's
// CPU forward_softmax_layer uses the right strides here, so its output is the oracle.
TEST(WordTreeDarknet, Darknet9000SoftmaxTreeOutputMatches) {
    test::TempDir dir;
    const int size = 224;
    const std::string cfg = dir.file("darknet9000.cfg"), weights = dir.file("random.weights");
    test::write_darknet_cfg(test::darknet_cfg("darknet9000.cfg"), cfg, size, size, 1);
    Network net = Network::from_cfg_file(cfg);
    test::randomize_weights(net, 90);
    net.save_weights(weights);
    const std::vector<float> input = test::random_vector(net.input_shape().size(), 91, 0.f, 1.f);
    auto exec = make_executor(net, "onednn", {.batch = 1, .threads = 2});
    exec->forward(input.data());
    ASSERT_EQ(net.layer(net.output_layer()).output_shape().size(), 9418u);
    test::DarknetNet dn(cfg, weights, 1);
    ASSERT_EQ(dn.output_size(), 9418u);
    const std::vector<float> theirs = dn.predict(input.data());
    const float* ours = exec->output();
    for (size_t i = 0; i < theirs.size(); ++i) ASSERT_TRUE(std::isfinite(theirs[i]) && std::isfinite(ours[i])) << i;
    const float max_value = test::max_abs(theirs.data(), theirs.size());
    const float max_diff = test::max_abs_diff(ours, theirs.data(), theirs.size());
    std::cout << "darknet9000@" << size << " [softmax] tree output: max|diff| " << max_diff << ", max|value| "
              << max_value << ", ratio " << max_diff / max_value << std::endl;
    EXPECT_LE(max_diff, 1e-4f * max_value);
    // Each sibling group sums to 1.
    const WordTree tree = load_word_tree(nine_k("9k.tree"));
    for (int g = 0; g < tree.groups(); ++g) {
        double sum = 0;
        for (int i = 0; i < tree.group_size[g]; ++i) sum += ours[tree.group_offset[g] + i];
        ASSERT_NEAR(sum, 1.0, 1e-4) << g;
    }
}

using Found = test::DarknetFound;

// darknet's detector pipeline (test_detector: load_image_color, letterbox, predict, then
// get_network_boxes with hier_thresh and an optional map, do_nms_sort, draw_detections'
// pixel boxes), with the [region] output repaired as explained below.
class DarknetYolo9000 {
public:
    DarknetYolo9000(const std::string& cfg, const std::string& weights, const std::string& image_path) {
        net_ = load_network(const_cast<char*>(cfg.c_str()), const_cast<char*>(weights.c_str()), 0);
        set_batch_network(net_, 1);
        im_ = load_image_color(const_cast<char*>(image_path.c_str()), 0, 0);
        image sized = letterbox_image(im_, net_->w, net_->h);
        network_predict(net_, sized.data);
        free_image(sized);
        layer& l = net_->layers[net_->n - 1];
        const float* in = net_->layers[net_->n - 2].output;  // the [region]'s input
        const int cells = l.w * l.h, entries = l.coords + 1 + l.classes;
        // darknet's CPU forward_region_layer (this 2018 build) applies its tree softmax
        // with the strides of an older memory layout (group_offset 1, stride n*w*h across
        // the whole output) and the layer's temperature, which parse_region never sets (0):
        // the result overwrites objectness and boxes too, with NaNs. Reproduce that reading
        // to show it is what libdarknet computed ...
        std::vector<float> misindexed(l.output, l.output + l.outputs);
        for (int g = 0, count = l.coords + 1; g < l.softmax_tree->groups; count += l.softmax_tree->group_size[g++])
            softmax_cpu(const_cast<float*>(in) + count, l.softmax_tree->group_size[g], 1, l.inputs, l.n * cells, 1,
                        l.n * cells, l.temperature, misindexed.data() + count);
        size_t differ = 0, non_finite = 0;
        for (int i = 0; i < l.outputs; ++i) {
            non_finite += !std::isfinite(l.output[i]);
            differ += std::memcmp(&misindexed[i], &l.output[i], sizeof(float)) != 0;  // NaN == NaN here
        }
        std::cout << "libdarknet CPU [region] with tree: " << non_finite << " of " << l.outputs
                  << " outputs not finite; its misindexed tree softmax reproduced bit for bit except " << differ
                  << std::endl;
        EXPECT_EQ(differ, 0u);
        // ... and recompute the layer as darknet's GPU path (forward_region_layer_gpu) does
        // and the paper describes, with darknet's own CPU primitives: σ on x, y and
        // objectness, and the softmax over each sibling group of each cell's class entries.
        std::copy(in, in + l.outputs, l.output);
        for (int n = 0; n < l.n; ++n) {
            float* anchor = l.output + size_t(n) * entries * cells;
            activate_array(anchor, 2 * cells, LOGISTIC);
            activate_array(anchor + size_t(l.coords) * cells, cells, LOGISTIC);
            for (int g = 0; g < l.softmax_tree->groups; ++g) {
                const size_t at = size_t(n) * entries * cells + size_t(l.coords + 1 + l.softmax_tree->group_offset[g]) * cells;
                softmax_cpu(const_cast<float*>(in) + at, l.softmax_tree->group_size[g], 1, 0, cells, 1, cells, 1,
                            l.output + at);
            }
        }
        output_.assign(l.output, l.output + l.outputs);
    }
    ~DarknetYolo9000() {
        free_image(im_);
        free_network(net_);
    }
    const std::vector<float>& region_output() const { return output_; }

    std::vector<Found> detect(float thresh, float hier, const std::string& map_file) {
        layer& l = net_->layers[net_->n - 1];
        std::copy(output_.begin(), output_.end(), l.output);  // get_region_detections multiplies in place
        int* map = map_file.empty() ? nullptr : read_map(const_cast<char*>(map_file.c_str()));
        int nboxes = 0;
        detection* dets = get_network_boxes(net_, im_.w, im_.h, thresh, hier, map, 1, &nboxes);
        do_nms_sort(dets, nboxes, l.classes, .45f);
        std::vector<Found> out = test::darknet_reported_boxes(dets, nboxes, l.classes, thresh, im_.w, im_.h);
        free(map);
        free_detections(dets, nboxes);
        return out;
    }

private:
    network* net_ = nullptr;
    image im_{};
    std::vector<float> output_;
};

// yolo9000.cfg at 288x288 (9x9 cells, 3 anchors, 9418 classes) with random weights, on
// darknet's dog.jpg. The cfg's own map= (coco9k.map, 80 lines) cannot be given to
// darknet's decoder: get_region_detections reads map[0..199] whatever the file's length.
// inet9k.map (200 lines) is the one it handles.
TEST(WordTreeDarknet, Yolo9000RegionOutputAndDetectionsMatch) {
    test::TempDir dir;
    const int size = 288;
    const std::string cfg = dir.file("yolo9000.cfg"), weights = dir.file("random.weights");
    test::write_darknet_cfg(test::darknet_cfg("yolo9000.cfg"), cfg, size, size, 1);
    {
        Network net = Network::from_cfg_file(cfg);
        test::randomize_weights(net, 9000);
        net.save_weights(weights);
    }
    const std::string dog = test::darknet_data("dog.jpg");
    const cv::Mat img = cv::imread(dog, cv::IMREAD_COLOR);

    const auto t0 = std::chrono::steady_clock::now();
    DarknetYolo9000 darknet(cfg, weights, dog);
    const auto t1 = std::chrono::steady_clock::now();
    Detector ours({.cfg = cfg, .weights = weights, .threads = 2});
    std::vector<float> input(size_t(3) * size * size);
    prepare_network_input(img, size, size, ResizeMode::Letterbox, input.data());
    const float* ours_out = ours.forward(input.data());
    const auto t2 = std::chrono::steady_clock::now();
    using ms = std::chrono::duration<double, std::milli>;
    std::cout << "yolo9000@" << size << " load + forward: darknet " << int(ms(t1 - t0).count()) << " ms, yolo9k "
              << int(ms(t2 - t1).count()) << " ms" << std::endl;

    const std::vector<float>& theirs_out = darknet.region_output();
    ASSERT_EQ(theirs_out.size(), size_t(3 * (5 + 9418) * (size / 32) * (size / 32)));
    ASSERT_EQ(size_t(3 * (5 + ours.classes()) * (ours.input_width() / 32) * (ours.input_height() / 32)), theirs_out.size());
    for (size_t i = 0; i < theirs_out.size(); ++i) {
        ASSERT_TRUE(std::isfinite(theirs_out[i])) << i;
        ASSERT_TRUE(std::isfinite(ours_out[i])) << i;
    }
    const float max_value = test::max_abs(theirs_out.data(), theirs_out.size());
    const float max_diff = test::max_abs_diff(ours_out, theirs_out.data(), theirs_out.size());
    std::cout << "yolo9000@" << size << " region output: max|diff| " << max_diff << ", max|value| " << max_value
              << ", ratio " << max_diff / max_value << std::endl;
    EXPECT_LE(max_diff, 1e-4f * max_value);

    struct Variant {
        const char* label;
        float thresh, hier;
        std::string map;
    };
    const Variant variants[] = {
        {"top-down, hier .5", .2f, .5f, ""},
        {"top-down, hier .02 (deeper)", .2f, .02f, ""},
        {"inet9k.map, thresh .001", .001f, .5f, nine_k("inet9k.map")},
    };
    for (const Variant& v : variants) {
        Detector det({.cfg = cfg, .weights = weights, .thresh = v.thresh, .nms = .45f, .threads = 2, .hier = v.hier, .map = v.map});
        test::expect_same_detections(darknet.detect(v.thresh, v.hier, v.map), det.detect(img), v.label);
    }
}

}  // namespace
}  // namespace yolo9k
