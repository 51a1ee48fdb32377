// Learning-rate schedule, darknet's SGD update, atomic files and checkpoints.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "network/network.h"
#include "parse/cfg.h"
#include "support/test_support.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "train/training_run.h"

namespace yolo9k {
namespace {

NetParams params(const std::string& policy) {
    NetParams p;
    p.learning_rate = 0.1f;
    p.policy = policy;
    p.max_batches = 1000;
    return p;
}

TEST(Schedule, BurnInThenSteps) {
    NetParams p = params("steps");
    p.burn_in = 100;
    p.power = 4;
    p.steps = {400, 700};
    p.scales = {.1f, .1f};
    EXPECT_FLOAT_EQ(learning_rate_at(p, 0), 0.f);
    EXPECT_FLOAT_EQ(learning_rate_at(p, 50), 0.1f * 0.0625f);  // (50/100)^4 = 1/16
    EXPECT_FLOAT_EQ(learning_rate_at(p, 100), 0.1f);
    EXPECT_FLOAT_EQ(learning_rate_at(p, 399), 0.1f);
    EXPECT_NEAR(learning_rate_at(p, 400), 0.01f, 1e-9);  // a step applies from its batch on
    EXPECT_NEAR(learning_rate_at(p, 700), 0.001f, 1e-9);
}

TEST(Schedule, OtherPolicies) {
    NetParams p = params("poly");
    p.power = 2;
    EXPECT_NEAR(learning_rate_at(p, 500), 0.1f * 0.25f, 1e-7);  // (1 - 500/1000)^2
    EXPECT_NEAR(learning_rate_at(p, 1000), 0.f, 1e-9);
    p = params("step");
    p.step = 10;
    p.scale = .5f;
    EXPECT_NEAR(learning_rate_at(p, 25), 0.1f * .25f, 1e-7);  // 25/10 = 2 halvings
    p = params("exp");
    p.gamma = .9f;
    EXPECT_NEAR(learning_rate_at(p, 2), 0.1f * .81f, 1e-7);
    p = params("constant");
    EXPECT_FLOAT_EQ(learning_rate_at(p, 12345), 0.1f);
}

TEST(Schedule, MultiscaleSizesAreDarknets) {
    std::set<int> sizes;
    for (int b = 0; b < 2000; ++b) {
        int s = multiscale_size(7, b, 100000);
        ASSERT_EQ(s % 32, 0);
        ASSERT_GE(s, 320);
        ASSERT_LE(s, 608);
        if (b % 10) {
            EXPECT_EQ(s, multiscale_size(7, b - 1, 100000)) << "changes only every 10 batches";
        }
        sizes.insert(s);
    }
    EXPECT_EQ(sizes.size(), 10u);                  // all of 320, 352, ..., 608 occur
    EXPECT_EQ(multiscale_size(7, 950, 1000), 608);  // the last 200 batches train at 608
}

Network tiny_net() {
    return Network::from_cfg(parse_cfg_text("[net]\nwidth=4\nheight=4\nchannels=1\n"
                                            "[convolutional]\nfilters=2\nsize=1\nbatch_normalize=1\nactivation=leaky\n",
                                            "tiny.cfg"));
}

TEST(Sgd, MatchesDarknetsUpdate) {
    Network net = tiny_net();
    auto& conv = net.layer(0);
    auto blobs = conv.trainable_blobs();  // biases(2), scales(2), weights(2)
    ASSERT_EQ(blobs.size(), 3u);
    *blobs[0].data = {1, 2};
    *blobs[1].data = {1, 1};
    *blobs[2].data = {0.5f, -0.5f};
    Optimizer opt(net);
    std::vector<LayerGradients> g{{0, {0.2f, 0.4f, 0, 0, 1, 1}}};
    const float lr = 0.1f, mom = 0.9f, decay = 0.01f;
    const int B = 4;
    opt.step(g, lr, mom, decay, B);
    // weights: v = g + decay*B*w = 1 + 0.04*0.5 = 1.02; w = 0.5 - 0.1/4 * 1.02 = 0.4745
    EXPECT_NEAR((*blobs[2].data)[0], 0.4745f, 1e-6);
    // biases: no decay: v = 0.2; b = 1 - 0.025*0.2 = 0.995
    EXPECT_NEAR((*blobs[0].data)[0], 0.995f, 1e-6);
    // second step with zero gradient: momentum carries 0.9 * 1.02 plus new decay term
    std::vector<LayerGradients> z{{0, std::vector<float>(6, 0.f)}};
    opt.step(z, lr, mom, decay, B);
    const float v2 = 0.9f * 1.02f + 0.04f * 0.4745f;
    EXPECT_NEAR((*blobs[2].data)[0], 0.4745f - 0.025f * v2, 1e-6);
    EXPECT_NEAR((*blobs[0].data)[0], 0.995f - 0.025f * 0.9f * 0.2f, 1e-6);
}

TEST(Adam, MatchesDarknetsAdamUpdateWithBiasCorrection) {
    Network net = test::net_from("[convolutional]\nfilters=2\nsize=1\nbatch_normalize=1\nactivation=leaky\n", 1, 1, 1);
    net.params().adam = true;  // as [net] adam=1 with darknet's default B1, B2, eps
    auto blobs = net.layer(0).trainable_blobs();  // biases(2), scales(2), weights(2)
    *blobs[0].data = {1, 2};
    *blobs[1].data = {1, 1};
    *blobs[2].data = {0.5f, -0.5f};
    Optimizer opt(net);
    ASSERT_TRUE(opt.adam());
    EXPECT_EQ(opt.total_floats(), 12u) << "first and second moments";
    const float lr = 0.01f, decay = 0.01f, b1 = .9f, b2 = .999f, eps = 1e-7f;
    const int B = 4;
    std::vector<LayerGradients> g{{0, {0.2f, 0.4f, 0, 0, 1, 1}}};
    opt.step(g, lr, .9f, decay, B, 0);
    // Step 1: the bias-corrected moments are u and u^2, so each parameter moves by lr * sign(u).
    const float u = 1 + decay * B * 0.5f;
    EXPECT_NEAR((*blobs[2].data)[0], 0.5f - lr * u / (std::fabs(u) + eps), 1e-6);
    EXPECT_NEAR((*blobs[0].data)[0], 1 - lr, 1e-6);
    EXPECT_NEAR((*blobs[1].data)[0], 1.f, 1e-7) << "a zero gradient does not move a parameter";
    // Step 2 (t = 2) with a zero gradient on a bias: m = b1 * (1 - b1) * 0.2, s = b2 * (1 - b2) * 0.04.
    std::vector<LayerGradients> z{{0, std::vector<float>(6, 0.f)}};
    opt.step(z, lr, .9f, decay, B, 1);
    const double m = b1 * (1 - b1) * 0.2 / (1 - b1 * b1), sq = b2 * (1 - b2) * 0.04 / (1 - b2 * b2);
    EXPECT_NEAR((*blobs[0].data)[0], 1 - lr - lr * m / (std::sqrt(sq) + eps), 1e-6);
}

TEST(AtomicFile, ReplacesOnlyOnCommit) {
    test::TempDir dir;
    const std::string path = dir.file("a.bin");
    write_file_atomically(path, "old");
    {
        AtomicFile f(path);
        f.write("new contents");
        // destroyed without commit: a crash mid-write
    }
    EXPECT_EQ(test::read_file(path), "old");
    for (auto& e : std::filesystem::directory_iterator(dir.path()))
        EXPECT_EQ(e.path().filename(), "a.bin") << "no temporary file left behind";
    write_file_atomically(path, "new");
    EXPECT_EQ(test::read_file(path), "new");
    EXPECT_THROW(write_file_atomically(dir.file("no/such/dir/x"), "x"), Error);
}

TEST(Checkpoint, RoundTripAndStaleSidecar) {
    test::TempDir dir;
    Network net = tiny_net();
    test::randomize_weights(net, 3);
    Optimizer opt(net);
    opt.velocity()[0] = {1, 2, 3, 4, 5, 6};
    TrainState st;
    st.iteration = 7;
    st.seen = 28;
    st.seed = 99;
    st.avg_loss = 1.5f;
    st.history.iteration = {6, 7};
    st.history.loss = {2, 1};
    st.history.avg_loss = {2, 1.5f};
    net.header().seen = 28;
    const std::string w = dir.file("x_last.weights");
    save_checkpoint(w, net, st, opt);

    Network net2 = tiny_net();
    Optimizer opt2(net2);
    std::string warning;
    TrainState back = load_checkpoint(w, net2, opt2, 4, warning);
    EXPECT_TRUE(warning.empty()) << warning;
    EXPECT_EQ(back.iteration, 7);
    EXPECT_EQ(back.seed, 99u);
    EXPECT_EQ(back.history.loss, st.history.loss);
    EXPECT_EQ(opt2.velocity()[0], opt.velocity()[0]);

    // Weights newer than the sidecar (killed between the two renames): weights win.
    net.header().seen = 32;
    net.save_weights(w);
    Optimizer opt3(net2);
    back = load_checkpoint(w, net2, opt3, 4, warning);
    EXPECT_NE(warning.find("seen=28"), std::string::npos) << warning;
    EXPECT_EQ(back.iteration, 8);  // 32 images / 4 per step
    EXPECT_EQ(opt3.velocity()[0], std::vector<float>(6, 0.f));

    // A corrupt sidecar is an error naming it.
    test::write_file(w + ".state", "garbage!garbage!garbage!");
    try {
        load_checkpoint(w, net2, opt3, 4, warning);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(".state"), std::string::npos);
    }
}

TEST(StartOrResume, PartialWeightsKeepTheirPrefixAndTheNewLayersStartRandom) {
    // darknet19_448.conv.23 -> yolov2-voc: the loaded layers are the file's, the layers after
    // them must be initialised (all-zero head layers never learn).
    test::TempDir dir;
    Network two = Network::from_cfg(parse_cfg_text("[net]\nwidth=4\nheight=4\nchannels=1\n"
                                                   "[convolutional]\nfilters=2\nsize=1\nbatch_normalize=1\nactivation=leaky\n"
                                                   "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n",
                                                   "two.cfg"));
    test::randomize_weights(two, 5);
    const std::string partial = dir.file("two.conv.1");
    two.save_weights(partial, 1);

    Network net = Network::from_cfg(parse_cfg_text("[net]\nwidth=4\nheight=4\nchannels=1\n"
                                                   "[convolutional]\nfilters=2\nsize=1\nbatch_normalize=1\nactivation=leaky\n"
                                                   "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n",
                                                   "two.cfg"));
    Optimizer opt(net);
    TrainingRunOptions o;
    o.weights = partial;
    o.quiet = true;
    start_or_resume(net, opt, 1, RunDirectory(dir.path().string(), "two"), o);
    const auto file_blobs = two.layer(0).trainable_blobs();
    const auto loaded = net.layer(0).trainable_blobs();
    for (size_t i = 0; i < loaded.size(); ++i) EXPECT_EQ(*loaded[i].data, *file_blobs[i].data) << "layer 0 blob " << i;
    const auto head = net.layer(1).trainable_blobs();  // biases, scales, weights
    const std::vector<float>& w = *head[2].data;
    ASSERT_EQ(w.size(), 3u * 2 * 9);
    EXPECT_GT(test::max_abs(w.data(), w.size()), 0.f) << "layer 1 was left at zero";
    EXPECT_NE(w, *two.layer(1).trainable_blobs()[2].data) << "layer 1 came from somewhere other than the initialiser";
}

}  // namespace
}  // namespace yolo9k
