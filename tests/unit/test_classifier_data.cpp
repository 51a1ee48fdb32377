// Classifier data, augmentation, loss and metrics: darknet's label-from-path rule (and our
// ambiguity rule), .data / list / class-folder readers, bad input named clearly, the
// deterministic loader, darknet's crop geometry, the softmax + cost gradient, top-k.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "classify/classifier.h"
#include "core/error.h"
#include "data/classification_augment.h"
#include "data/classification_dataset.h"
#include "data/classification_loader.h"
#include "eval/classification_metrics.h"
#include "network/network.h"
#include "support/test_support.h"
#include "train/classifier_loss.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

void write_image(const std::string& path, cv::Scalar bgr, int w = 24, int h = 20) {
    fs::create_directories(fs::path(path).parent_path());
    ASSERT_TRUE(cv::imwrite(path, cv::Mat(h, w, CV_8UC3, bgr)));
}

// ---- label from path ------------------------------------------------------------------

struct LabelCase {
    std::string path;
    std::vector<std::string> labels;
    int expected;       // -1: an error
    std::string error;  // substring of the error
};

TEST(ClassifierLabels, FromPathAsDarknetWithOurAmbiguityRule) {
    const std::vector<LabelCase> cases = {
        {"imagenet/train/n01440764/n01440764_10026.JPEG", {"n01443537", "n01440764"}, 1, ""},
        {"cells/train/RBC/BloodImage_00001_0.jpg", {"WBC", "RBC", "Platelets"}, 1, ""},
        {"cells/Platelets/x.jpg", {"WBC", "RBC", "Platelets"}, 2, ""},
        {"pets/wildcat_3.jpg", {"cat", "wildcat"}, 1, ""},  // longest match wins
        {"pets/dog_3.jpg", {"cat", "wildcat"}, -1, "no label matches"},
        {"x/ab_ba.jpg", {"ab", "ba"}, -1, "matches two labels of the same length, 'ab' and 'ba'"},
    };
    for (const LabelCase& c : cases) {
        if (c.expected >= 0) {
            EXPECT_EQ(label_from_path(c.path, c.labels, "list.txt:3"), c.expected) << c.path;
        } else {
            const std::string e = error_of([&] { label_from_path(c.path, c.labels, "list.txt:3"); });
            EXPECT_NE(e.find("list.txt:3: "), std::string::npos) << e;
            EXPECT_NE(e.find(c.path), std::string::npos) << e;
            EXPECT_NE(e.find(c.error), std::string::npos) << e;
        }
    }
}

// ---- readers --------------------------------------------------------------------------

TEST(ClassifierData, DarknetDataFileWithListsAndLabels) {
    test::TempDir dir;
    write_image(dir.file("imgs/cat_1.png"), {0, 0, 255});
    write_image(dir.file("imgs/dog_1.png"), {255, 0, 0});
    write_image(dir.file("imgs/dog_2.png"), {255, 0, 0});
    test::write_file(dir.file("labels.txt"), "cat\ndog\n");
    test::write_file(dir.file("train.list"), "imgs/cat_1.png\n\nimgs/dog_1.png\n");
    test::write_file(dir.file("valid.list"), "imgs/dog_2.png\n");
    test::write_file(dir.file("pets.data"), "classes=2\ntrain=train.list\nvalid=valid.list\nlabels=labels.txt\n"
                                            "backup=bk\ntop=2\n");
    const ClassificationDataFile f = read_classification_data_file(dir.file("pets.data"));
    EXPECT_EQ(f.top, 2);
    EXPECT_EQ(f.backup, "bk");
    const ClassificationDataset train = load_classification_dataset(dir.file("pets.data"), "train");
    ASSERT_EQ(train.images.size(), 2u);
    EXPECT_EQ(train.class_names, (std::vector<std::string>{"cat", "dog"}));
    EXPECT_EQ(train.images[0].label, 0);
    EXPECT_EQ(train.images[1].label, 1);
    EXPECT_TRUE(fs::exists(train.images[1].path));  // resolved beside the list
    EXPECT_EQ(load_classification_dataset(dir.file("pets.data"), "valid").images.at(0).label, 1);

    // classes disagrees with the labels file.
    test::write_file(dir.file("bad.data"), "classes=3\ntrain=train.list\nlabels=labels.txt\n");
    EXPECT_NE(error_of([&] { load_classification_dataset(dir.file("bad.data"), "train"); }).find("classes = 3"),
              std::string::npos);
}

TEST(ClassifierData, BadInputIsNamed) {
    test::TempDir dir;
    write_image(dir.file("imgs/cat_1.png"), {0, 0, 255});
    write_image(dir.file("imgs/bird_1.png"), {0, 0, 255});
    test::write_file(dir.file("labels.txt"), "cat\ndog\n");
    // A path no label occurs in: the list file and line, and the image.
    test::write_file(dir.file("train.list"), "imgs/cat_1.png\nimgs/bird_1.png\n");
    std::string e = error_of([&] { load_classification_list(dir.file("train.list"), {"cat", "dog"}); });
    EXPECT_NE(e.find("train.list:2: no label matches the image path 'imgs/bird_1.png'"), std::string::npos) << e;
    // A missing image.
    test::write_file(dir.file("missing.list"), "imgs/cat_9.png\n");
    e = error_of([&] { load_classification_list(dir.file("missing.list"), {"cat", "dog"}); });
    EXPECT_NE(e.find("missing.list:1: image 'imgs/cat_9.png' not found"), std::string::npos) << e;
    // An empty class folder.
    write_image(dir.file("folders/cat/1.png"), {0, 0, 255});
    fs::create_directories(dir.path() / "folders" / "dog");
    e = error_of([&] { load_class_folders(dir.file("folders"), ""); });
    EXPECT_NE(e.find("folders/dog: empty class folder"), std::string::npos) << e;
    // A folder that is not a label.
    write_image(dir.file("folders/dog/1.png"), {0, 0, 255});
    write_image(dir.file("folders/emu/1.png"), {0, 0, 255});
    e = error_of([&] { load_class_folders(dir.file("folders"), "", {"cat", "dog"}); });
    EXPECT_NE(e.find("folder 'emu' is not one of the 2 labels"), std::string::npos) << e;
    // No such split.
    e = error_of([&] { load_classification_dataset(dir.file("folders"), "valid"); });
    EXPECT_NE(e.find("no 'valid' folder"), std::string::npos) << e;
}

TEST(ClassifierData, ClassFoldersWithSplits) {
    test::TempDir dir;
    for (const char* split : {"train", "valid"})
        for (const char* cls : {"b_red", "a_blue"}) write_image(dir.file(std::string(split) + "/" + cls + "/1.jpg"), {1, 2, 3});
    write_image(dir.file("train/a_blue/2.jpg"), {1, 2, 3});
    const ClassificationDataset train = load_classification_dataset(dir.path().string(), "");  // DIR/train by default
    EXPECT_EQ(train.class_names, (std::vector<std::string>{"a_blue", "b_red"}));  // sorted
    ASSERT_EQ(train.images.size(), 3u);
    EXPECT_EQ(train.images[2].label, 1);
    EXPECT_EQ(load_classification_dataset(dir.path().string(), "valid").images.size(), 2u);
}

TEST(ClassifierData, CommandLineNamesTheBadFile) {
    test::TempDir dir;
    write_image(dir.file("imgs/bird_1.png"), {0, 0, 255});
    test::write_file(dir.file("labels.txt"), "cat\ndog\n");
    test::write_file(dir.file("train.list"), "imgs/bird_1.png\n");
    test::write_file(dir.file("pets.data"), "classes=2\ntrain=train.list\nlabels=labels.txt\n");
    test::write_file(dir.file("c.cfg"), "[net]\nwidth=16\nheight=16\nchannels=3\nmax_batches=2\n[convolutional]\n"
                                        "filters=2\nsize=1\nstride=1\nactivation=linear\n[avgpool]\n[softmax]\n[cost]\n");
    const auto r = test::run_cli("classifier train --data " + dir.file("pets.data") + " --cfg " + dir.file("c.cfg") +
                                 " --backup " + dir.file("bk"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("train.list:1: no label matches the image path 'imgs/bird_1.png'"), std::string::npos) << r.err;
}

// ---- corrupt images -------------------------------------------------------------------

TEST(ClassifierData, CorruptImagesAreNamedAndReplacedOrSkipped) {
    test::TempDir dir;
    write_image(dir.file("c/cat/good.png"), {0, 0, 255});
    write_image(dir.file("c/dog/good.png"), {255, 0, 0});
    test::write_file(dir.file("c/dog/broken.jpg"), "not a jpeg at all");
    ClassificationDataset ds = load_class_folders(dir.file("c"), "");
    ASSERT_EQ(ds.images.size(), 3u);

    ClassificationLoaderOptions lo;
    lo.batch = 8;
    lo.size = 16;
    lo.threads = 0;
    lo.quiet = true;
    ClassificationLoader loader(ds, lo);
    const ClassificationBatch b = loader.next();
    EXPECT_EQ(b.labels.size(), 8u);
    ASSERT_EQ(b.paths.size(), 8u);
    for (const std::string& p : b.paths) EXPECT_EQ(p.find("broken"), std::string::npos);
    ASSERT_EQ(loader.failed_images(), 1u);
    EXPECT_NE(loader.warnings().at(0).find("broken.jpg"), std::string::npos) << loader.warnings()[0];

    // Only unreadable images: an Error, not an endless loop.
    ClassificationDataset bad{{"dog"}, {{dir.file("c/dog/broken.jpg"), 0}}};
    lo.max_failed_images = 10;
    ClassificationLoader bad_loader(bad, lo);
    EXPECT_NE(error_of([&] { bad_loader.next(); }).find("no readable image"), std::string::npos);

    // valid: skipped and named.
    test::TempDir net_dir;
    test::write_file(net_dir.file("c.cfg"),
                     "[net]\nwidth=16\nheight=16\nchannels=3\n[convolutional]\nfilters=2\nsize=1\nstride=1\n"
                     "activation=linear\n[avgpool]\n[softmax]\n[cost]\n");
    Classifier c({.cfg = net_dir.file("c.cfg"), .threads = 1});
    const ClassifierValidation v = validate_classifier(c, ds, 1);
    EXPECT_EQ(v.metrics.images(), 2);
    ASSERT_EQ(v.unreadable.size(), 1u);
    EXPECT_NE(v.unreadable[0].find("broken.jpg"), std::string::npos) << v.unreadable[0];
}

// ---- loader determinism, augmentation geometry ----------------------------------------

TEST(ClassifierLoader, BatchesDependOnlyOnSeedAndIndex) {
    test::TempDir dir;
    for (int i = 0; i < 6; ++i) write_image(dir.file("c/" + std::string(i % 2 ? "x" : "y") + "/" + std::to_string(i) + ".png"),
                                            {double(40 * i), 90, 200}, 30 + i, 20 + 2 * i);
    const ClassificationDataset ds = load_class_folders(dir.file("c"), "");
    ClassificationLoaderOptions lo;
    lo.batch = 4;
    lo.size = 16;
    lo.seed = 9;
    lo.augment = {.enabled = true, .min_crop = 16, .max_crop = 24, .angle = 10, .aspect = .8f, .hue = .1f,
                  .saturation = 1.5f, .exposure = 1.5f};
    lo.threads = 3;
    ClassificationLoader threaded(ds, lo);
    lo.threads = 0;
    ClassificationLoader inline_loader(ds, lo);
    for (int k = 0; k < 4; ++k) {
        const ClassificationBatch a = threaded.next(), b = inline_loader.next();
        EXPECT_EQ(a.images, b.images) << "batch " << k;
        EXPECT_EQ(a.labels, b.labels);
    }
    lo.first_batch = 2;  // a resumed run continues the same sequence
    ClassificationLoader resumed(ds, lo);
    EXPECT_EQ(resumed.next().images, inline_loader.make_batch(2).images);
    EXPECT_NE(inline_loader.make_batch(1).images, inline_loader.make_batch(2).images) << "every batch the same";
}

TEST(ClassifierAugment, IdentityDrawReproducesTheImageAndFlipMirrors) {
    cv::Mat img(8, 8, CV_8UC3);
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) img.at<cv::Vec3b>(y, x) = {uchar(x * 30), uchar(y * 30), uchar(7)};
    ClassifierAugmentDraw d;
    d.shorter_side = 8;  // scale 1, centred, no rotation
    std::vector<float> out(3 * 64);
    apply_classifier_augmentation(img, 8, d, out.data());
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
            EXPECT_FLOAT_EQ(out[0 * 64 + y * 8 + x], 7 / 255.f);       // R (BGR channel 2)
            EXPECT_FLOAT_EQ(out[1 * 64 + y * 8 + x], y * 30 / 255.f);  // G
            EXPECT_FLOAT_EQ(out[2 * 64 + y * 8 + x], x * 30 / 255.f);  // B
        }
    d.flip = true;
    apply_classifier_augmentation(img, 8, d, out.data());
    EXPECT_FLOAT_EQ(out[2 * 64 + 0], 7 * 30 / 255.f);
    // Scale 2 (shorter side 16), centred: the centre 4x4 of the source fills the crop.
    d = {};
    d.shorter_side = 16;
    std::vector<float> big(3 * 16);
    apply_classifier_augmentation(img, 4, d, big.data());
    // Output pixel x samples source (x - 2) / 2 + 4: x = 2 -> 4.
    EXPECT_NEAR(big[2 * 16 + 0 * 4 + 2], 4 * 30 / 255.f, 1e-3f);
}

TEST(ClassifierAugment, DrawsStayInDarknetsRanges) {
    ClassifierAugmentOptions o{.enabled = true, .min_crop = 32, .max_crop = 64, .angle = 7, .aspect = .75f,
                               .hue = .1f, .saturation = .75f, .exposure = .75f};
    AugmentRng rng(5);
    bool flipped = false, unflipped = false;
    for (int i = 0; i < 500; ++i) {
        const ClassifierAugmentDraw d = draw_classifier_augmentation(100, 60, 32, o, rng);
        EXPECT_GE(d.shorter_side, 32);
        EXPECT_LE(d.shorter_side, 64);
        EXPECT_GE(d.aspect, .75f - 1e-6f);
        EXPECT_LE(d.aspect, 1 / .75f + 1e-5f);
        EXPECT_LE(std::fabs(d.radians), 7 * M_PI / 180 + 1e-6);
        EXPECT_LE(std::fabs(d.hue), .1f);
        // The crop stays inside the scaled image (darknet's offset range).
        const float s = d.shorter_side / std::min(60.f, 100 * d.aspect);
        EXPECT_LE(std::fabs(d.dx), std::fabs(100 * s / d.aspect - 32) / 2 + 1e-3f);
        EXPECT_LE(std::fabs(d.dy), std::fabs(60 * s - 32) / 2 + 1e-3f);
        (d.flip ? flipped : unflipped) = true;
    }
    EXPECT_TRUE(flipped && unflipped);
}

TEST(ClassifierAugment, ValidationIsTheCentralSquareResized) {
    // 40 x 20, columns coloured by x: the central 20 x 20 square is columns 10..29, resized
    // to 10 x 10 (darknet's resize keeps the end columns).
    cv::Mat img(20, 40, CV_8UC3);
    for (int x = 0; x < 40; ++x) img.col(x).setTo(cv::Scalar(x * 6, 0, 0));
    std::vector<float> out(3 * 100);
    center_crop_input(img, 10, out.data());
    const float left = out[2 * 100 + 5 * 10 + 0] * 255, right = out[2 * 100 + 5 * 10 + 9] * 255;
    EXPECT_NEAR(left, 10 * 6, 0.01);
    EXPECT_NEAR(right, 29 * 6, 0.01);
}

// ---- loss -----------------------------------------------------------------------------

TEST(ClassifierLoss, SoftmaxCostGradientAsDarknet) {
    // Logits -> softmax; the cross-entropy part's gradient checked by finite differences,
    // and the total as darknet's (1 + scale)(p - t).
    const std::vector<float> logits = {0.3f, -1.2f, 2.0f, 0.1f, 0.7f, 0.7f, -0.4f, 1.5f};
    const int classes = 4;
    const std::vector<int> labels = {2, 0};
    auto softmax = [&](std::vector<float> z) {
        for (int b = 0; b < 2; ++b) {
            float m = -1e30f, s = 0;
            for (int i = 0; i < classes; ++i) m = std::max(m, z[b * classes + i]);
            for (int i = 0; i < classes; ++i) s += z[b * classes + i] = std::exp(z[b * classes + i] - m);
            for (int i = 0; i < classes; ++i) z[b * classes + i] /= s;
        }
        return z;
    };
    const std::vector<float> p = softmax(logits);
    for (const auto& [has_cost, scale] : {std::pair{false, 1.f}, std::pair{true, 1.f}, std::pair{true, .5f}}) {
        const ClassifierLossSpec spec{classes, has_cost, scale};
        std::vector<float> g(8);
        const ClassifierLossStats st = classifier_loss(spec, p.data(), labels, g.data());
        EXPECT_EQ(st.top1_correct, 1);  // image 0: class 2 is the largest; image 1: class 3 is
        for (int k = 0; k < 8; ++k) {
            std::vector<float> up = logits, down = logits;
            up[k] += 1e-3f, down[k] -= 1e-3f;
            const std::vector<float> pu = softmax(up), pd = softmax(down);
            const int b = k / classes;
            const double numeric = (-std::log(pu[b * classes + labels[b]]) + std::log(pd[b * classes + labels[b]])) / 2e-3;
            EXPECT_NEAR(g[k] / (has_cost ? 1 + scale : 1.f), numeric, 2e-3) << "k=" << k;
        }
        EXPECT_NEAR(st.cross_entropy, -std::log(p[2]) - std::log(p[4]), 1e-5);
    }
}

// Debian's darknet19, darknet19_448 and tiny cfgs end in [softmax] with no [cost] layer:
// darknet trains them with the plain cross-entropy gradient p - t.
TEST(ClassifierLoss, DarknetsClassifierCfgsEndInSoftmax) {
    for (const char* cfg : {"darknet19.cfg", "darknet19_448.cfg", "tiny.cfg"}) {
        const Network net = Network::from_cfg_file(test::darknet_cfg(cfg));
        const ClassifierLossSpec spec = classifier_loss_spec(net);
        EXPECT_EQ(spec.classes, 1000) << cfg;
        EXPECT_FALSE(spec.has_cost) << cfg;
    }
    const Network detector = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg"));
    EXPECT_NE(error_of([&] { classifier_loss_spec(detector); }).find("must end in [softmax]"), std::string::npos);
}

// ---- metrics --------------------------------------------------------------------------

TEST(ClassificationMetrics, TopKAsDarknetsValid) {
    const float s[] = {.1f, .4f, .2f, .4f, .05f};
    EXPECT_EQ(top_classes(s, 5, 3), (std::vector<int>{1, 3, 2}));  // ties: lower index first
    EXPECT_EQ(top_classes(s, 5, 9).size(), 5u);
    ClassificationMetrics m(5, 2);
    m.add(s, 1);  // top-1 hit
    m.add(s, 3);  // top-2 hit only
    m.add(s, 0);  // miss
    EXPECT_DOUBLE_EQ(m.top1(), 1.0 / 3);
    EXPECT_DOUBLE_EQ(m.topk(), 2.0 / 3);
    EXPECT_EQ(m.per_class()[3].images, 1);
    EXPECT_EQ(m.per_class()[3].top1, 0);
    EXPECT_EQ(m.per_class()[3].topk, 1);
}

}  // namespace
}  // namespace yolo9k
