// Box crops as a classification set: geometry (context, square, edges), the pixels that
// land in each crop, the folder-per-class layout, darknet's list/labels/.data files and its
// substring label rule, the CLI, and the real BCCD counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "data/box_crops.h"
#include "data/dataset.h"
#include "network/initialize.h"
#include "network/network.h"
#include "support/test_support.h"
#include "support/training_fixtures.h"

namespace yolo9k {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) lines.push_back(l);
    return lines;
}

CropOptions quiet(CropOptions o = {}) {
    o.quiet = true;
    return o;
}

TEST(BoxCrops, RectangleFromContextAndSquare) {
    // A 40x20 px box centred at (100, 50) in a 200x100 image.
    const TruthBox box{.class_id = 0, .x = .5f, .y = .5f, .w = .2f, .h = .2f};
    struct Case {
        float context;
        bool square;
        cv::Rect expected;
    };
    const std::vector<Case> cases = {
        {0, false, {80, 40, 40, 20}},
        {.25f, false, {70, 35, 60, 30}},   // each side + a quarter of the size
        {0, true, {80, 30, 40, 40}},       // height extended to the width, centred
        {.5f, true, {60, 10, 80, 80}},    // 80x40 with context, then squared
    };
    for (const Case& c : cases)
        EXPECT_EQ(crop_rect(box, {200, 100}, quiet({.context = c.context, .square = c.square})), c.expected)
            << "context " << c.context << " square " << c.square;
}

TEST(BoxCrops, PixelsInsideAndGreyOutside) {
    cv::Mat image(100, 200, CV_8UC3, cv::Scalar(10, 20, 30));
    image(cv::Rect(0, 0, 20, 20)).setTo(cv::Scalar(0, 0, 255));
    const TruthBox corner{.x = .05f, .y = .1f, .w = .1f, .h = .2f};  // exactly the red square
    const cv::Mat tight = extract_crop(image, corner, quiet());
    ASSERT_EQ(tight.size(), cv::Size(20, 20));
    EXPECT_EQ(cv::mean(tight), cv::Scalar(0, 0, 255, 0));
    // Context reaching past the top-left corner: the outside is grey, the inside the image.
    const cv::Mat wide = extract_crop(image, corner, quiet({.context = .5f}));
    ASSERT_EQ(wide.size(), cv::Size(40, 40));
    EXPECT_EQ(wide.at<cv::Vec3b>(0, 0), cv::Vec3b(128, 128, 128));
    EXPECT_EQ(wide.at<cv::Vec3b>(20, 20), cv::Vec3b(0, 0, 255));
    EXPECT_EQ(wide.at<cv::Vec3b>(35, 35), cv::Vec3b(10, 20, 30));
    // Output sizes: the longer side is N; square crops are N x N.
    EXPECT_EQ(extract_crop(image, {.x = .5f, .y = .5f, .w = .2f, .h = .2f}, quiet({.output_size = 16})).size(),
              cv::Size(16, 8));
    EXPECT_EQ(extract_crop(image, corner, quiet({.square = true, .output_size = 64})).size(), cv::Size(64, 64));
}

TEST(BoxCrops, DarknetLabelRuleCountsSubstrings) {
    const std::vector<std::string> names = {"RBC", "WBC", "Platelets"};
    const std::vector<std::pair<std::string, int>> cases = {
        {"/out/train/RBC/BloodImage_00000_1.jpg", 1},
        {"/WBC_crops/train/RBC/a_1.jpg", 2},  // the output folder names a class
        {"/out/train/other/a_1.jpg", 0},
    };
    for (const auto& [path, matches] : cases) EXPECT_EQ(darknet_label_matches(path, names), matches) << path;
}

class BoxCropsShapes : public ::testing::Test {
protected:
    void SetUp() override {
        test::write_shapes_dataset(data_, 6);
        DatasetOptions o;
        o.quiet = true;
        dataset_ = load_dataset(data_.file("train.txt"), o);
        dataset_.class_names = {"red", "blue"};
    }
    TempDir data_, out_;
    Dataset dataset_;
};

TEST_F(BoxCropsShapes, OneFilePerBoxInItsClassFolderAndDarknetFiles) {
    const std::vector<size_t> boxes = count_boxes_per_class(dataset_);
    const std::string out = out_.file("crops");
    const CropReport r = write_box_crops({{"train", dataset_}, {"valid", dataset_}}, dataset_.class_names, out, quiet());
    ASSERT_EQ(r.splits.size(), 2u);
    EXPECT_EQ(r.ambiguous_label_paths, 0u);
    for (const CropSplitReport& s : r.splits) {
        EXPECT_EQ(s.crops_per_class, boxes) << s.name;
        EXPECT_EQ(s.crops, 12u);
        EXPECT_EQ(s.images, 6u);
        const std::vector<std::string> list = read_lines(s.list_path);
        ASSERT_EQ(list.size(), 12u);
        for (const std::string& path : list) {
            // Each listed file exists, sits in its class folder, and holds that class's colour.
            ASSERT_TRUE(fs::path(path).is_absolute()) << path;
            const cv::Mat crop = cv::imread(path);
            ASSERT_FALSE(crop.empty()) << path;
            const std::string cls = fs::path(path).parent_path().filename().string();
            EXPECT_EQ(fs::path(path).parent_path().parent_path().filename().string(), s.name);
            const cv::Scalar m = cv::mean(crop);
            // Rectangles may overlap, so a crop is mostly (not wholly) its own colour.
            if (cls == "red") EXPECT_GT(m[2], 2 * m[0]) << path;
            else EXPECT_GT(m[0], 2 * m[2]) << path;
        }
    }
    EXPECT_TRUE(fs::exists(out + "/train/red/s0_0.jpg") || fs::exists(out + "/train/blue/s0_0.jpg"));
    EXPECT_EQ(read_lines(r.labels_path), (std::vector<std::string>{"red", "blue"}));
    const DataFile data = read_data_file(r.data_path);
    EXPECT_EQ(data.classes, 2);
    EXPECT_EQ(data.train, r.splits[0].list_path);
    EXPECT_EQ(data.valid, r.splits[1].list_path);
    EXPECT_EQ(data.labels, r.labels_path);
    EXPECT_EQ(data.top, 1);
    EXPECT_EQ(data.backup, (fs::absolute(out) / "backup").lexically_normal().string());
}

TEST_F(BoxCropsShapes, MinSizeSkipsAndResizeApplies) {
    // Shapes are 16..40 px: a 30 px minimum keeps some and skips others.
    size_t small = 0;
    for (const LabeledImage& im : dataset_.images)
        for (const TruthBox& b : im.boxes) small += std::min(b.w * 128, b.h * 96) < 30;
    ASSERT_GT(small, 0u);
    ASSERT_LT(small, 12u);
    const CropReport r =
        write_box_crops({{"train", dataset_}}, dataset_.class_names, out_.file("c"), quiet({.square = true, .min_size = 30, .output_size = 24}));
    EXPECT_EQ(r.splits[0].small_boxes, small);
    EXPECT_EQ(r.splits[0].crops, 12 - small);
    for (const std::string& path : read_lines(r.splits[0].list_path)) EXPECT_EQ(cv::imread(path).size(), cv::Size(24, 24));
}

TEST_F(BoxCropsShapes, WarnsWhenTheOutputFolderNamesAClass) {
    const CropReport r = write_box_crops({{"train", dataset_}}, dataset_.class_names, out_.file("red_crops"), quiet());
    // Every blue crop's path holds "red" too; red crops still match exactly one name.
    ASSERT_GT(r.splits[0].crops_per_class[1], 0u);
    EXPECT_EQ(r.ambiguous_label_paths, r.splits[0].crops_per_class[1]);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings[0].find("2 class names"), std::string::npos) << r.warnings[0];
}

TEST_F(BoxCropsShapes, RefusesStaleCropsUnlessOverwriting) {
    const std::string out = out_.file("c");
    write_box_crops({{"train", dataset_}}, dataset_.class_names, out, quiet());
    test::write_file(out + "/train/red/stale.jpg", "x");
    EXPECT_THROW(write_box_crops({{"train", dataset_}}, dataset_.class_names, out, quiet()), Error);
    write_box_crops({{"train", dataset_}}, dataset_.class_names, out, quiet({.overwrite = true}));
    EXPECT_FALSE(fs::exists(out + "/train/red/stale.jpg"));
}

TEST_F(BoxCropsShapes, UnreadableImagesAreCountedAndBadNamesRefused) {
    test::write_file(dataset_.images[1].image_path, "not a jpeg");
    const CropReport r = write_box_crops({{"train", dataset_}}, dataset_.class_names, out_.file("c"), quiet());
    EXPECT_EQ(r.splits[0].unreadable_images, 1u);
    EXPECT_EQ(r.splits[0].crops, 10u);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings[0].find(dataset_.images[1].image_path), std::string::npos) << r.warnings[0];
    for (const std::vector<std::string>& bad :
         std::vector<std::vector<std::string>>{{"a/b", "c"}, {"", "c"}, {"..", "c"}, {"x", "x"}})
        EXPECT_THROW(write_box_crops({{"train", dataset_}}, bad, out_.file("bad"), quiet()), Error) << bad[0];
}

TEST_F(BoxCropsShapes, CommandLine) {
    const std::string out = out_.file("cli");
    const auto r = test::run_cli("dataset crops " + data_.file("shapes.data") + " --out " + out +
                                 " --train-split train --valid-split valid --context .1 --square --size 32");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("total"), std::string::npos) << r.out;
    EXPECT_EQ(read_lines(out + "/train.list").size(), 12u);
    EXPECT_EQ(read_lines(out + "/valid.list").size(), 12u);
    EXPECT_EQ(cv::imread(read_lines(out + "/valid.list")[0]).size(), cv::Size(32, 32));
    // Again without --overwrite: refused, naming the folder.
    const auto again = test::run_cli("dataset crops " + data_.file("shapes.data") + " --out " + out);
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find(out + "/train"), std::string::npos) << again.err;
    EXPECT_EQ(test::run_cli("dataset crops " + data_.file("shapes.data")).exit_code, 2);  // no --out
    EXPECT_EQ(test::run_cli("dataset").exit_code, 2);                                      // no PATH
}

TEST(BoxCropsBccd, EveryBoxOfBothSplitsBecomesACrop) {
    YOLO9K_REQUIRE_SHARED_DATA();
    const std::string bccd = test::shared_data_dir() + "/bccd";
    DatasetOptions o;
    o.quiet = true;
    o.class_names = {"RBC", "WBC", "Platelets"};
    o.split = "trainval";
    Dataset trainval = load_dataset(bccd, o);
    o.split = "test";
    Dataset test_split = load_dataset(bccd, o);
    const std::vector<size_t> train_boxes = count_boxes_per_class(trainval), test_boxes = count_boxes_per_class(test_split);
    TempDir out;
    const CropReport r = write_box_crops({{"train", trainval}, {"valid", test_split}}, o.class_names,
                                         out.file("bccd_crops"), quiet({.context = .1f, .square = true, .output_size = 32}));
    EXPECT_EQ(r.splits[0].crops_per_class, train_boxes);
    EXPECT_EQ(r.splits[1].crops_per_class, test_boxes);
    EXPECT_EQ(r.splits[0].images, 292u);
    EXPECT_EQ(r.splits[1].images, 72u);
    EXPECT_EQ(r.splits[0].unreadable_images + r.splits[1].unreadable_images, 0u);
    EXPECT_EQ(r.ambiguous_label_paths, 0u);
    // The splits share no source image, so no crop leaks from train into valid.
    std::set<std::string> train_images;
    for (const std::string& p : read_lines(r.splits[0].list_path))
        train_images.insert(fs::path(p).stem().string().substr(0, fs::path(p).stem().string().rfind('_')));
    for (const std::string& p : read_lines(r.splits[1].list_path))
        EXPECT_EQ(train_images.count(fs::path(p).stem().string().substr(0, fs::path(p).stem().string().rfind('_'))), 0u) << p;
    EXPECT_EQ(read_lines(r.splits[0].list_path).size(), train_boxes[0] + train_boxes[1] + train_boxes[2]);
    EXPECT_EQ(read_lines(r.splits[1].list_path).size(), test_boxes[0] + test_boxes[1] + test_boxes[2]);
}

// The pipeline's cfgs (cfg/): both classifier sizes are one network, and the detector's
// first 23 layers are exactly its convolutional stack, so `partial --layers 23` of the
// fine-tuned classifier starts the detector.
TEST(PretrainCfgs, DetectorStartsFromTheClassifiersConv23) {
    const std::string cfg = std::string(YOLO9K_SOURCE_DIR) + "/cfg/";
    Network small = Network::from_cfg_file(cfg + "bccd-darknet19-small-64.cfg");
    Network large = Network::from_cfg_file(cfg + "bccd-darknet19-small-128.cfg");
    Network detector = Network::from_cfg_file(cfg + "bccd-yolov2-small.cfg");
    EXPECT_EQ(small.params().width, 64);
    EXPECT_EQ(large.params().width, 128);
    EXPECT_EQ(small.weights_file_bytes(), large.weights_file_bytes());
    EXPECT_EQ(large.weights_file_bytes(23), detector.weights_file_bytes(23));
    EXPECT_EQ(large.layer(22).type(), "convolutional");  // 23 = the stack, not the 1x1 class conv
    EXPECT_EQ(large.layer(23).type(), "convolutional");
    EXPECT_EQ(large.layer(24).type(), "avgpool");

    initialize_weights(large, 7);
    TempDir dir;
    large.save_weights(dir.file("small.conv.23"), 23);
    EXPECT_EQ(detector.load_weights(dir.file("small.conv.23"), /*allow_prefix=*/true), 23);
    for (int i = 0; i < 23; ++i) {
        auto a = large.layer(i).weight_blobs(), b = detector.layer(i).weight_blobs();
        ASSERT_EQ(a.size(), b.size()) << "layer " << i;
        for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(*a[k].data, *b[k].data) << "layer " << i << " " << a[k].name;
    }
    // The 64 weights load into the 128 network unchanged: the fine-tune's starting point.
    large.save_weights(dir.file("full.weights"));
    EXPECT_EQ(small.load_weights(dir.file("full.weights")), small.size());
}

}  // namespace
}  // namespace yolo9k
