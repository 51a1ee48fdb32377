// Detection metrics on hand-computed cases (the computation is in each test's comments),
// the results file writers/readers, and their errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "api/model_access.h"
#include "core/error.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "eval/pr_plot.h"
#include "eval/results_io.h"
#include "network/network.h"
#include "support/test_support.h"

namespace yolo9k::eval {
namespace {

Box box(float x1, float y1, float x2, float y2) { return Box{x1, y1, x2, y2}; }

// One 1000 x 1000 image per entry of `objects`, classes "a", "b" (and more when asked).
Truth make_truth(std::vector<std::vector<TruthObject>> objects, int classes = 2) {
    Truth t;
    for (int c = 0; c < classes; ++c) t.class_names.push_back(std::string(1, char('a' + c)));
    for (size_t i = 0; i < objects.size(); ++i) {
        t.image_ids.push_back("img" + std::to_string(i));
        t.widths.push_back(1000);
        t.heights.push_back(1000);
    }
    t.images = std::move(objects);
    return t;
}

void expect_all_ap(const ClassMetrics& c, double value) {
    EXPECT_NEAR(c.ap_voc07, value, 1e-9) << c.name;
    EXPECT_NEAR(c.ap_voc, value, 1e-9) << c.name;
    EXPECT_NEAR(c.ap_coco, value, 1e-9) << c.name;
    EXPECT_NEAR(c.ap50, value, 1e-9) << c.name;
    EXPECT_NEAR(c.ap75, value, 1e-9) << c.name;
}

TEST(EvalMetrics, BoxIouWithAndWithoutVocPlusOne) {
    struct Case {
        Box a, b;
        bool plus_one;
        double iou;
    } cases[] = {
        {box(0, 0, 9, 9), box(0, 0, 9, 9), false, 1},
        {box(0, 0, 9, 9), box(0, 0, 9, 9), true, 1},
        // overlap 4 x 9 = 36, union 81 + 81 - 36 = 126
        {box(0, 0, 9, 9), box(5, 0, 14, 9), false, 36.0 / 126},
        // +1: overlap 5 x 10 = 50, areas 10 x 10: union 150
        {box(0, 0, 9, 9), box(5, 0, 14, 9), true, 50.0 / 150},
        // touching edges: no overlap without +1, one pixel column with it (10 / 190)
        {box(0, 0, 9, 9), box(9, 0, 18, 9), false, 0},
        {box(0, 0, 9, 9), box(9, 0, 18, 9), true, 10.0 / 190},
        {box(0, 0, 9, 9), box(20, 20, 30, 30), true, 0},
    };
    for (const auto& c : cases) EXPECT_NEAR(box_iou(c.a, c.b, c.plus_one), c.iou, 1e-12);
}

// The shared fixture: one image, four GT of class a (A, B, C, D in a row, 100 x 100),
// five detections ranked .9 .. .5:
//   d1 .9 = A            TP
//   d2 .8 on nothing     FP
//   d3 .7 = B moved 24px IoU 76/124 = .613 (COCO), 77/125 = .616 (VOC +1): TP while t <= .6
//   d4 .6 on nothing     FP
//   d5 .5 = C            TP;   D is never found.
TEST(EvalMetrics, Voc07AllPointAndCocoDifferOnOneFixture) {
    const Truth truth = make_truth({{{0, box(0, 0, 100, 100)},
                                     {0, box(200, 0, 300, 100)},
                                     {0, box(400, 0, 500, 100)},
                                     {0, box(600, 0, 700, 100)}}});
    const std::vector<ScoredBox> dets = {{0, 0, .9f, box(0, 0, 100, 100)},
                                         {0, 0, .8f, box(0, 500, 100, 600)},
                                         {0, 0, .7f, box(224, 0, 324, 100)},
                                         {0, 0, .6f, box(200, 500, 300, 600)},
                                         {0, 0, .5f, box(400, 0, 500, 100)}};
    const EvalResult r = evaluate(truth, dets);
    const ClassMetrics& a = r.per_class[0];
    // TP FP TP FP TP over 4 GT: recall .25 .25 .5 .5 .75, precision 1 .5 .667 .5 .6
    ASSERT_EQ(a.pr.recall.size(), 5u);
    EXPECT_NEAR(a.pr.precision[2], 2.0 / 3, 1e-12);
    EXPECT_NEAR(a.pr.recall[4], .75, 1e-12);
    // VOC07: r = 0, .1, .2 -> 1; .3, .4, .5 -> 2/3; .6, .7 -> .6; .8, .9, 1 -> 0:
    //   (3 + 3 * 2/3 + 2 * .6) / 11 = 6.2 / 11
    EXPECT_NEAR(a.ap_voc07, 6.2 / 11, 1e-12);
    // All-point: envelope 1 (to .25), 2/3 (to .5), .6 (to .75): .25 + .25 * 2/3 + .25 * .6
    EXPECT_NEAR(a.ap_voc, .25 + .25 * 2 / 3 + .25 * .6, 1e-12);
    // COCO, t = .5 .55 .6 (d3 TP): envelope 1, 2/3, 2/3, .6, .6; 101 points: r <= .25 (26
    //   points) 1, r in (.25, .5] (25) 2/3, (.5, .75] (25) .6, above 0: 57 2/3 / 101.
    // t = .65 ... .95 (d3 FP): TP FP FP FP TP, recall .25 x4, .5; precision 1 .5 .333 .25 .4,
    //   envelope 1 .5 .4 .4 .4: 26 points at 1, 25 at .4: 36 / 101.
    const double tp_case = (26 + 25 * 2.0 / 3 + 25 * .6) / 101, fp_case = (26 + 25 * .4) / 101;
    EXPECT_NEAR(a.ap50, tp_case, 1e-12);
    EXPECT_NEAR(a.ap75, fp_case, 1e-12);
    EXPECT_NEAR(a.ap_coco, (3 * tp_case + 7 * fp_case) / 10, 1e-12);
    // Three different numbers: .5636, .5667, .4208.
    EXPECT_GT(a.ap_voc - a.ap_voc07, .002);
    EXPECT_GT(a.ap_voc07 - a.ap_coco, .1);
    // Class b has no GT: NaN and out of the means.
    EXPECT_FALSE(r.per_class[1].has_truth());
    EXPECT_TRUE(std::isnan(r.per_class[1].ap_voc));
    EXPECT_EQ(r.classes_with_truth, 1);
    EXPECT_DOUBLE_EQ(r.map_voc, a.ap_voc);
    EXPECT_DOUBLE_EQ(r.map_coco, a.ap_coco);
}

// Equal scores keep the order given (stable ranking). One GT; two detections at .5, one on
// it and one on nothing. TP first: recall 1, 1 precision 1, .5 -> AP 1. FP first: recall 0,
// 1 precision 0, .5 -> AP .5 (VOC07: r = 0 .. 1 all take .5).
TEST(EvalMetrics, TiedScoresKeepInputOrder) {
    const Truth truth = make_truth({{{0, box(0, 0, 100, 100)}}}, 1);
    const ScoredBox hit{0, 0, .5f, box(0, 0, 100, 100)}, miss{0, 0, .5f, box(500, 500, 600, 600)};
    const EvalResult first_hit = evaluate(truth, {hit, miss});
    const EvalResult first_miss = evaluate(truth, {miss, hit});
    expect_all_ap(first_hit.per_class[0], 1);
    expect_all_ap(first_miss.per_class[0], .5);
    // Two tied detections on the same GT: the first given is the TP, the second a duplicate.
    const Matches m = match_voc(truth, {{0, 0, .5f, box(0, 0, 100, 100)}, {0, 0, .5f, box(1, 1, 100, 100)}}, 0);
    EXPECT_EQ(m.tp, (std::vector<char>{1, 0}));
}

// A class with GT and no detections has AP 0 and counts in the mean: class a perfect (1),
// class b missed (0): mean .5.
TEST(EvalMetrics, NoDetectionsForAClassIsZeroAndCounts) {
    const Truth truth = make_truth({{{0, box(0, 0, 100, 100)}, {1, box(200, 200, 300, 300)}}});
    const EvalResult r = evaluate(truth, {{0, 0, .9f, box(0, 0, 100, 100)}});
    expect_all_ap(r.per_class[0], 1);
    expect_all_ap(r.per_class[1], 0);
    EXPECT_EQ(r.classes_with_truth, 2);
    EXPECT_NEAR(r.map_voc, .5, 1e-12);
    EXPECT_NEAR(r.map_voc07, .5, 1e-12);
    EXPECT_NEAR(r.map_coco, .5, 1e-12);
    // No detections at all: every AP 0, nothing throws.
    const EvalResult none = evaluate(truth, {});
    EXPECT_EQ(none.map_voc, 0);
    EXPECT_EQ(none.map_coco, 0);
}

// Detections of a class nobody labelled: no AP (NaN, "—" in the table), not in the mean.
TEST(EvalMetrics, ClassWithoutTruthIsLeftOutOfTheMean) {
    const Truth truth = make_truth({{{0, box(0, 0, 100, 100)}}}, 3);
    const EvalResult r = evaluate(truth, {{0, 0, .9f, box(0, 0, 100, 100)}, {0, 1, .99f, box(0, 0, 100, 100)}});
    EXPECT_EQ(r.classes_with_truth, 1);
    EXPECT_TRUE(std::isnan(r.per_class[1].ap_voc) && std::isnan(r.per_class[2].ap_coco));
    EXPECT_EQ(r.per_class[1].detections, 1);
    EXPECT_NEAR(r.map_voc, 1, 1e-12);  // not (1 + 0 + 0) / 3
    const std::string table = format_table(r);
    EXPECT_NE(table.find("—"), std::string::npos) << table;
    EXPECT_NE(table.find("100.0"), std::string::npos) << table;
    EXPECT_NE(table.find("1 of 3 classes"), std::string::npos) << table;
}

// Two GT, A and B. .9 on A (TP), .8 on A again (duplicate: FP), .7 on B (TP):
// recall .5 .5 1, precision 1 .5 2/3 -> all-point .5 * 1 + .5 * 2/3 = 5/6 (1 if duplicates
// were ignored). VOC07: r <= .5 (6 points) 1, r > .5 (5 points) 2/3: (6 + 10/3) / 11.
TEST(EvalMetrics, DuplicatesAreFalsePositives) {
    const Truth truth = make_truth({{{0, box(0, 0, 100, 100)}, {0, box(300, 0, 400, 100)}}}, 1);
    const EvalResult r = evaluate(truth, {{0, 0, .9f, box(0, 0, 100, 100)},
                                          {0, 0, .8f, box(2, 2, 100, 100)},
                                          {0, 0, .7f, box(300, 0, 400, 100)}});
    EXPECT_NEAR(r.per_class[0].ap_voc, 5.0 / 6, 1e-12);
    EXPECT_NEAR(r.per_class[0].ap_voc07, (6 + 10.0 / 3) / 11, 1e-12);
    // COCO 101 points: envelope 1, 2/3, 2/3; r <= .5 (51 points) 1, (.5, 1] (50) 2/3.
    EXPECT_NEAR(r.per_class[0].ap50, (51 + 50 * 2.0 / 3) / 101, 1e-12);
}

// VOC takes the best-overlapping GT even when it is already matched (a duplicate, FP);
// COCO takes the best unmatched one. A = [0,100], B = [10,110] (x); d1 = A, d2 at x 4..104
// overlaps A (97/105 with +1) more than B (95/107).
// VOC: TP, FP: recall .5 .5, precision 1 .5 -> AP .5.  COCO: TP, TP -> AP 1.
TEST(EvalMetrics, VocMatchesBestGtCocoBestUnmatchedGt) {
    const Truth truth = make_truth({{{0, box(0, 0, 100, 100)}, {0, box(10, 0, 110, 100)}}}, 1);
    const EvalResult r = evaluate(truth, {{0, 0, .9f, box(0, 0, 100, 100)}, {0, 0, .8f, box(4, 0, 104, 100)}});
    EXPECT_NEAR(r.per_class[0].ap_voc, .5, 1e-12);
    EXPECT_NEAR(r.per_class[0].ap50, 1, 1e-12);
}

// A difficult GT D and a normal A. .9 on D (ignored), .8 on A (TP): recall 1, precision 1
// -> AP 1 under every rule (counting .9 as FP would give .5). Positives = 1, not 2.
// A class whose only GT is difficult has no GT to find: left out of the mean.
TEST(EvalMetrics, DifficultTruthIsIgnored) {
    const Truth truth =
        make_truth({{{0, box(0, 0, 100, 100)}, {0, box(300, 0, 400, 100), true}, {1, box(500, 500, 600, 600), true}}});
    const std::vector<ScoredBox> dets = {{0, 0, .9f, box(300, 0, 400, 100)},
                                         {0, 0, .85f, box(302, 0, 400, 100)},  // a second one on D: ignored too (VOC)
                                         {0, 0, .8f, box(0, 0, 100, 100)},
                                         {0, 1, .9f, box(500, 500, 600, 600)}};
    const EvalResult r = evaluate(truth, dets);
    EXPECT_EQ(match_voc(truth, dets, 0).positives, 1);
    EXPECT_EQ(match_voc(truth, dets, 0).tp, (std::vector<char>{1}));
    EXPECT_NEAR(r.per_class[0].ap_voc, 1, 1e-12);
    EXPECT_NEAR(r.per_class[0].ap_voc07, 1, 1e-12);
    // COCO: d1 matches D (ignored); d2 finds D taken and nothing else >= .5: FP (COCO matches
    // an ignored non-crowd GT once). Ranked FP, TP: precision 0, .5 -> envelope .5, .5 -> .5.
    EXPECT_NEAR(r.per_class[0].ap50, .5, 1e-12);
    EXPECT_FALSE(r.per_class[1].has_truth());
    EXPECT_EQ(r.per_class[1].difficult, 1);
    EXPECT_EQ(r.classes_with_truth, 1);
}

// COCO keeps only the 100 best-scored detections per image and class: 100 misses scored
// above one hit leave the hit out (AP 0); 99 misses let it in.
TEST(EvalMetrics, CocoCountsAtMost100DetectionsPerImage) {
    const Truth truth = make_truth({{{0, box(0, 0, 10, 10)}}}, 1);
    for (int misses : {99, 100}) {
        std::vector<ScoredBox> dets;
        for (int i = 0; i < misses; ++i) dets.push_back({0, 0, .9f, box(500, 500, 510, 510)});
        dets.push_back({0, 0, .1f, box(0, 0, 10, 10)});
        const EvalResult r = evaluate(truth, dets);
        // 99 misses: hit ranked 100th, precision 1/100 at recall 1 -> AP50 = .01
        EXPECT_NEAR(r.per_class[0].ap50, misses == 99 ? .01 : 0, 1e-12) << misses;
        EXPECT_NEAR(r.per_class[0].ap_voc, .01 * 100 / (misses + 1), 1e-12) << misses;  // VOC keeps all
    }
}

TEST(EvalMetrics, BadInputsAreErrors) {
    EXPECT_THROW(evaluate(make_truth({}), {}), Error);  // no images
    const Truth truth = make_truth({{}}, 1);
    EXPECT_THROW(evaluate(truth, {{3, 0, .5f, box(0, 0, 1, 1)}}), Error);  // image out of range
    EXPECT_THROW(evaluate(truth, {{0, 7, .5f, box(0, 0, 1, 1)}}), Error);  // class out of range
    try {
        truth_from_dataset(Dataset{{"a"}, {}, {}});
        FAIL() << "empty dataset accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no images"), std::string::npos) << e.what();
    }
}

TEST(EvalMetrics, TruthFromDatasetConvertsRelativeBoxesToPixels) {
    Dataset data;
    data.class_names = {"a", "b"};
    data.images.push_back({"000005", "/nonexistent/000005.jpg", 200, 100, {{1, .5f, .5f, .5f, .2f, true}}});
    const Truth t = truth_from_dataset(data);
    ASSERT_EQ(t.images.size(), 1u);
    const TruthObject& o = t.images[0][0];
    EXPECT_EQ(o.class_id, 1);
    EXPECT_TRUE(o.difficult);
    // centre (100, 50), size 100 x 20
    EXPECT_FLOAT_EQ(o.box.x1, 50);
    EXPECT_FLOAT_EQ(o.box.y1, 40);
    EXPECT_FLOAT_EQ(o.box.x2, 150);
    EXPECT_FLOAT_EQ(o.box.y2, 60);
    EXPECT_EQ(t.image_ids[0], "000005");
    // No size in the annotation and no image: the error names the file.
    data.images[0].width = 0;
    try {
        truth_from_dataset(data);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/000005.jpg"), std::string::npos) << e.what();
    }
}

// ---- results files ---------------------------------------------------------------------

Truth io_truth() {
    Truth t = make_truth({{}, {}}, 3);
    t.class_names = {"aeroplane", "bicycle", "bird"};
    t.image_ids = {"000005", "img_b"};
    return t;
}

std::vector<ScoredBox> io_detections() {
    return {{0, 0, .91f, box(10.5f, 20.25f, 300, 400)},
            {1, 2, .123456f, box(0, 0, 999, 999)},
            {0, 2, .5f, box(1, 2, 3, 4)},
            {1, 0, .005f, box(100, 200, 150.75f, 250)}};
}

void expect_same_detections(std::vector<ScoredBox> a, std::vector<ScoredBox> b, float tol) {
    ASSERT_EQ(a.size(), b.size());
    auto key = [](const ScoredBox& d) { return std::make_tuple(d.class_id, d.image, -d.score); };
    std::sort(a.begin(), a.end(), [&](auto& x, auto& y) { return key(x) < key(y); });
    std::sort(b.begin(), b.end(), [&](auto& x, auto& y) { return key(x) < key(y); });
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].image, b[i].image);
        EXPECT_EQ(a[i].class_id, b[i].class_id);
        EXPECT_NEAR(a[i].score, b[i].score, 1e-6);
        EXPECT_NEAR(a[i].box.x1, b[i].box.x1, tol);
        EXPECT_NEAR(a[i].box.y1, b[i].box.y1, tol);
        EXPECT_NEAR(a[i].box.x2, b[i].box.x2, tol);
        EXPECT_NEAR(a[i].box.y2, b[i].box.y2, tol);
    }
}

TEST(EvalResultsIo, Comp4RoundTripWithDarknetsOneBasedPixels) {
    test::TempDir dir;
    const Truth truth = io_truth();
    const auto paths = write_comp4(dir.path().string(), truth, io_detections());
    ASSERT_EQ(paths.size(), 3u);
    EXPECT_EQ(std::filesystem::path(paths[0]).filename(), "comp4_det_test_aeroplane.txt");
    // darknet's line: id, score, then x1 + 1 ... (%f)
    EXPECT_EQ(test::read_file(paths[0]), "000005 0.910000 11.500000 21.250000 301.000000 401.000000\n"
                                         "img_b 0.005000 101.000000 201.000000 151.750000 251.000000\n");
    expect_same_detections(read_comp4(dir.path().string(), truth), io_detections(), 1e-5f);
    expect_same_detections(read_detections(paths[2], truth), {io_detections()[1], io_detections()[2]}, 1e-5f);
}

TEST(EvalResultsIo, CocoJsonRoundTrip) {
    test::TempDir dir;
    const Truth truth = io_truth();
    const std::string path = dir.file("results.json");
    write_coco_results(path, truth, io_detections());
    const auto j = nlohmann::json::parse(test::read_file(path));
    ASSERT_EQ(j.size(), 4u);
    EXPECT_EQ(j[0]["image_id"], 5);        // numeric ids as numbers
    EXPECT_EQ(j[1]["image_id"], "img_b");  // others as strings
    EXPECT_EQ(j[1]["category_id"], 3);     // class index + 1
    EXPECT_NEAR(j[0]["bbox"][2].get<double>(), 300 - 10.5, 1e-4);  // width
    expect_same_detections(read_detections(path, truth), io_detections(), 1e-4f);
}

// Reading a file must fail with the reason and where, never skip silently.
TEST(EvalResultsIo, BadDetectionFilesNameFileAndLine) {
    test::TempDir dir;
    const Truth truth = io_truth();
    struct Case {
        std::string file, content, expected;
    } cases[] = {
        {"comp4_det_test_unicorn.txt", "000005 .5 1 1 2 2\n", "class 'unicorn'"},
        {"comp4_det_test_bird.txt", "000005 .5 1 1 2 2\nnope .5 1 1 2 2\n", "comp4_det_test_bird.txt:2: image 'nope'"},
        {"comp4_det_test_bird.txt", "000005 .5 1 1 2\n", "comp4_det_test_bird.txt:1: expected"},
        {"comp4_det_test_bird.txt", "000005 .5 1 1 2 2 7\n", ":1: expected"},
        {"dets.json", R"([{"image_id": 5, "category_id": 1, "bbox": [1,1,2,2], "score": 0.5},
                          {"image_id": 5, "category_id": 4, "bbox": [1,1,2,2], "score": 0.5}])",
         "entry 1: category_id 4 is not a known class"},
        {"dets.json", R"([{"image_id": 6, "category_id": 1, "bbox": [1,1,2,2], "score": 0.5}])", "entry 0: image 6"},
        {"dets.json", R"([{"image_id": 5, "category_id": 1, "bbox": [1,1,2], "score": 0.5}])", "bbox must be"},
        {"dets.json", R"({"image_id": 5})", "expected a JSON array"},
        {"dets.json", "[{", "malformed JSON"},
        {"dets.csv", "", "unknown detections format"},
    };
    for (const auto& c : cases) {
        const std::string path = dir.file(c.file);
        test::write_file(path, c.content);
        try {
            read_detections(path, truth);
            ADD_FAILURE() << c.file << " accepted: " << c.content;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(c.file), std::string::npos) << e.what();
        }
        std::filesystem::remove(path);
    }
    EXPECT_THROW(read_detections(dir.file("missing_dir/"), truth), Error);
}

TEST(EvalPrPlot, DrawsOneCurvePerClassWithTruth) {
    test::TempDir dir;
    const Truth truth = make_truth({{{0, box(0, 0, 100, 100)}, {1, box(200, 0, 300, 100)}}}, 3);
    const EvalResult r = evaluate(truth, {{0, 0, .9f, box(0, 0, 100, 100)}, {0, 1, .8f, box(200, 0, 300, 100)},
                                          {0, 1, .9f, box(600, 0, 700, 100)}});
    const auto paths = write_pr_charts(dir.path().string(), r);
    ASSERT_EQ(paths.size(), 1u);
    const cv::Mat img = cv::imread(paths[0]);
    ASSERT_FALSE(img.empty());
    // The plot is not blank: some pixels are neither white, grey nor black (the curves).
    int coloured = 0;
    for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x) {
            const auto p = img.at<cv::Vec3b>(y, x);
            coloured += std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]}) > 60;
        }
    EXPECT_GT(coloured, 500);
    // 45 classes with GT at 20 per chart: 3 charts.
    EvalResult many;
    for (int i = 0; i < 45; ++i) many.per_class.push_back(r.per_class[0]);
    EXPECT_EQ(write_pr_charts(dir.path().string(), many).size(), 3u);
}

}  // namespace
}  // namespace yolo9k::eval

namespace yolo9k::eval {
namespace {

// ---- `yolo9k eval` offline on a tiny VOC folder ------------------------------------------

std::string voc_object(const std::string& name, bool difficult, int x1, int y1, int x2, int y2) {
    return "<object><name>" + name + "</name><difficult>" + (difficult ? "1" : "0") + "</difficult><bndbox><xmin>" +
           std::to_string(x1) + "</xmin><ymin>" + std::to_string(y1) + "</ymin><xmax>" + std::to_string(x2) +
           "</xmax><ymax>" + std::to_string(y2) + "</ymax></bndbox></object>";
}

void write_voc_image(const test::TempDir& voc, const std::string& id, const std::string& objects) {
    test::write_file(voc.file("Annotations/" + id + ".xml"),
                     "<annotation><filename>" + id + ".jpg</filename><size><width>500</width><height>400</height>"
                     "<depth>3</depth></size>" + objects + "</annotation>");
}

class EvalCli : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* d : {"Annotations", "ImageSets/Main", "dets"}) std::filesystem::create_directories(voc.path() / d);
        write_voc_image(voc, "a1", voc_object("cat", false, 11, 21, 110, 120) + voc_object("dog", true, 200, 200, 300, 300));
        write_voc_image(voc, "a2", voc_object("cat", false, 51, 51, 150, 150) + voc_object("dog", false, 301, 101, 400, 200));
        test::write_file(voc.file("ImageSets/Main/test.txt"), "a1\na2\n");
        test::write_file(voc.file("ImageSets/Main/none.txt"), "");
        test::write_file(voc.file("names.txt"), "cat\ndog\nbird\n");
        // VOC's 1-based corners: a detection written as the XML's box matches it exactly.
        test::write_file(voc.file("dets/comp4_det_test_cat.txt"),
                         "a1 0.9 11 21 110 120\n"       // TP
                         "a2 0.8 300 300 350 350\n"     // FP
                         "a2 0.7 51 51 150 150\n");     // TP
        test::write_file(voc.file("dets/comp4_det_test_dog.txt"),
                         "a1 0.95 200 200 300 300\n"    // on the difficult dog: ignored
                         "a2 0.6 301 101 400 200\n");   // TP
        test::write_file(voc.file("dets/comp4_det_test_bird.txt"), "a1 0.5 1 1 10 10\n");  // no bird GT
    }
    std::string args(const std::string& rest) const {
        return "eval --dataset " + voc.path().string() + " --split test --names " + voc.file("names.txt") + " " + rest;
    }
    test::TempDir voc;
};

// cat: TP FP TP of 2: recall .5 .5 1, precision 1 .5 2/3. All-point .5 + .5 * 2/3 = 5/6;
// VOC07 (6 * 1 + 5 * 2/3) / 11; COCO (every IoU is 1, all ten thresholds alike): r <= .5
// (51 points) 1, the other 50 2/3. dog: AP 1 everywhere. bird: no GT, null, not in means.
TEST_F(EvalCli, ScoresComp4FilesOfflineAgainstAVocFolder) {
    test::TempDir out;
    const auto r = test::run_cli(args("--detections " + voc.file("dets") + " --json " + out.file("m.json") +
                                      " --out " + out.file("o")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const double cat_all = 5.0 / 6, cat_07 = (6 + 5 * 2.0 / 3) / 11, cat_coco = (51 + 50 * 2.0 / 3) / 101;
    const auto j = nlohmann::json::parse(test::read_file(out.file("m.json")));
    EXPECT_NEAR(j["map50"].get<double>(), (cat_all + 1) / 2, 1e-9);
    EXPECT_NEAR(j["map50_voc07"].get<double>(), (cat_07 + 1) / 2, 1e-9);
    EXPECT_NEAR(j["map_coco"].get<double>(), (cat_coco + 1) / 2, 1e-9);
    EXPECT_NEAR(j["ap50"].get<double>(), (cat_coco + 1) / 2, 1e-9);
    EXPECT_NEAR(j["ap75"].get<double>(), (cat_coco + 1) / 2, 1e-9);
    ASSERT_EQ(j["per_class"].size(), 3u);
    EXPECT_EQ(j["per_class"][1]["difficult"], 1);
    EXPECT_TRUE(j["per_class"][2]["ap50"].is_null());
    EXPECT_NE(r.out.find("91.7"), std::string::npos) << r.out;  // the mean row, all-point
    EXPECT_NE(r.out.find("—"), std::string::npos) << r.out;     // bird
    // --out: comp4 files, COCO results and the PR chart; the comp4 files score the same.
    for (const char* f : {"o/comp4_det_test_cat.txt", "o/coco_results.json", "o/pr_curves.png"})
        EXPECT_TRUE(std::filesystem::exists(out.file(f))) << f;
    for (const char* again : {"o", "o/coco_results.json"}) {
        const auto r2 = test::run_cli(args("--detections " + out.file(again) + " --json " + out.file("m2.json")));
        ASSERT_EQ(r2.exit_code, 0) << r2.err;
        const auto j2 = nlohmann::json::parse(test::read_file(out.file("m2.json")));
        EXPECT_NEAR(j2["map50"].get<double>(), j["map50"].get<double>(), 1e-6) << again;
        EXPECT_NEAR(j2["map_coco"].get<double>(), j["map_coco"].get<double>(), 1e-6) << again;
    }
}

TEST_F(EvalCli, BadInputsGiveClearErrors) {
    test::write_file(voc.file("dets/comp4_det_test_dog.txt"), "a1 0.9 1 1 5 5\na9 0.5 1 1 5 5\n");
    auto r = test::run_cli(args("--detections " + voc.file("dets")));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("comp4_det_test_dog.txt:2: image 'a9'"), std::string::npos) << r.err;

    test::write_file(voc.file("dets/comp4_det_test_horse.txt"), "a1 0.9 1 1 5 5\n");
    r = test::run_cli(args("--detections " + voc.file("dets/comp4_det_test_horse.txt")));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("class 'horse'"), std::string::npos) << r.err;

    r = test::run_cli("eval --dataset " + voc.path().string() + " --split none --names " + voc.file("names.txt") +
                      " --detections " + voc.file("dets"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_FALSE(r.err.empty());
    EXPECT_NE(r.err.find("no images"), std::string::npos) << r.err;

    EXPECT_EQ(test::run_cli(args("")).exit_code, 1);  // neither a detector nor detections
    EXPECT_NE(test::run_cli(args("")).err.find("--detections"), std::string::npos);
}

}  // namespace
}  // namespace yolo9k::eval

namespace yolo9k::eval {
namespace {

// Real annotations (BCCD test split, 72 images): the ground truth itself as detections
// scores 1 under every rule, also after a trip through comp4 files; every box moved right by
// 10% of its width has IoU .9 / 1.1 = .818 with its own GT: a TP for IoU thresholds
// .5 ... .8 (7 of COCO's 10) and not above, so COCO AP = .7 while VOC AP stays 1.
TEST(EvalRealData, GroundTruthAsDetectionsOnBccd) {
    YOLO9K_REQUIRE_SHARED_DATA();
    const Dataset data = load_eval_dataset("", test::shared_data_dir() + "/bccd", "test", "");
    const Truth truth = truth_from_dataset(data);
    std::vector<ScoredBox> perfect, shifted;
    float score = 1;
    for (int i = 0; i < int(truth.images.size()); ++i)
        for (const TruthObject& o : truth.images[i]) {
            score *= .9999f;  // distinct scores: no tie order to depend on
            perfect.push_back({i, o.class_id, score, o.box});
            const float dx = .1f * o.box.width();
            shifted.push_back({i, o.class_id, score, Box{o.box.x1 + dx, o.box.y1, o.box.x2 + dx, o.box.y2}});
        }
    ASSERT_GT(perfect.size(), 700u);
    const EvalResult r = evaluate(truth, perfect);
    EXPECT_EQ(r.classes_with_truth, 3);
    for (double v : {r.map_voc07, r.map_voc, r.map_coco, r.ap50, r.ap75}) EXPECT_NEAR(v, 1, 1e-9);

    test::TempDir dir;
    write_comp4(dir.path().string(), truth, perfect);
    const EvalResult again = evaluate(truth, read_comp4(dir.path().string(), truth));
    EXPECT_NEAR(again.map_voc, 1, 1e-9);
    EXPECT_NEAR(again.map_coco, 1, 1e-9);

    const EvalResult s = evaluate(truth, shifted);
    std::printf("shifted BCCD: VOC %.4f VOC07 %.4f COCO %.4f AP50 %.4f AP75 %.4f\n", s.map_voc, s.map_voc07, s.map_coco,
                s.ap50, s.ap75);
    EXPECT_GT(s.map_voc, .99);  // measured .9995: VOC pairs a few shifted RBCs with a neighbour (duplicates)
    EXPECT_GT(s.ap75, .99);
    EXPECT_NEAR(s.map_coco, .7, 2e-3);  // measured .7000; a few RBCs overlap a neighbour more
}

}  // namespace
}  // namespace yolo9k::eval

namespace yolo9k::eval {
namespace {

// The detector path of `yolo9k eval` and the mAP column of `yolo9k bench`, on two small
// JPEGs with a random-weight yolov2-tiny-voc (the numbers are noise; the pipeline is real).
TEST(EvalCliDetector, RunsANetworkOverAVocFolderAndBenchReportsMapPerSize) {
    test::TempDir voc;
    for (const char* d : {"Annotations", "ImageSets/Main", "JPEGImages"}) std::filesystem::create_directories(voc.path() / d);
    cv::Mat img(96, 128, CV_8UC3, cv::Scalar(40, 120, 200));
    for (const char* id : {"p1", "p2"}) {
        ASSERT_TRUE(cv::imwrite(voc.file(std::string("JPEGImages/") + id + ".jpg"), img));
        write_voc_image(voc, id, voc_object("dog", false, 10, 10, 60, 50) + voc_object("cat", false, 70, 40, 120, 90));
    }
    test::write_file(voc.file("ImageSets/Main/test.txt"), "p1\np2\n");
    Network net = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg"));
    test::randomize_weights(net, 5);
    net.save_weights(voc.file("tiny.weights"));
    const std::string set = " --dataset " + voc.path().string() + " --split test --names " + test::darknet_data("voc.names");

    const auto r = test::run_cli("eval --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights " +
                                 voc.file("tiny.weights") + " --size 64" + set + " --json " + voc.file("m.json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(test::read_file(voc.file("m.json")));
    EXPECT_EQ(j["per_class"].size(), 20u);
    EXPECT_EQ(j["classes_with_truth"], 2);
    EXPECT_GE(j["map50"].get<double>(), 0);
    EXPECT_LE(j["map50"].get<double>(), 1);
    EXPECT_EQ(j["images"], 2);

    const auto b = test::run_cli("bench --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights " +
                                 voc.file("tiny.weights") + " --sizes 64,96 --batch 1 --baselines none --iterations 1" + set);
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(b.out.find("mAP@.5 on 2 images"), std::string::npos) << b.out;
    EXPECT_NE(b.out.find("speed / accuracy"), std::string::npos) << b.out;
}

}  // namespace
}  // namespace yolo9k::eval

namespace yolo9k::eval {
namespace {

// What a trainer does: a Detector over its in-memory Network gives exactly the detections
// of one loaded from the same weights on disk, and evaluate() runs on it.
TEST(EvalDetectorFromNetwork, SameDetectionsAsFromFiles) {
    test::TempDir dir;
    Network net = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg"), {.width = 96, .height = 96});
    test::randomize_weights(net, 11);
    net.save_weights(dir.file("w.weights"));
    const DetectorOptions options{.size = 96, .thresh = kEvalThresh, .nms = kEvalNms, .threads = 1};
    DetectorOptions from_files = options;
    from_files.cfg = test::darknet_cfg("yolov2-tiny-voc.cfg");
    from_files.weights = dir.file("w.weights");
    Detector a(ModelAccess::view(net), options), b(from_files);
    const cv::Mat image = cv::imread(test::darknet_data("dog.jpg"));
    const auto da = a.detect(image), db = b.detect(image);
    ASSERT_EQ(da.size(), db.size());
    ASSERT_FALSE(da.empty());
    for (size_t i = 0; i < da.size(); ++i) {
        EXPECT_EQ(da[i].class_id, db[i].class_id);
        EXPECT_FLOAT_EQ(da[i].score, db[i].score);
        EXPECT_FLOAT_EQ(da[i].box.x1, db[i].box.x1);
        EXPECT_FLOAT_EQ(da[i].box.y2, db[i].box.y2);
    }
    Dataset data;
    data.class_names = read_names_file(test::darknet_data("voc.names"));
    data.images.push_back({"dog", test::darknet_data("dog.jpg"), 0, 0, {{11, .3f, .6f, .3f, .6f}}});  // class 11: dog
    const EvalResult r = evaluate(a, data);
    EXPECT_EQ(r.images, 1);
    EXPECT_EQ(r.classes_with_truth, 1);
    EXPECT_EQ(r.per_class[11].truth, 1);
}

}  // namespace
}  // namespace yolo9k::eval
