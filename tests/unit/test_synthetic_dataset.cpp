// The synthetic detection set (`yolo9k dataset synth`): reproducible, labels that our own
// readers load back exactly, boxes that cover the drawn objects, and a clear refusal to mix
// into an existing folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "data/dataset.h"
#include "data/synthetic_dataset.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

SyntheticOptions small_set(const std::string& out, SyntheticLayout layout = SyntheticLayout::voc) {
    SyntheticOptions o;
    o.out = out;
    o.images = 40;
    o.seed = 7;
    o.layout = layout;
    o.valid_fraction = 0.1f;
    o.test_fraction = 0.25f;
    return o;
}

DatasetOptions quiet_with_names() {
    DatasetOptions o;
    o.quiet = true;
    o.class_names = synthetic_class_names();
    return o;
}

TEST(SyntheticDataset, SameSeedSamePixelsAndBoxesOtherSeedDiffers) {
    SyntheticOptions o = small_set("");
    const SyntheticImage a = draw_synthetic_image(o, 3), b = draw_synthetic_image(o, 3);
    EXPECT_EQ(a.bgr, b.bgr);
    ASSERT_EQ(a.boxes.size(), b.boxes.size());
    for (size_t i = 0; i < a.boxes.size(); ++i) EXPECT_EQ(a.boxes[i].x, b.boxes[i].x);
    o.seed = 8;
    EXPECT_NE(draw_synthetic_image(o, 3).bgr, a.bgr);
    o.seed = 7;
    EXPECT_NE(draw_synthetic_image(o, 4).bgr, a.bgr);
}

TEST(SyntheticDataset, ImagesHoldEveryClassAtManyScalesInsideTheImage) {
    SyntheticOptions o = small_set("");
    std::set<int> classes;
    float smallest = 1, largest = 0;
    size_t boxes = 0;
    for (int i = 0; i < 60; ++i) {
        const SyntheticImage img = draw_synthetic_image(o, i);
        ASSERT_GE(img.width, o.min_width);
        ASSERT_LE(img.width, o.max_width);
        ASSERT_EQ(img.bgr.size(), size_t(img.width) * img.height * 3);
        EXPECT_LE(int(img.boxes.size()), o.max_objects);
        for (const TruthBox& b : img.boxes) {
            ++boxes;
            classes.insert(b.class_id);
            EXPECT_GE(b.x - b.w / 2, -1e-6f);
            EXPECT_LE(b.x + b.w / 2, 1 + 1e-6f);
            EXPECT_GE(b.y - b.h / 2, -1e-6f);
            EXPECT_LE(b.y + b.h / 2, 1 + 1e-6f);
            const float side = std::max(b.w * img.width, b.h * img.height) / float(std::min(img.width, img.height));
            smallest = std::min(smallest, side), largest = std::max(largest, side);
        }
    }
    EXPECT_GT(boxes, 120u);
    EXPECT_EQ(classes.size(), synthetic_class_names().size());
    EXPECT_LT(smallest, 0.2f) << "small objects";
    EXPECT_GT(largest, 0.45f) << "large objects";
}

// The hue (degrees) of the mean colour of a 5x5 patch at a box's centre.
double centre_hue(const SyntheticImage& img, const TruthBox& b) {
    const int cx = std::clamp(int(b.x * img.width), 2, img.width - 3), cy = std::clamp(int(b.y * img.height), 2, img.height - 3);
    double sum[3] = {0, 0, 0};
    for (int y = cy - 2; y <= cy + 2; ++y)
        for (int x = cx - 2; x <= cx + 2; ++x)
            for (int k = 0; k < 3; ++k) sum[k] += img.bgr[(size_t(y) * img.width + x) * 3 + k] / 25.0;
    cv::Mat bgr(1, 1, CV_32FC3, cv::Scalar(sum[0] / 255, sum[1] / 255, sum[2] / 255)), hsv;
    cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV);
    return hsv.at<cv::Vec3f>(0, 0)[0];
}

// Share of visible boxes whose centre colour lies within 40 degrees of their class's hue.
double share_in_class_hue(SyntheticPalette palette) {
    SyntheticOptions o = small_set("");
    o.palette = palette;
    const double classes = double(synthetic_class_names().size());
    size_t near = 0, total = 0;
    for (int i = 0; i < 60; ++i) {
        const SyntheticImage img = draw_synthetic_image(o, i);
        for (const TruthBox& b : img.boxes) {
            if (b.difficult) continue;
            const double d = std::fabs(centre_hue(img, b) - 360.0 * b.class_id / classes);
            near += std::min(d, 360 - d) < 40;
            ++total;
        }
    }
    return total ? double(near) / total : 0;
}

TEST(SyntheticDataset, PerClassPaletteGivesEachClassItsHueRandomPaletteDoesNot) {
    const double per_class = share_in_class_hue(SyntheticPalette::per_class);
    const double random = share_in_class_hue(SyntheticPalette::random);
    EXPECT_GT(per_class, 0.7) << "per-class hues";
    EXPECT_LT(random, 0.45) << "random colours (chance: about 0.22)";
}

TEST(SyntheticDataset, VocLayoutLoadsBackWithTheDrawnBoxes) {
    TempDir dir;
    const SyntheticOptions o = small_set(dir.file("synth"));
    const SyntheticReport r = write_synthetic_dataset(o);
    ASSERT_EQ(r.splits.size(), 3u);
    EXPECT_EQ(r.splits[0].images + r.splits[1].images + r.splits[2].images, 40u);
    EXPECT_EQ(r.splits[2].images, 10u);
    EXPECT_TRUE(fs::exists(dir.path() / "synth" / "ImageSets" / "Main" / "trainval.txt"));

    DatasetOptions lo = quiet_with_names();
    lo.split = "test";
    const Dataset test = load_dataset(o.out, lo);
    ASSERT_EQ(test.images.size(), 10u);
    EXPECT_EQ(test.report.skipped_boxes, 0u);
    EXPECT_EQ(test.report.missing_images, 0u);
    EXPECT_EQ(test.report.boxes, r.splits[2].boxes);
    for (const LabeledImage& li : test.images) {
        const int index = std::stoi(li.id.substr(li.id.find('_') + 1));
        const SyntheticImage drawn = draw_synthetic_image(o, index);
        ASSERT_EQ(li.boxes.size(), drawn.boxes.size()) << li.id;
        for (size_t k = 0; k < li.boxes.size(); ++k) {
            EXPECT_EQ(li.boxes[k].class_id, drawn.boxes[k].class_id);
            EXPECT_NEAR(li.boxes[k].x, drawn.boxes[k].x, 1e-5);
            EXPECT_NEAR(li.boxes[k].w, drawn.boxes[k].w, 1e-5);
            EXPECT_EQ(li.boxes[k].difficult, drawn.boxes[k].difficult);
        }
        const cv::Mat jpeg = cv::imread(li.image_path);
        ASSERT_FALSE(jpeg.empty()) << li.image_path;
        EXPECT_EQ(jpeg.cols, drawn.width);
    }
}

TEST(SyntheticDataset, DarknetLayoutLoadsThroughItsDataFileWithoutDifficultBoxes) {
    TempDir dir;
    const SyntheticOptions o = small_set(dir.file("synth"), SyntheticLayout::darknet);
    const SyntheticReport r = write_synthetic_dataset(o);
    ASSERT_FALSE(r.data_path.empty());
    DatasetOptions lo = quiet_with_names();
    lo.class_names.clear();  // from the .data file's names
    lo.split = "valid";
    const Dataset valid = load_dataset(r.data_path, lo);
    EXPECT_EQ(valid.images.size(), r.splits[1].images);
    EXPECT_EQ(valid.class_names, synthetic_class_names());
    EXPECT_EQ(valid.report.boxes, r.splits[1].boxes - r.splits[1].difficult_boxes);
    const Dataset test = load_dataset((dir.path() / "synth" / "test.txt").string(), quiet_with_names());
    EXPECT_EQ(test.images.size(), r.splits[2].images);
}

TEST(SyntheticDataset, RefusesANonEmptyFolderUnlessOverwriteAndKeepsForeignFiles) {
    TempDir dir;
    SyntheticOptions o = small_set(dir.file("synth"));
    o.images = 5;
    fs::create_directories(o.out);
    test::write_file(o.out + "/notes.txt", "mine");
    try {
        write_synthetic_dataset(o);
        FAIL() << "wrote into a non-empty folder";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--overwrite"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(o.out), std::string::npos) << e.what();
    }
    o.overwrite = true;
    write_synthetic_dataset(o);
    EXPECT_EQ(test::read_file(o.out + "/notes.txt"), "mine");
    EXPECT_TRUE(fs::exists(fs::path(o.out) / "JPEGImages" / "synth_000004.jpg"));
}

TEST(SyntheticDataset, BadOptionsAreClearErrors) {
    SyntheticOptions o = small_set("unused");
    o.valid_fraction = 0.6f;
    o.test_fraction = 0.5f;
    EXPECT_THROW(write_synthetic_dataset(o), Error);
    o = small_set("unused");
    o.min_object_size = 0.9f;
    o.max_object_size = 0.5f;
    EXPECT_THROW(draw_synthetic_image(o, 0), Error);
}

}  // namespace
}  // namespace yolo9k
