// The evaluation detector path against darknet's own `detector valid`: same cfg, weights
// and images, and the comp4_det_test_<class>.txt lines must agree (ids, scores, 1-based
// pixel boxes), so mAP computed from either set of files is the same.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "api/model_access.h"
#include "eval/evaluate.h"
#include "eval/results_io.h"
#include "network/network.h"
#include "support/test_support.h"

namespace yolo9k::eval {
namespace {

namespace fs = std::filesystem;

TEST(EvalDarknet, Comp4FilesMatchDarknetDetectorValid) {
    if (!fs::exists("/usr/bin/darknet")) GTEST_SKIP() << "no /usr/bin/darknet";
    test::TempDir dir;
    const std::string cfg = test::darknet_cfg("yolov2-tiny-voc.cfg");
    Network net = Network::from_cfg_file(cfg);
    test::randomize_weights(net, 21);
    net.save_weights(dir.file("w.weights"));
    // darknet's valid loads 4 images at a time and aborts on fewer than 4: use 5.
    Dataset data;
    data.class_names = read_names_file(test::darknet_data("voc.names"));
    std::string list;
    for (const char* name : {"dog", "eagle", "giraffe", "horses", "person"}) {
        data.images.push_back({name, test::darknet_data(std::string(name) + ".jpg"), 0, 0, {}});
        list += data.images.back().image_path + "\n";
    }
    test::write_file(dir.file("valid.txt"), list);
    test::write_file(dir.file("v.data"), "classes=20\nvalid=" + dir.file("valid.txt") +
                                             "\nnames=" + test::darknet_data("voc.names") + "\n");
    fs::create_directories(dir.path() / "results");
    const std::string command = "cd " + dir.path().string() + " && /usr/bin/darknet detector valid v.data " + cfg +
                                " w.weights > darknet.log 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << test::read_file(dir.file("darknet.log"));

    Detector detector(ModelAccess::view(net), {.thresh = kEvalThresh, .nms = kEvalNms, .threads = 2});
    std::vector<cv::Size> sizes;
    const auto ours = detect_dataset(detector, data, sizes);
    const Truth truth = truth_from_dataset(data, &sizes);
    write_comp4(dir.file("ours"), truth, ours);
    const auto mine = read_comp4(dir.file("ours"), truth);
    const auto theirs = read_comp4(dir.file("results"), truth);

    // Darknet clamps x1, y1 to >= 1 and x2, y2 to <= size but leaves boxes that are off the
    // image otherwise (ymax < ymin); the detector clamps them to the image. Compare the
    // boxes that are inside the image, above a threshold clear of .005 rounding.
    auto comparable = [&](const ScoredBox& d) {
        return d.score > .01f && d.box.x1 >= 0 && d.box.y1 >= 0 && d.box.x2 > d.box.x1 && d.box.y2 > d.box.y1 &&
               d.box.x2 <= truth.widths[d.image] - 1 && d.box.y2 <= truth.heights[d.image] - 1;
    };
    std::multimap<std::pair<int, int>, ScoredBox> by_key;
    for (const auto& d : mine)
        if (d.score > .009f) by_key.emplace(std::make_pair(d.image, d.class_id), d);
    int compared = 0, matched = 0;
    double max_score_diff = 0, max_box_diff = 0;
    for (const auto& d : theirs) {
        if (!comparable(d)) continue;
        ++compared;
        auto [lo, hi] = by_key.equal_range({d.image, d.class_id});
        for (auto it = lo; it != hi; ++it) {
            const Box& b = it->second.box;
            const double box_diff = std::max({std::abs(b.x1 - d.box.x1), std::abs(b.y1 - d.box.y1),
                                              std::abs(b.x2 - d.box.x2), std::abs(b.y2 - d.box.y2)});
            const double score_diff = std::abs(it->second.score - d.score);
            if (score_diff < 1e-3 && box_diff < .5) {
                ++matched;
                max_score_diff = std::max(max_score_diff, score_diff);
                max_box_diff = std::max(max_box_diff, box_diff);
                by_key.erase(it);
                break;
            }
        }
    }
    std::printf("darknet valid: %d comparable detections, %d matched; max |score diff| %.2g, max box diff %.3g px\n",
                compared, matched, max_score_diff, max_box_diff);
    ASSERT_GT(compared, 100);
    EXPECT_GE(matched, compared * 0.999);  // measured: all 12824, score within 8e-6, boxes within .012 px
}

}  // namespace
}  // namespace yolo9k::eval
