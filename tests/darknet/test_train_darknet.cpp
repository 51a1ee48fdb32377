// Training interop with darknet: weights yolo9k trains (non-trivial batch-norm rolling
// statistics included) run in libdarknet with the same output, and weights darknet itself
// writes (random, from `darknet partial`) start and resume yolo9k training.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "backend/backend.h"
#include "network/network.h"
#include "darknet_oracle.h"
#include "support/test_support.h"
#include "support/training_fixtures.h"
#include "train/trainer.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;

TEST(TrainDarknetInterop, TrainedWeightsGiveTheSameOutputInDarknet) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 6);
    TrainOptions o;
    o.data_file = dir.file("shapes.data");
    o.cfg = dir.file("tiny.cfg");
    o.max_batches = 15;
    o.quiet = true;
    o.no_chart = true;
    TrainResult r = train_detector(o);
    ASSERT_EQ(r.iterations, 15);

    Network net = Network::from_cfg_file(o.cfg);
    net.load_weights(r.final_weights);
    // Training moved the rolling statistics away from darknet's initial 0 / 1.
    const auto blobs = net.layer(0).weight_blobs();
    ASSERT_EQ(std::string(blobs[2].name), "rolling_mean");
    EXPECT_GT(test::max_abs(blobs[2].data->data(), blobs[2].data->size()), 1e-3f);

    const auto input = test::random_vector(net.input_shape().size(), 3, 0.f, 1.f);
    auto exec = make_executor(net, "onednn", {.batch = 1});
    exec->forward(input.data());
    const size_t n = net.layer(net.output_layer()).output_shape().size();
    const std::vector<float> ours(exec->output(), exec->output() + n);

    test::write_darknet_cfg(o.cfg, dir.file("darknet.cfg"), 160, 160, 1);
    test::DarknetNet dn(dir.file("darknet.cfg"), r.final_weights, 1);
    ASSERT_EQ(dn.output_size(), n);
    const std::vector<float> theirs = dn.predict(input.data());
    const float ratio = test::max_abs_diff(ours.data(), theirs.data(), n) / test::max_abs(theirs.data(), n);
    RecordProperty("max_abs_diff_over_max_abs", std::to_string(ratio));
    EXPECT_LT(ratio, 1e-4f);
}

TEST(TrainDarknetInterop, DarknetWrittenWeightsStartAndResumeTraining) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 6);
    // darknet partial with an empty weights name: darknet's own random initialisation, saved
    // by darknet's writer (all layers).
    const std::string dn_weights = dir.file("darknet.weights");
    const std::string cmd = "cd " + dir.path().string() + " && /usr/bin/darknet partial " + dir.file("tiny.cfg") +
                            " '' " + dn_weights + " 100 >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    ASSERT_TRUE(fs::exists(dn_weights));

    auto r = test::run_cli("train --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") + " --weights " +
                           dn_weights + " --max-batches 5 --no-chart");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("loaded 11 of 11 layers"), std::string::npos) << r.err;

    // The same file as a run's _last checkpoint (no yolo9k .state beside it): resume
    // continues from the weights alone and says so.
    fs::create_directories(dir.path() / "backup");
    fs::copy_file(dn_weights, dir.file("backup/tiny_last.weights"), fs::copy_options::overwrite_existing);
    fs::remove(dir.file("backup/tiny_last.weights.state"));
    r = test::run_cli("train --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") +
                      " --resume --max-batches 4 --no-chart");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("no training state"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("4: loss"), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(dir.file("backup/tiny_final.weights")));
}

}  // namespace
}  // namespace yolo9k
