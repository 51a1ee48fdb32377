// Classifier training against Debian's libdarknet: one training step (train_network) of a
// tiny Darknet-19-shaped classifier (conv (+ BN) + leaky, maxpool, 1x1 conv head, avgpool,
// softmax, optional cost) from the same weights, input and labels. Checks what darknet
// feeds back (softmax delta = t - p, plus scale (t - p) from a [cost] layer's L2 delta with
// no softmax Jacobian), the loss it reports, and every weight, bias, BN scale and rolling
// statistic after the SGD update.
#include <darknet.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "classify/classifier.h"
#include "data/classification_augment.h"
#include "data/classification_dataset.h"
#include "io/image_reader.h"

#include <opencv2/imgcodecs.hpp>

#include "backend/backend.h"
#include "network/network.h"
#include "support/test_support.h"
#include "train/classifier_loss.h"
#include "train/optimizer.h"
#include "train/schedule.h"

// Exported by libdarknet but not declared in darknet.h.
extern "C" {
image rotate_crop_image(image im, float rad, float s, int w, int h, float dx, float dy, float aspect);
void distort_image(image im, float hue, float sat, float val);
}

namespace {

using namespace yolo9k;
using namespace yolo9k::test;

constexpr int kSize = 16, kBatch = 4, kClasses = 5;

struct OracleCase {
    float cost_scale;  // < 0: no [cost] layer (Debian's darknet19.cfg and tiny.cfg end in [softmax])
    bool batch_normalize;
    // Batch norm in training normalises with the biased variance and sqrt(var + 1e-5), as
    // oneDNN does (layer/convolutional.h); darknet uses the unbiased variance and
    // sqrt(var) + 1e-6. Over the 1024 values per filter here that moves the softmax output
    // by ~2e-4, so the BN case has looser bounds; the plain case isolates the loss path.
    float prob_tolerance;
};
void PrintTo(const OracleCase& c, std::ostream* os) {
    *os << (c.cost_scale < 0 ? std::string("no cost") : "cost scale " + std::to_string(c.cost_scale))
        << (c.batch_normalize ? " bn" : "");
}

std::string cfg_text(float cost_scale, bool batch_normalize) {
    return "[net]\nbatch=" + std::to_string(kBatch) + "\nsubdivisions=1\nwidth=" + std::to_string(kSize) +
           "\nheight=" + std::to_string(kSize) +
           "\nchannels=3\nmomentum=0.9\ndecay=0.0005\nlearning_rate=0.1\npolicy=constant\nmax_batches=10\n"
           "[convolutional]\nbatch_normalize=" + std::to_string(int(batch_normalize)) + "\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
           "[maxpool]\nsize=2\nstride=2\n"
           "[convolutional]\nfilters=" + std::to_string(kClasses) + "\nsize=1\nstride=1\npad=1\nactivation=linear\n"
           "[avgpool]\n[softmax]\ngroups=1\n" + (cost_scale < 0 ? std::string() : "[cost]\nscale=" + std::to_string(cost_scale) + "\n");
}

std::vector<float> weights_floats(const std::string& path) {
    const std::string bytes = read_file(path);
    const size_t header = 20;  // version 0.2: 3 x int32 + uint64 seen
    std::vector<float> v((bytes.size() - header) / sizeof(float));
    std::memcpy(v.data(), bytes.data() + header, v.size() * sizeof(float));
    return v;
}

class ClassifierDarknetOracle : public ::testing::TestWithParam<OracleCase> {};

TEST_P(ClassifierDarknetOracle, OneTrainingStepMatchesLibdarknet) {
    const OracleCase& oc = GetParam();
    const bool has_cost = oc.cost_scale >= 0;
    const float factor = has_cost ? 1 + oc.cost_scale : 1;  // darknet's delta = factor (t - p)
    const float cost_scale = oc.cost_scale;
    TempDir tmp;
    const std::string cfg = tmp.file("cls.cfg");
    write_file(cfg, cfg_text(cost_scale, oc.batch_normalize));
    Network net = Network::from_cfg_file(cfg);
    randomize_weights(net, 77);
    const std::string w0 = tmp.file("w0.weights");
    net.save_weights(w0);
    const std::vector<float> input = random_vector(size_t(kBatch) * net.input_shape().size(), 5, 0.f, 1.f);
    const std::vector<int> labels = {0, 3, 4, 3};

    // Ours: forward, loss, backward, SGD step.
    const ClassifierLossSpec spec = classifier_loss_spec(net);
    ASSERT_EQ(spec.has_cost, has_cost);
    ASSERT_EQ(spec.classes, kClasses);
    Optimizer opt(net);
    const std::unique_ptr<TrainExecutor> exec_owner = make_train_executor(net, "onednn", {kBatch, 1});
    TrainExecutor& exec = *exec_owner;
    exec.zero_grad();
    exec.forward(input.data());
    const std::vector<float> probs(exec.output(), exec.output() + kBatch * kClasses);
    std::vector<float> grad(kBatch * kClasses);
    const ClassifierLossStats st = classifier_loss(spec, probs.data(), labels, grad.data());
    exec.backward(grad.data());
    opt.step(exec.gradients(), learning_rate_at(net.params(), 0), net.params().momentum, net.params().decay, kBatch);
    net.header().seen = kBatch;
    const std::string ours_w = tmp.file("ours.weights");
    net.save_weights(ours_w);

    // Darknet: train_network on the same batch.
    std::string cfg_c = cfg, w0_c = w0;
    network* dn = parse_network_cfg(cfg_c.data());
    load_weights(dn, w0_c.data());
    ASSERT_EQ(dn->batch, kBatch);
    ASSERT_EQ(dn->inputs, int(net.input_shape().size()));
    std::vector<float> y(kBatch * kClasses, 0.f);
    for (int b = 0; b < kBatch; ++b) y[b * kClasses + labels[b]] = 1;
    std::vector<float*> xrows(kBatch), yrows(kBatch);
    std::vector<float> xcopy = input;
    for (int b = 0; b < kBatch; ++b) {
        xrows[b] = xcopy.data() + size_t(b) * dn->inputs;
        yrows[b] = y.data() + size_t(b) * kClasses;
    }
    data d{};
    d.X = {kBatch, dn->inputs, xrows.data()};
    d.y = {kBatch, kClasses, yrows.data()};
    d.shallow = 1;
    const float dn_loss = train_network(dn, d);
    const int softmax_index = dn->n - (has_cost ? 2 : 1);
    ASSERT_EQ(dn->layers[softmax_index].type, SOFTMAX);
    std::vector<float> dn_softmax_delta(dn->layers[softmax_index].delta,
                                        dn->layers[softmax_index].delta + kBatch * kClasses);
    std::vector<float> dn_probs(dn->layers[softmax_index].output, dn->layers[softmax_index].output + kBatch * kClasses);
    const std::string dn_w = tmp.file("darknet.weights");
    std::string dn_w_c = dn_w;
    save_weights(dn, dn_w_c.data());
    free_network(dn);

    // The softmax outputs agree, and darknet's delta (a negative gradient) is -our gradient.
    const float prob_diff = max_abs_diff(probs.data(), dn_probs.data(), probs.size());
    EXPECT_LT(prob_diff, oc.prob_tolerance);
    float max_delta_err = 0;
    for (size_t i = 0; i < grad.size(); ++i) {
        max_delta_err = std::max(max_delta_err, std::fabs(grad[i] + dn_softmax_delta[i]));
        const float t = float(i % kClasses == size_t(labels[i / kClasses]));
        EXPECT_NEAR(dn_softmax_delta[i], factor * (t - dn_probs[i]), 1e-5f) << "darknet's delta rule, i=" << i;
    }
    EXPECT_LT(max_delta_err, 2 * factor * oc.prob_tolerance);
    // Darknet's reported loss: the mean of the softmax and cost layers' costs, per image.
    EXPECT_NEAR(st.loss / kBatch, dn_loss, 10 * oc.prob_tolerance * std::max(1.f, std::fabs(dn_loss)));

    const std::vector<float> a = weights_floats(ours_w), b = weights_floats(dn_w), w_before = weights_floats(w0);
    ASSERT_EQ(a.size(), b.size());
    float max_diff = 0, max_val = 0, max_change = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(a[i] - b[i]));
        max_val = std::max(max_val, std::fabs(b[i]));
        max_change = std::max(max_change, std::fabs(b[i] - w_before[i]));
    }
    std::printf("%s%s: max|softmax diff| %.2g, loss ours %.6f darknet %.6f; max|delta diff| %.2g; weights after one step: "
                "max|diff| %.3g (max|value| %.3g, max|change| %.3g)\n",
                has_cost ? ("[cost] scale " + std::to_string(cost_scale)).c_str() : "no [cost]",
                oc.batch_normalize ? " (BN)" : "", prob_diff, st.loss / kBatch, dn_loss, max_delta_err, max_diff, max_val, max_change);
    EXPECT_GT(max_change, 1e-4f) << "the step changed nothing: the comparison would be vacuous";
    EXPECT_LT(max_diff, (oc.batch_normalize ? 2e-3f : 1e-4f) * max_change + 1e-6f) << "weights after one step differ from darknet's";
}

// The darknet binary's `classifier predict` and `classifier valid` on the same network and
// images: the same probabilities (so the same input preparation: letterbox for predict,
// resize_min + centre crop for valid) and the same top-1 / top-k.
std::string run_command(const std::string& cmd) {
    std::string out;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
    return out;
}

TEST(ClassifierDarknetBinary, PredictAndValidMatchDarknet) {
    TempDir tmp;
    const std::string cfg = tmp.file("p.cfg");
    write_file(cfg, "[net]\nbatch=1\nsubdivisions=1\nwidth=64\nheight=64\nchannels=3\n"
                    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
                    "[convolutional]\nfilters=5\nsize=1\nstride=1\npad=1\nactivation=linear\n[avgpool]\n[softmax]\n");
    Network net = Network::from_cfg_file(cfg);
    randomize_weights(net, 3);
    const std::string weights = tmp.file("p.weights");
    net.save_weights(weights);
    const std::vector<std::string> names = {"dog", "eagle", "horses", "person", "giraffe"};
    // PNG copies of darknet's sample photos: both decoders then see the same pixels (darknet's
    // stb_image and OpenCV's libjpeg differ by a level here and there on JPEGs).
    std::string list;
    for (const auto& n : names) {
        const std::string png = tmp.file(n + ".png");
        cv::imwrite(png, load_image(darknet_data(n + ".jpg")));
        list += png + "\n";
    }
    write_file(tmp.file("v.names"), "dog\neagle\nhorses\nperson\ngiraffe\n");
    write_file(tmp.file("v.list"), list);
    write_file(tmp.file("v.data"), "classes=5\nlabels=" + tmp.file("v.names") + "\nvalid=" + tmp.file("v.list") + "\ntop=2\n");
    Classifier ours({.cfg = cfg, .weights = weights, .threads = 1});

    // predict: darknet prints "%5.2f%%: name" for the top classes of the letterboxed image.
    for (const auto& n : names) {
        const std::string image = tmp.file(n + ".png");
        const std::string theirs = run_command("darknet classifier predict " + tmp.file("v.data") + " " + cfg + " " +
                                               weights + " " + image);
        const std::vector<float> p = ours.predict(load_image(image));
        for (int i : top_classes(p.data(), 5, 2)) {
            char line[128];
            std::snprintf(line, sizeof line, "%5.2f%%: %s\n", p[i] * 100, names[i].c_str());
            EXPECT_NE(theirs.find(line), std::string::npos) << n << ": expected '" << line << "' in\n" << theirs;
        }
    }

    // valid: darknet prints "path, class, p[0], p[1]," per image and a running
    // "i: top 1: %f, top 2: %f" line.
    const std::string theirs = run_command("darknet classifier valid " + tmp.file("v.data") + " " + cfg + " " + weights);
    const ClassificationDataset ds = load_classification_dataset(tmp.file("v.data"), "valid");
    ASSERT_EQ(ds.images.size(), names.size());
    std::vector<float> input(3 * 64 * 64);
    float max_diff = 0;
    for (const ClassifiedImage& im : ds.images) {
        center_crop_input(load_image(im.path), 64, input.data());
        const std::vector<float> p = ours.predict_input(input.data());
        const size_t at = theirs.find(im.path + ", ");
        ASSERT_NE(at, std::string::npos) << im.path << " not in\n" << theirs;
        std::istringstream line(theirs.substr(at + im.path.size() + 2));
        int cls = -1;
        char comma;
        float p0 = 0, p1 = 0;
        line >> cls >> comma >> p0 >> comma >> p1;
        EXPECT_EQ(cls, im.label) << im.path << ": darknet's label from the path";
        max_diff = std::max({max_diff, std::fabs(p0 - p[0]), std::fabs(p1 - p[1])});
    }
    EXPECT_LT(max_diff, 2e-6f) << "valid's centre-crop input differs from darknet's";
    const ClassifierValidation v = validate_classifier(ours, ds, 2);
    char summary[128];
    std::snprintf(summary, sizeof summary, "4: top 1: %f, top 2: %f", v.metrics.top1(), v.metrics.topk());
    EXPECT_NE(theirs.find(summary), std::string::npos) << summary << " not in\n" << theirs;
    std::printf("darknet classifier valid: max|p diff| %.2g over %zu images; %s\n", max_diff, ds.images.size(), summary);
}

// Darknet's classifier augmentation pieces (random_augment_image's rotate_crop_image, then
// flip_image and distort_image) on fixed draws, against ours on the same photo.
TEST(ClassifierDarknetAugment, RotateCropFlipDistortMatchLibdarknet) {
    const cv::Mat bgr = load_image(darknet_data("dog.jpg"));  // 768 x 576
    // Planar RGB [0, 1] as darknet's image.
    std::vector<float> planar(size_t(3) * bgr.cols * bgr.rows);
    for (int y = 0; y < bgr.rows; ++y)
        for (int x = 0; x < bgr.cols; ++x)
            for (int ch = 0; ch < 3; ++ch)
                planar[(size_t(ch) * bgr.rows + y) * bgr.cols + x] = bgr.at<cv::Vec3b>(y, x)[2 - ch] / 255.f;
    const image src = float_to_image(bgr.cols, bgr.rows, 3, planar.data());
    const int size = 96;
    struct Draw {
        float aspect;
        int shorter;
        float degrees, dx, dy;
        bool flip;
        float hue, sat, exp;
    };
    for (const Draw& t : {Draw{1, 96, 0, 0, 0, false, 0, 1, 1}, Draw{.8f, 150, 7, 20.5f, -11.25f, true, .1f, 1.4f, .8f},
                          Draw{1.3f, 80, -5, -3, 4, false, -.05f, .7f, 1.3f}, Draw{1.1f, 200, 30, 40, 30, true, 0, 1, 1}}) {
        ClassifierAugmentDraw d;
        d.aspect = t.aspect;
        d.shorter_side = t.shorter;
        d.radians = t.degrees * float(M_PI) / 180;
        d.dx = t.dx, d.dy = t.dy, d.flip = t.flip, d.hue = t.hue, d.saturation = t.sat, d.exposure = t.exp;
        std::vector<float> ours(size_t(3) * size * size);
        apply_classifier_augmentation(bgr, size, d, ours.data());

        const float shorter = std::min(float(bgr.rows), bgr.cols * t.aspect);
        image theirs = rotate_crop_image(src, d.radians, t.shorter / shorter, size, size, t.dx, t.dy, t.aspect);
        if (t.flip) flip_image(theirs);
        distort_image(theirs, t.hue, t.sat, t.exp);
        const float diff = max_abs_diff(ours.data(), theirs.data, ours.size());
        std::printf("augment aspect %.2f r %d rot %.0f° flip %d hsv (%.2f %.2f %.2f): max|diff| %.2g\n", t.aspect,
                    t.shorter, t.degrees, int(t.flip), t.hue, t.sat, t.exp, diff);
        EXPECT_LT(diff, 1e-4f) << "draw aspect " << t.aspect << " r " << t.shorter;
        free_image(theirs);
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, ClassifierDarknetOracle,
                         ::testing::Values(OracleCase{-1.f, false, 1e-5f}, OracleCase{1.f, false, 1e-5f},
                                           OracleCase{0.5f, false, 1e-5f}, OracleCase{-1.f, true, 1e-3f},
                                           OracleCase{1.f, true, 1e-3f}));

}  // namespace
