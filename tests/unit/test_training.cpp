// Training end to end: a tiny detector overfits a few real BCCD images (loss falls by a
// large factor, detections recover the boxes), and a run killed with SIGKILL resumes
// from its last checkpoint with no corrupt file.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "network/network.h"
#include "support/test_support.h"
#include "support/training_fixtures.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "data/dataset.h"
#include "train/trainer.h"
#include "yolo9k/detector.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;
using test::tiny_detector_cfg;
using test::write_shapes_dataset;

float iou(const Box& a, const Box& b) {
    const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1), ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
    if (iw <= 0 || ih <= 0) return 0;
    const float inter = iw * ih;
    return inter / (a.width() * a.height() + b.width() * b.height() - inter);
}

TEST(Training, TinyDetectorOverfitsBccdImages) {
    YOLO9K_REQUIRE_SHARED_DATA();
    const fs::path bccd = fs::path(test::shared_data_dir()) / "bccd";
    test::TempDir dir;
    // A VOC view of 4 BCCD images: the real folders linked, our own split file.
    fs::create_directories(dir.path() / "voc/ImageSets/Main");
    fs::create_directory_symlink(bccd / "Annotations", dir.path() / "voc/Annotations");
    fs::create_directory_symlink(bccd / "JPEGImages", dir.path() / "voc/JPEGImages");
    const std::vector<std::string> ids = {"BloodImage_00000", "BloodImage_00001", "BloodImage_00002", "BloodImage_00003"};
    std::string split;
    for (auto& id : ids) split += id + "\n";
    test::write_file((dir.path() / "voc/ImageSets/Main/few.txt").string(), split);
    test::write_file(dir.file("bccd.names"), "RBC\nWBC\nPlatelets\n");
    test::write_file(dir.file("tiny.cfg"), tiny_detector_cfg(3, 300, 0.001f));

    TrainOptions o;
    o.dataset = (dir.path() / "voc").string();
    o.split = "few";
    o.names_file = dir.file("bccd.names");
    o.cfg = dir.file("tiny.cfg");
    o.backup_dir = dir.file("backup");
    o.augment = false;  // memorise these exact images
    o.quiet = true;
    o.checkpoint_every = 1000;
    o.save_every = 0;
    std::vector<float> losses;
    TrainResult r = train_detector(o, [&](const TrainProgress& p) { losses.push_back(p.loss); });
    ASSERT_EQ(r.iterations, 300);
    const float first = (losses[0] + losses[1] + losses[2]) / 3;
    const float last = (losses[297] + losses[298] + losses[299]) / 3;
    RecordProperty("loss_first", std::to_string(first));
    RecordProperty("loss_last", std::to_string(last));
    EXPECT_LT(last, first / 10) << "loss " << first << " -> " << last;

    DetectorOptions dopt;
    dopt.cfg = o.cfg;
    dopt.weights = r.final_weights;
    dopt.names = o.names_file;
    dopt.thresh = 0.3f;
    Detector det(dopt);
    Dataset data = load_dataset((dir.path() / "voc").string(), {.class_names = read_names_file(o.names_file), .split = "few"});
    int found = 0, total = 0;
    for (const auto& img : data.images) {
        const cv::Mat image = cv::imread(img.image_path);
        const auto dets = det.detect(image);
        const float W = float(image.cols), H = float(image.rows);
        for (const auto& t : img.boxes) {
            const Box truth{(t.x - t.w / 2) * W, (t.y - t.h / 2) * H, (t.x + t.w / 2) * W, (t.y + t.h / 2) * H};
            float best = 0;
            for (const auto& det_box : dets)
                if (det_box.class_id == t.class_id) best = std::max(best, iou(truth, det_box.box));
            found += best > .5f;
            ++total;
        }
    }
    RecordProperty("boxes_recovered", std::to_string(found) + "/" + std::to_string(total));
    EXPECT_GE(found, total * 7 / 10) << found << " of " << total << " boxes recovered with IoU > .5";
}

TEST(Training, KilledRunResumesFromLastCheckpoint) {
    test::TempDir dir;
    write_shapes_dataset(dir, 8);
    const std::string args = "train --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") +
                             " --checkpoint-every 5 --seed 4 --threads 1";
    const std::string last = dir.file("backup/tiny_last.weights");
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // Child: the CLI, output discarded.
        const std::string cmd = std::string(YOLO9K_CLI_PATH) + " " + args + " >/dev/null 2>&1";
        execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), nullptr);
        _exit(127);
    }
    // Wait for the second checkpoint (iteration 10), then kill without warning.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    uint64_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (fs::exists(last)) {
            try {
                Network probe = Network::from_cfg_file(dir.file("tiny.cfg"));
                probe.load_weights(last);
                seen = probe.header().seen;
            } catch (const std::exception&) {
            }
            if (seen >= 40) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_GE(seen, 40u) << "no checkpoint at iteration 10 within the deadline";
    ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before the kill: nothing was interrupted";

    // Whatever instant the kill hit, the checkpoint loads completely, state included.
    Network net = Network::from_cfg_file(dir.file("tiny.cfg"));
    Optimizer opt(net);
    std::string warning;
    TrainState st = load_checkpoint(last, net, opt, 4, warning);
    EXPECT_GE(st.iteration, 10);
    auto r = test::run_cli(args + " --resume");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // A kill mid-write may leave a temporary file; the resumed run clears it.
    for (auto& e : fs::directory_iterator(dir.path() / "backup"))
        EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << "left behind: " << e.path();
    EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("60: loss"), std::string::npos);
    EXPECT_EQ(r.out.find("\n1: loss"), std::string::npos) << "restarted from scratch";
    EXPECT_TRUE(fs::exists(dir.file("backup/tiny_final.weights")));
    EXPECT_TRUE(fs::exists(dir.file("backup/tiny_chart.png")));
}

TEST(Training, BadSetupIsAClearError) {
    test::TempDir dir;
    write_shapes_dataset(dir, 2);
    // classes in the cfg do not match the data
    test::write_file(dir.file("three.cfg"), tiny_detector_cfg(3, 10, 0.01f));
    auto r = test::run_cli("train --data " + dir.file("shapes.data") + " --cfg " + dir.file("three.cfg"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("classes=3"), std::string::npos) << r.err;
    // resume with nothing to resume
    r = test::run_cli("train --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") + " --resume");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("nothing to resume"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace yolo9k
