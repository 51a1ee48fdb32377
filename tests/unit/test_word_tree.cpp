// WordTree: parsing and validation, the group softmax (forward by hand, backward by
// finite differences), hierarchy products and darknet's top-down descent on a small tree
// whose expected values are computed by hand.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "detect/region_decode.h"
#include "support/test_support.h"
#include "tree/word_tree.h"

namespace yolo9k {
namespace {

// index: name (parent)          group
//  0 animal (-1)  1 plant (-1)    0
//  2 dog (0) 3 cat (0) 4 bird (0) 1
//  5 tree (1) 6 grass (1)         2
//  7 terrier (2) 8 hound (2)      3
const char* kSmallTree =
    "animal -1\nplant -1\ndog 0\ncat 0\nbird 0\ntree 1\ngrass 1\nterrier 2\nhound 2\n";
// Conditionals Pr(node | parent), each group summing to 1.
const std::vector<float> kConditional = {.7f, .3f, .6f, .3f, .1f, .8f, .2f, .9f, .1f};

TEST(WordTree, ParsesGroupsParentsDepthsLeaves) {
    const WordTree t = parse_word_tree(kSmallTree, "small.tree");
    ASSERT_EQ(t.size(), 9);
    EXPECT_EQ(t.ids[7], "terrier");
    EXPECT_EQ(t.parent, (std::vector<int>{-1, -1, 0, 0, 0, 1, 1, 2, 2}));
    EXPECT_EQ(t.group, (std::vector<int>{0, 0, 1, 1, 1, 2, 2, 3, 3}));
    EXPECT_EQ(t.child_group, (std::vector<int>{1, 2, 3, -1, -1, -1, -1, -1, -1}));
    EXPECT_EQ(t.depth, (std::vector<int>{0, 0, 1, 1, 1, 1, 1, 2, 2}));
    EXPECT_EQ(t.group_offset, (std::vector<int>{0, 2, 5, 7}));
    EXPECT_EQ(t.group_size, (std::vector<int>{2, 3, 2, 2}));
    EXPECT_FALSE(t.is_leaf(2));
    EXPECT_TRUE(t.is_leaf(8));
    EXPECT_EQ(t.path_to_root(8), (std::vector<int>{8, 2, 0}));
    // CRLF, tabs and no final newline read the same.
    const WordTree crlf = parse_word_tree("animal\t-1\r\nplant -1\r\ndog 0", "crlf.tree");
    EXPECT_EQ(crlf.parent, (std::vector<int>{-1, -1, 0}));
}

TEST(WordTree, MalformedTreesAreErrorsNamingTheLine) {
    struct Case {
        const char* name;
        const char* text;
        const char* expected;  // a fragment of the message, after "bad.tree:<line>:"
    };
    const Case cases[] = {
        {"self parent (a cycle)", "a -1\nb 1\n", "bad.tree:2: node 1 (b) has parent 1"},
        {"parent after the child", "a -1\nb 2\nc 0\n", "bad.tree:2: node 1 (b) has parent 2"},
        {"cycle through a later node", "a 1\nb 0\n", "bad.tree:1: node 0 (a) has parent 1"},
        {"parent below -1", "a -2\n", "bad.tree:1:"},
        {"siblings not contiguous", "a -1\nb -1\nc 0\nd 1\ne 0\n", "bad.tree:5: the children of node 0 (a) are not contiguous: they started at line 3"},
        {"root after children", "a -1\nb 0\nc -1\n", "bad.tree:3: root c (parent -1) after non-root lines"},
        {"parent not an integer", "a -1\nb x\n", "bad.tree:2: the parent index \"x\" is not an integer"},
        {"missing parent", "a -1\nb\n", "bad.tree:2: expected \"<name> <parent index>\""},
        {"blank line", "a -1\n\nb 0\n", "bad.tree:2: expected"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        try {
            parse_word_tree(c.text, "bad.tree");
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(parse_word_tree("", "empty.tree"), Error);
    EXPECT_THROW(load_word_tree("/nonexistent/9k.tree"), Error);
}

TEST(WordTree, NamesAndMapFilesAreChecked) {
    test::TempDir dir;
    const WordTree t = parse_word_tree(kSmallTree, "small.tree");
    test::write_file(dir.file("ok.names"), "animal\nplant\ndog\ncat\nbird\ntree\ngrass\nterrier\nhound dog\n");
    EXPECT_EQ(load_tree_names(dir.file("ok.names"), t).at(8), "hound dog");
    test::write_file(dir.file("short.names"), "animal\nplant\n");
    try {
        load_tree_names(dir.file("short.names"), t);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("2 names, but the tree small.tree has 9 nodes"), std::string::npos) << e.what();
    }
    test::write_file(dir.file("ok.map"), "7\n3\n");
    EXPECT_EQ(load_class_map(dir.file("ok.map"), t), (std::vector<int>{7, 3}));
    test::write_file(dir.file("big.map"), "7\n9\n");
    try {
        load_class_map(dir.file("big.map"), t);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("big.map:2: node 9 is outside the tree"), std::string::npos) << e.what();
    }
    test::write_file(dir.file("neg.map"), "-1\n");
    EXPECT_THROW(load_class_map(dir.file("neg.map"), t), Error);
    test::write_file(dir.file("word.map"), "3\ndog\n");
    EXPECT_THROW(load_class_map(dir.file("word.map"), t), Error);
}

TEST(WordTree, RealNineThousandTreeLoads) {
    const WordTree t = load_word_tree(test::darknet_data("9k.tree"));
    EXPECT_EQ(t.size(), 9418);
    EXPECT_EQ(int(load_tree_names(test::darknet_data("9k.names"), t).size()), 9418);
    EXPECT_EQ(int(load_class_map(test::darknet_data("coco9k.map"), t).size()), 80);
    EXPECT_EQ(int(load_class_map(test::darknet_data("inet9k.map"), t).size()), 200);
    int sum = 0;
    for (int s : t.group_size) sum += s;
    EXPECT_EQ(sum, t.size());
}

// Inputs log(conditional) + a per-group constant: the group softmax must give back the
// conditionals (at stride 3, other entries untouched).
TEST(WordTree, GroupSoftmaxReturnsConditionalsAtAStride) {
    const WordTree t = parse_word_tree(kSmallTree, "small.tree");
    const int stride = 3;
    std::vector<float> in(t.size() * stride, 42.f), out(t.size() * stride, -7.f);
    for (int j = 0; j < t.size(); ++j) in[j * stride] = std::log(kConditional[j]) + 3.f * t.group[j];
    tree_softmax(t, in.data(), out.data(), stride);
    for (int j = 0; j < t.size(); ++j) {
        EXPECT_NEAR(out[j * stride], kConditional[j], 1e-6) << j;
        EXPECT_EQ(out[j * stride + 1], -7.f);
    }
    // Temperature 2 on inputs 2·log(c) gives the conditionals again.
    for (int j = 0; j < t.size(); ++j) in[j * stride] = 2 * std::log(kConditional[j]);
    tree_softmax(t, in.data(), out.data(), stride, 2.f);
    for (int j = 0; j < t.size(); ++j) EXPECT_NEAR(out[j * stride], kConditional[j], 1e-6) << j;
}

TEST(WordTree, GroupSoftmaxBackwardMatchesFiniteDifferences) {
    const WordTree t = parse_word_tree(kSmallTree, "small.tree");
    for (const int stride : {1, 4}) {
        for (const float temperature : {1.f, .5f}) {
            SCOPED_TRACE("stride " + std::to_string(stride) + " T " + std::to_string(temperature));
            const size_t n = size_t(t.size()) * stride;
            std::vector<float> x = test::random_vector(n, 7, -2, 2), r = test::random_vector(n, 8);
            std::vector<float> y(n), grad(n, .25f);  // the backward ADDS onto .25
            tree_softmax(t, x.data(), y.data(), stride, temperature);
            tree_softmax_backward(t, y.data(), r.data(), grad.data(), stride, temperature);
            auto loss = [&](std::vector<float>& xs) {
                std::vector<float> ys(n);
                tree_softmax(t, xs.data(), ys.data(), stride, temperature);
                double s = 0;
                for (int j = 0; j < t.size(); ++j) s += double(r[j * stride]) * ys[j * stride];
                return s;
            };
            double worst = 0;
            for (int j = 0; j < t.size(); ++j) {
                const size_t i = size_t(j) * stride;
                const float eps = 1.f / 256, keep = x[i];
                x[i] = keep + eps;
                const double up = loss(x);
                x[i] = keep - eps;
                const double down = loss(x);
                x[i] = keep;
                const double numeric = (up - down) / (2 * eps);
                worst = std::max(worst, std::abs(numeric - (grad[i] - .25)));
            }
            EXPECT_LT(worst, 2e-4);
            if (stride > 1) {
                EXPECT_EQ(grad[1], .25f);  // entries between nodes untouched
            }
        }
    }
}

// The lanes forms (all cells of a [region] at once) equal one strided call per lane.
TEST(WordTree, LanesFormsEqualPerLaneCalls) {
    const WordTree t = parse_word_tree(kSmallTree, "small.tree");
    const int lanes = 5;
    const size_t n = size_t(t.size()) * lanes;
    const std::vector<float> x = test::random_vector(n, 11, -3, 3), r = test::random_vector(n, 12);
    std::vector<float> y_lanes(n), y_each(n), dx_lanes(n, .5f), dx_each(n, .5f);
    tree_softmax_lanes(t, x.data(), y_lanes.data(), lanes, .7f);
    tree_softmax_backward_lanes(t, y_lanes.data(), r.data(), dx_lanes.data(), lanes, .7f);
    for (int l = 0; l < lanes; ++l) {
        tree_softmax(t, x.data() + l, y_each.data() + l, lanes, .7f);
        tree_softmax_backward(t, y_each.data() + l, r.data() + l, dx_each.data() + l, lanes, .7f);
    }
    EXPECT_EQ(y_lanes, y_each);
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(dx_lanes[i], dx_each[i], 1e-6) << i;
}

TEST(WordTree, HierarchyProductsByHand) {
    const WordTree t = parse_word_tree(kSmallTree, "small.tree");
    const std::vector<float> expected = {.7f, .3f, .42f, .21f, .07f, .24f, .06f, .378f, .042f};
    std::vector<float> p = kConditional;
    for (int j = 0; j < t.size(); ++j)
        EXPECT_NEAR(hierarchy_probability(t, kConditional.data(), j, 1), expected[j], 1e-6) << j;
    hierarchy_products(t, p.data(), 1);
    for (int j = 0; j < t.size(); ++j) EXPECT_NEAR(p[j], expected[j], 1e-6) << j;
}

// darknet's descent over the products: p starts at 1 and is multiplied by the best
// product at each level. Products: animal .7, dog .42, terrier .378.
//  thresh .5: .7 > .5 → p = .7; .7·.42 = .294 ≤ .5 → the group's parent: animal
//  thresh .2: .294 > .2 → p = .294; .294·.378 = .111 ≤ .2 → dog
//  thresh .1: .111 > .1 → terrier (a leaf)
//  thresh .8: .7 ≤ .8 in group 0 → the best root anyway: animal
TEST(WordTree, TopDownPredictionByHand) {
    const WordTree t = parse_word_tree(kSmallTree, "small.tree");
    std::vector<float> p = kConditional;
    hierarchy_products(t, p.data(), 1);
    struct Case {
        float threshold;
        int expected;
    };
    for (const Case c : {Case{.5f, 0}, Case{.2f, 2}, Case{.1f, 7}, Case{.8f, 0}}) {
        EXPECT_EQ(top_down_prediction(t, p.data(), c.threshold, 1), c.expected) << c.threshold;
    }
    // Plants win the roots: tree .24 → .3·.24 = .072.
    std::vector<float> q = {.3f, .7f, .6f, .3f, .1f, .8f, .2f, .9f, .1f};
    hierarchy_products(t, q.data(), 1);
    EXPECT_EQ(top_down_prediction(t, q.data(), .5f, 1), 1);
    EXPECT_EQ(top_down_prediction(t, q.data(), .05f, 1), 5);
    // At a stride: the same answer.
    std::vector<float> strided(t.size() * 2, 99.f);
    for (int j = 0; j < t.size(); ++j) strided[j * 2] = p[j];
    EXPECT_EQ(top_down_prediction(t, strided.data(), .2f, 2), 2);
}

// One cell, one anchor, the small tree: objectness .9, conditionals kConditional.
struct TreeRegion {
    RegionDecodeParams p;
    std::vector<float> out;
    explicit TreeRegion(float objectness) {
        p.grid_w = p.grid_h = 1;
        p.num = 1;
        p.classes = 9;
        p.anchors = {1, 1};
        p.tree = std::make_shared<const WordTree>(parse_word_tree(kSmallTree, "small.tree"));
        out = {.5f, .5f, 0.f, 0.f, objectness};
        out.insert(out.end(), kConditional.begin(), kConditional.end());
    }
    std::vector<Detection> decode(float thresh) const {
        const LetterboxGeometry g = make_letterbox_geometry(100, 100, 32, 32, ResizeMode::Resize);
        return decode_region(out.data(), p, g, thresh, .45f);
    }
};

// Without a map: one class per box, the top-down node (thresholds as in
// TopDownPredictionByHand), scored with the objectness alone.
TEST(WordTreeDecode, TopDownClassScoredByObjectness) {
    TreeRegion r(.9f);
    struct Case {
        float hier;
        int expected;
    };
    for (const Case c : {Case{.5f, 0}, Case{.2f, 2}, Case{.1f, 7}}) {
        r.p.hier_thresh = c.hier;
        const std::vector<Detection> d = r.decode(.3f);
        ASSERT_EQ(d.size(), 1u) << c.hier;
        EXPECT_EQ(d[0].class_id, c.expected) << c.hier;
        EXPECT_FLOAT_EQ(d[0].score, .9f);
    }
    EXPECT_TRUE(TreeRegion(.25f).decode(.3f).empty());  // objectness not above the threshold
}

// With a map: dataset class k scores objectness x Pr(map[k]) (.9·.378, .9·.24, .9·.3).
TEST(WordTreeDecode, MappedClassesScoreAbsoluteProbabilities) {
    TreeRegion r(.9f);
    r.p.class_map = {7, 5, 1};
    EXPECT_EQ(r.p.output_classes(), 3);
    std::vector<Detection> d = r.decode(.3f);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].class_id, 0);
    EXPECT_NEAR(d[0].score, .9f * .378f, 1e-6);
    d = r.decode(.2f);
    ASSERT_EQ(d.size(), 3u);
    r.p.class_map = {9};
    EXPECT_THROW(r.decode(.3f), Error);
}

// yolo9000's size at 544: 17x17 cells x 3 anchors x 9418 classes.
TEST(WordTreeDecode, Yolo9000SizedDecodeIsFast) {
    RegionDecodeParams p;
    p.grid_w = p.grid_h = 17;
    p.num = 3;
    p.classes = 9418;
    p.anchors = {0.77871f, 1.14074f, 3.00525f, 4.31277f, 9.22725f, 9.61974f};
    p.tree = std::make_shared<const WordTree>(load_word_tree(test::darknet_data("9k.tree")));
    const int cells = 17 * 17;
    std::vector<float> out = test::random_vector(size_t(3) * p.entries() * cells, 3, -3, 3);
    for (int n = 0; n < 3; ++n) {
        float* a = out.data() + size_t(n) * p.entries() * cells;
        for (int i = 0; i < 2 * cells; ++i) a[i] = .5f + a[i] / 8;
        for (int i = 0; i < cells; ++i) a[4 * cells + i] = .5f + a[4 * cells + i] / 6.1f;  // objectness in (0, 1)
        tree_softmax_lanes(*p.tree, a + 5 * cells, a + 5 * cells, cells);
    }
    const LetterboxGeometry g = make_letterbox_geometry(640, 480, 544, 544, ResizeMode::Letterbox);
    RegionCandidates workspace;
    size_t found = decode_region(out.data(), p, g, .2f, .45f, {}, &workspace).size();  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) found = decode_region(out.data(), p, g, .2f, .45f, {}, &workspace).size();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 3;
    std::printf("[ speed ] yolo9000 decode at 544 (867 boxes x 9418 classes): %.1f ms, %zu detections\n", ms, found);
    EXPECT_GT(found, 0u);
    EXPECT_LT(ms, 2000);  // generous: shared 2-core machines; typically tens of ms
}

// `yolo9k detect` on a tiny tree network: tree= relative to the cfg's folder, names
// defaulting to the .names beside the tree, --hier and --map.
TEST(WordTreeCli, DetectUsesTreeNamesHierAndMap) {
    test::TempDir dir;
    test::write_file(dir.file("small.tree"), kSmallTree);
    test::write_file(dir.file("small.names"), "animal\nplant\ndog\ncat\nbird\ntree\ngrass\nterrier\nhound\n");
    test::write_file(dir.file("two.map"), "7\n1\n");
    test::write_file(dir.file("two.names"), "terrier-ish\nplant-ish\n");
    test::write_file(dir.file("tiny.cfg"),
                     "[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=28\nsize=1\nstride=1\npad=0\n"
                     "activation=linear\n[region]\nclasses=9\nnum=2\nanchors=1,1,2,2\nsoftmax=1\ntree=small.tree\n");
    ASSERT_EQ(test::run_cli("init-weights --cfg " + dir.file("tiny.cfg") + " --out " + dir.file("tiny.weights")).exit_code, 0);
    const std::string base = "detect --cfg " + dir.file("tiny.cfg") + " --weights " + dir.file("tiny.weights") +
                             " --thresh 0 --nms 0 " + test::darknet_data("dog.jpg");
    auto r = test::run_cli(base + " --hier .5 --json " + dir.file("top.json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string top = test::read_file(dir.file("top.json"));
    // A 1x1 conv keeps the 64x64 grid: each of its 64x64x2 boxes gets exactly one class
    // (at --thresh 0 --nms 0), named from small.names.
    const nlohmann::json boxes = nlohmann::json::parse(top).at(0).at("detections");
    EXPECT_EQ(boxes.size(), 64u * 64u * 2u);
    const std::vector<std::string> names = {"animal", "plant", "dog", "cat", "bird", "tree", "grass", "terrier", "hound"};
    for (const auto& b : boxes)
        ASSERT_EQ(b.at("name"), names.at(b.at("class_id").get<int>())) << b.dump();
    r = test::run_cli(base + " --map " + dir.file("two.map") + " --names " + dir.file("two.names") + " --json " +
                      dir.file("map.json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string mapped = test::read_file(dir.file("map.json"));
    EXPECT_NE(mapped.find("\"plant-ish\""), std::string::npos) << mapped;
    EXPECT_EQ(mapped.find("\"animal\""), std::string::npos) << mapped;
    // A map naming a node outside the tree is an error naming the map file and line.
    test::write_file(dir.file("bad.map"), "3\n9\n");
    r = test::run_cli(base + " --map " + dir.file("bad.map"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("bad.map:2: node 9 is outside the tree"), std::string::npos) << r.err;
}

// The layers check what they load, with the cfg line.
TEST(WordTree, LayerCfgErrorsNameTheLine) {
    test::TempDir dir;
    test::write_file(dir.file("small.tree"), kSmallTree);
    test::write_file(dir.file("bad.map"), "3\n12\n");
    test::write_file(dir.file("bad.tree"), "a -1\nb 0\nc -1\n");
    const std::string conv = "[convolutional]\nfilters=14\nsize=1\nstride=1\npad=0\nactivation=linear\n";
    struct Case {
        const char* name;
        std::string region;
        const char* expected;
    };
    const Case cases[] = {
        {"classes != tree size", "[region]\nclasses=8\nnum=1\ntree=" + dir.file("small.tree") + "\n",
         "classes=8 but the tree"},
        {"map id out of range", "[region]\nclasses=9\nnum=1\ntree=" + dir.file("small.tree") + "\nmap=" + dir.file("bad.map") + "\n",
         "bad.map:2: node 12 is outside the tree"},
        {"malformed tree", "[region]\nclasses=9\nnum=1\ntree=" + dir.file("bad.tree") + "\n", "bad.tree:3: root c"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        try {
            test::net_from(conv + c.region, 2, 2, 1);
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("case.cfg:"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace yolo9k
