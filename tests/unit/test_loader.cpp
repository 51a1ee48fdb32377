// Augmentation and the background loader: reproducibility, box/pixel consistency under
// the random crop/scale/flip, darknet's degenerate-box rule, multi-scale sizes, bad images.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "data/augment.h"
#include "data/loader.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

// A grey image with one saturated red rectangle and the truth box that names it.
struct Scene {
    cv::Mat image;
    TruthBox box;
};
Scene red_rectangle(int w, int h, cv::Rect r) {
    Scene s{cv::Mat(h, w, CV_8UC3, cv::Scalar(128, 128, 128)), {}};
    cv::rectangle(s.image, r, cv::Scalar(0, 0, 255), cv::FILLED);
    s.box.class_id = 1;
    s.box.x = (r.x + r.width / 2.f) / w;
    s.box.y = (r.y + r.height / 2.f) / h;
    s.box.w = float(r.width) / w;
    s.box.h = float(r.height) / h;
    return s;
}

// Dataset of PNGs written to dir: `count` scenes with rectangles in different places.
Dataset scene_dataset(const TempDir& dir, int count) {
    Dataset d;
    d.class_names = {"a", "b"};
    for (int i = 0; i < count; ++i) {
        Scene s = red_rectangle(96 + 8 * i, 64 + 4 * i, cv::Rect(10 + 3 * i, 8 + 2 * i, 30, 20));
        LabeledImage li;
        li.image_path = dir.file("img" + std::to_string(i) + ".png");
        cv::imwrite(li.image_path, s.image);
        li.boxes = {s.box};
        d.images.push_back(li);
    }
    return d;
}

AugmentOptions strong_augment() {
    AugmentOptions o;
    o.jitter = .3f;
    o.hue = .1f;
    o.saturation = 1.5f;
    o.exposure = 1.5f;
    return o;
}

TEST(Augment, TruthBoxCoversTheRectanglePixels) {
    const Scene s = red_rectangle(120, 90, cv::Rect(30, 20, 40, 30));
    AugmentOptions o;  // geometry only: colours stay recognisable
    o.jitter = .3f;
    const int W = 64, H = 48;
    std::vector<float> input(3 * W * H);
    int checked = 0, flipped = 0;
    for (std::uint64_t trial = 0; trial < 60; ++trial) {
        AugmentRng rng(7, trial, 0);
        const AugmentDraw draw = [&] { AugmentRng copy = rng; return draw_augmentation(120, 90, W, H, o, copy); }();
        flipped += draw.flip;
        const auto truths = augment_detection(s.image, {s.box}, W, H, o, rng, input.data());
        // Red pixels: R high, G low. Every such pixel must lie inside the (slightly grown) box.
        int red = 0, outside = 0;
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                const float r = input[y * W + x], g = input[W * H + y * W + x];
                if (r < .75f || g > .25f) continue;
                ++red;
                bool inside = false;
                for (const TruthBox& b : truths)
                    inside |= std::abs((x + .5f) / W - b.x) <= b.w / 2 + 1.5f / W &&
                              std::abs((y + .5f) / H - b.y) <= b.h / 2 + 1.5f / H;
                outside += !inside;
            }
        EXPECT_EQ(outside, 0) << "trial " << trial;
        if (truths.empty()) {
            EXPECT_LE(red, 2) << "rectangle visible but its box was dropped, trial " << trial;
            continue;
        }
        ASSERT_EQ(truths.size(), 1u);
        EXPECT_EQ(truths[0].class_id, 1);
        // The box is not much larger than the red area it stands for.
        const float box_px = truths[0].w * W * truths[0].h * H;
        if (box_px > 16) {
            EXPECT_GT(red, .5f * box_px) << "trial " << trial;
            ++checked;
        }
    }
    EXPECT_GT(checked, 20);
    EXPECT_GT(flipped, 10);
    EXPECT_LT(flipped, 50);
}

TEST(Augment, LetterboxWithoutAugmentation) {
    const Scene s = red_rectangle(200, 100, cv::Rect(50, 25, 100, 50));
    AugmentOptions o;
    o.enabled = false;
    std::vector<float> input(3 * 64 * 64);
    AugmentRng rng(1);
    const auto truths = augment_detection(s.image, {s.box}, 64, 64, o, rng, input.data());
    ASSERT_EQ(truths.size(), 1u);
    // 200x100 → 64x32 centred vertically: y offset 16 of 64.
    EXPECT_NEAR(truths[0].x, .5f, 1e-6);
    EXPECT_NEAR(truths[0].y, .5f, 1e-6);
    EXPECT_NEAR(truths[0].w, .5f, 1e-6);
    EXPECT_NEAR(truths[0].h, .25f, 1e-6);
    EXPECT_FLOAT_EQ(input[0], .5f);  // grey band on top
}

TEST(Augment, DegenerateBoxesDropped) {
    // Table: boxes on the original image after a 1:1 placement; what survives.
    struct Case {
        const char* what;
        TruthBox box;
        bool kept;
    };
    const std::vector<Case> cases = {
        {"normal", {0, .5f, .5f, .2f, .2f}, true},
        {"thinner than .001", {0, .5f, .5f, .0005f, .2f}, false},
        {"lower than .001", {0, .5f, .5f, .2f, .0009f}, false},
        {"wholly outside after shift", {0, -.3f, .5f, .2f, .2f}, false},
        {"partly outside: clipped", {0, .05f, .5f, .2f, .2f}, true},
    };
    for (const Case& c : cases) {
        const auto out = transform_boxes({c.box}, 1, 1, 0, 0, false);
        EXPECT_EQ(out.size(), c.kept ? 1u : 0u) << c.what;
        for (const TruthBox& b : out) {
            EXPECT_GE(b.x - b.w / 2, 0.f) << c.what;
            EXPECT_LE(b.x + b.w / 2, 1.f) << c.what;
        }
    }
    const auto flipped = transform_boxes({{0, .2f, .5f, .2f, .2f}}, .5f, .5f, .1f, 0, true);
    ASSERT_EQ(flipped.size(), 1u);
    EXPECT_NEAR(flipped[0].x, 1 - (.2f * .5f + .1f), 1e-6);
    EXPECT_NEAR(flipped[0].w, .1f, 1e-6);
}

std::vector<DetectionBatch> run_loader(const Dataset& d, LoaderOptions o, int batches) {
    DetectionLoader loader(d, o);
    std::vector<DetectionBatch> out;
    for (int i = 0; i < batches; ++i) out.push_back(loader.next());
    return out;
}

bool same_bytes(const DetectionBatch& a, const DetectionBatch& b) {
    if (a.width != b.width || a.height != b.height || a.paths != b.paths || a.images.size() != b.images.size())
        return false;
    if (std::memcmp(a.images.data(), b.images.data(), a.images.size() * sizeof(float)) != 0) return false;
    for (size_t i = 0; i < a.truths.size(); ++i) {
        if (a.truths[i].size() != b.truths[i].size()) return false;
        for (size_t k = 0; k < a.truths[i].size(); ++k) {  // field by field: TruthBox has padding
            const TruthBox &p = a.truths[i][k], &q = b.truths[i][k];
            if (p.class_id != q.class_id || p.x != q.x || p.y != q.y || p.w != q.w || p.h != q.h) return false;
        }
    }
    return true;
}

TEST(Loader, SameSeedSameBytesWhateverTheThreads) {
    TempDir dir;
    const Dataset d = scene_dataset(dir, 6);
    LoaderOptions o;
    o.batch = 3;
    o.size = {64, 64};
    o.seed = 42;
    o.augment = strong_augment();
    o.threads = 1;
    const auto one = run_loader(d, o, 5);
    o.threads = 3;
    o.prefetch = 2;
    const auto three = run_loader(d, o, 5);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(one[i].index, i);
        EXPECT_TRUE(same_bytes(one[i], three[i])) << "batch " << i;
    }
    EXPECT_FALSE(same_bytes(one[0], one[1]));
    o.seed = 43;
    EXPECT_FALSE(same_bytes(run_loader(d, o, 1)[0], one[0]));
}

TEST(Loader, MultiScaleSizesHonoured) {
    TempDir dir;
    const Dataset d = scene_dataset(dir, 3);
    LoaderOptions o;
    o.batch = 2;
    o.threads = 2;
    o.size_for_batch = [](std::int64_t i) { return NetSize{32 + 32 * int(i % 3), 64 + 32 * int(i % 2)}; };
    DetectionLoader loader(d, o);
    for (std::int64_t i = 0; i < 6; ++i) {
        const DetectionBatch b = loader.next();
        EXPECT_EQ(b.index, i);
        EXPECT_EQ(b.width, 32 + 32 * int(i % 3));
        EXPECT_EQ(b.height, 64 + 32 * int(i % 2));
        EXPECT_EQ(b.images.size(), size_t(2 * 3 * b.width * b.height));
        EXPECT_EQ(b.truths.size(), 2u);
        EXPECT_EQ(b.paths.size(), 2u);
    }
}

TEST(Loader, CorruptImageReplacedAndCounted) {
    TempDir dir;
    Dataset d = scene_dataset(dir, 3);
    test::write_file(dir.file("broken.jpg"), "\xFF\xD8\xFF not really a jpeg");
    d.images.push_back({"broken", dir.file("broken.jpg"), 0, 0, {}});
    d.images.push_back({"gone", dir.file("gone.jpg"), 0, 0, {}});
    LoaderOptions o;
    o.batch = 4;
    o.size = {32, 32};
    o.quiet = true;
    DetectionLoader loader(d, o);
    for (int i = 0; i < 8; ++i)
        for (const std::string& p : loader.next().paths) EXPECT_EQ(p.find("img"), p.rfind('/') + 1) << p;
    EXPECT_EQ(loader.failed_images(), 2u);
    ASSERT_EQ(loader.warnings().size(), 2u);
    for (const auto& w : loader.warnings())
        EXPECT_TRUE(w.find("broken.jpg") != std::string::npos || w.find("gone.jpg") != std::string::npos) << w;
}

TEST(Loader, StopsWhenTooManyImagesFail) {
    TempDir dir;
    Dataset d;
    for (int i = 0; i < 5; ++i) d.images.push_back({"x", dir.file("missing" + std::to_string(i) + ".jpg"), 0, 0, {}});
    LoaderOptions o;
    o.batch = 2;
    o.size = {32, 32};
    o.quiet = true;
    o.max_failed_images = 3;
    DetectionLoader loader(d, o);
    try {
        loader.next();
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("could not be read"), std::string::npos) << e.what();
    }
    EXPECT_THROW(DetectionLoader(Dataset{}, o), Error);
}

}  // namespace
}  // namespace yolo9k
