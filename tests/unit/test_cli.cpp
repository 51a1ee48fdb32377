// The command-line tool end to end, with the bad inputs users actually produce: each
// must give a clear message naming the file and a non-zero exit, never a crash.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "network/initialize.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

class Cli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir;
        Network net = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg"));
        initialize_weights(net, 3);
        net.save_weights(dir_->file("tiny.weights"));
    }
    static void TearDownTestSuite() { delete dir_; }
    static std::string detect(const std::string& rest) {
        return "detect --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights " + dir_->file("tiny.weights") +
               " --names " + test::darknet_data("voc.names") + " --size 128 " + rest;
    }
    static test::TempDir* dir_;
};
test::TempDir* Cli::dir_ = nullptr;

TEST(CliMemory, DetectWithYolov2VocPeaksUnderTwiceItsWeightsFile) {
    if (test::kSanitized) GTEST_SKIP() << "peak RSS means nothing under AddressSanitizer";
    // The bound, on the real network at 416: ~203 MB of weights, the 3x3 layers on
    // Winograd within the default 48 MiB budget, one JPEG. About 389 MB against 405 MB.
    test::TempDir d;
    const auto [r, weights_bytes] = test::detect_yolov2_voc(d, "");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_GT(r.peak_rss_kib, 0);
    EXPECT_LE(double(r.peak_rss_kib) * 1024, 2.0 * double(weights_bytes))
        << "peak RSS " << r.peak_rss_kib / 1024 << " MiB for a " << weights_bytes / (1 << 20) << " MiB weights file";
}

TEST_F(Cli, HelpOnEveryCommand) {
    for (const char* cmd : {"", "detect ", "info ", "bench ", "init-weights ", "eval ", "map "}) {
        const auto r = test::run_cli(std::string(cmd) + "--help");
        EXPECT_EQ(r.exit_code, 0) << cmd;
        EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
    }
    EXPECT_EQ(test::run_cli("").exit_code, 2);          // no subcommand
    EXPECT_EQ(test::run_cli("detect --bogus").exit_code, 2);
}

TEST_F(Cli, DetectWritesJsonConsoleAndAnnotatedImages) {
    test::TempDir out;
    const auto r = test::run_cli(detect("--thresh 0.05 --json " + out.file("d.json") + " --out " + out.file("img") + " " +
                                        test::darknet_data("dog.jpg") + " " + test::darknet_data("person.jpg")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("dog.jpg: Predicted in"), std::string::npos);
    const auto j = nlohmann::json::parse(test::read_file(out.file("d.json")));
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["width"], 768);
    EXPECT_EQ(j[0]["height"], 576);
    for (const auto& d : j[0]["detections"]) {
        EXPECT_GE(d["score"].get<float>(), 0.05f);
        const auto box = d["box"].get<std::vector<float>>();
        ASSERT_EQ(box.size(), 4u);
        EXPECT_LE(box[0], box[2]);
        EXPECT_LE(box[1], box[3]);
        EXPECT_TRUE(d.contains("name") && d.contains("class_id"));
    }
    EXPECT_TRUE(std::filesystem::exists(out.file("img/dog.jpg")));
    EXPECT_TRUE(std::filesystem::exists(out.file("img/person.jpg")));
}

TEST_F(Cli, InfoPrintsDarknetTotals) {
    const auto r = test::run_cli("info --cfg " + test::darknet_cfg("yolov2-voc.cfg"));
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("Total BFLOPs: 29.36"), std::string::npos);
    EXPECT_NE(r.out.find("reorg              / 2    26 x  26 x  64   ->    13 x  13 x 256"), std::string::npos) << r.out;
}

TEST_F(Cli, DetectOnTheReferenceBackendFindsWhatOnednnFinds) {
    test::TempDir out;
    for (const char* backend : {"onednn", "reference"}) {
        const auto r = test::run_cli(detect("--thresh 0.001 --direct-conv --backend " + std::string(backend) +
                                            " --json " + out.file(std::string(backend) + ".json") + " " +
                                            test::darknet_data("dog.jpg")));
        ASSERT_EQ(r.exit_code, 0) << backend << ": " << r.err;
    }
    const auto a = nlohmann::json::parse(test::read_file(out.file("onednn.json")));
    const auto b = nlohmann::json::parse(test::read_file(out.file("reference.json")));
    ASSERT_EQ(a.dump().size() > 0, true);
    ASSERT_EQ(a[0]["detections"].size(), b[0]["detections"].size()) << a.dump() << "\n" << b.dump();
    ASSERT_FALSE(a[0]["detections"].empty());
    for (size_t i = 0; i < a[0]["detections"].size(); ++i)
        EXPECT_NEAR(a[0]["detections"][i]["score"].get<double>(), b[0]["detections"][i]["score"].get<double>(), 1e-4);
    EXPECT_NE(test::run_cli(detect("--backend reference_f64 " + test::darknet_data("dog.jpg"))).exit_code, 0)
        << "a test-only oracle is not offered on the command line";
}

TEST_F(Cli, InfoListsTheBackendsUsersCanChoose) {
    const auto r = test::run_cli("info --backends");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("onednn: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("reference: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("own training kernels: convolutional"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("reference_f64"), std::string::npos) << "a test-only oracle is not offered to users";
}

TEST_F(Cli, MissingFiles) {
    auto r = test::run_cli(detect("/nonexistent/a.jpg"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("/nonexistent/a.jpg"), std::string::npos) << r.err;
    r = test::run_cli("detect --cfg /nonexistent.cfg --weights x " + test::darknet_data("dog.jpg"));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("/nonexistent.cfg"), std::string::npos) << r.err;
    r = test::run_cli("detect --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights /nonexistent.weights " +
                      test::darknet_data("dog.jpg"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("/nonexistent.weights: no such weights file"), std::string::npos) << r.err;
}

TEST_F(Cli, TruncatedAndOversizedWeights) {
    test::TempDir d;
    const std::string full = test::read_file(dir_->file("tiny.weights"));
    test::write_file(d.file("short.weights"), full.substr(0, full.size() / 2));
    test::write_file(d.file("long.weights"), full + "xxxx");
    for (const char* name : {"short.weights", "long.weights"}) {
        const auto r = test::run_cli("detect --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights " + d.file(name) +
                                     " " + test::darknet_data("dog.jpg"));
        EXPECT_EQ(r.exit_code, 1) << name;
        EXPECT_NE(r.err.find(d.file(name)), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(std::to_string(full.size())), std::string::npos) << r.err;  // the expected size
    }
}

TEST_F(Cli, TypoInCfgNamesTheLine) {
    test::TempDir d;
    std::string cfg = test::read_file(test::darknet_cfg("yolov2-tiny-voc.cfg"));
    const size_t at = cfg.find("batch_normalize=1");
    cfg.replace(at, 17, "batch_normalise=1");
    test::write_file(d.file("typo.cfg"), cfg);
    const int line = int(std::count(cfg.begin(), cfg.begin() + at, '\n')) + 1;
    const auto r = test::run_cli("info --cfg " + d.file("typo.cfg"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(d.file("typo.cfg") + ":" + std::to_string(line) + ": [convolutional]: unknown option 'batch_normalise'"),
              std::string::npos)
        << r.err;
}

TEST_F(Cli, CorruptTinyHugeImagesAndEmptyDirectory) {
    test::TempDir d;
    const std::string jpeg = test::read_file(test::darknet_data("dog.jpg"));
    test::write_file(d.file("corrupt.jpg"), jpeg.substr(0, 100));
    cv::imwrite(d.file("one.png"), cv::Mat(1, 1, CV_8UC3, cv::Scalar(10, 20, 30)));
    cv::imwrite(d.file("huge.jpg"), cv::Mat(6000, 8000, CV_8UC3, cv::Scalar(90, 120, 200)));
    std::filesystem::create_directory(d.file("empty"));

    auto r = test::run_cli(detect(d.file("corrupt.jpg")));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("corrupt.jpg"), std::string::npos) << r.err;

    r = test::run_cli(detect("--json " + d.file("small.json") + " " + d.file("one.png") + " " + d.file("huge.jpg")));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(test::read_file(d.file("small.json")));
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["width"], 1);
    EXPECT_EQ(j[1]["width"], 8000);
    EXPECT_EQ(j[1]["height"], 6000);

    r = test::run_cli(detect(d.file("empty")));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no images found"), std::string::npos) << r.err;

    // A bad file among good ones: the good ones are still processed, the exit says failure.
    r = test::run_cli(detect("--json " + d.file("mixed.json") + " " + d.file("corrupt.jpg") + " " + d.file("one.png")));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(test::read_file(d.file("mixed.json"))).size(), 1u);
}

TEST_F(Cli, NotADetectorAndBadSize) {
    test::TempDir d;
    Network net = Network::from_cfg_file(test::darknet_cfg("tiny.cfg"));
    net.save_weights(d.file("tiny.weights"));
    auto r = test::run_cli("detect --cfg " + test::darknet_cfg("tiny.cfg") + " --weights " + d.file("tiny.weights") + " " +
                           test::darknet_data("dog.jpg"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("not a YOLOv2 detector"), std::string::npos) << r.err;
    r = test::run_cli("detect --cfg " + test::darknet_cfg("yolov2-tiny-voc.cfg") + " --weights " + dir_->file("tiny.weights") +
                      " --size 100 " + test::darknet_data("dog.jpg"));
    EXPECT_EQ(r.exit_code, 2);  // a command-line error, caught before any file is read
    EXPECT_NE(r.err.find("multiple of 32"), std::string::npos) << r.err;
}

TEST_F(Cli, VideoInAnnotatedVideoAndJsonLinesOut) {
    test::TempDir d;
    {
        cv::VideoWriter w(d.file("clip.avi"), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(160, 120));
        ASSERT_TRUE(w.isOpened());
        for (int i = 0; i < 5; ++i) w.write(cv::Mat(120, 160, CV_8UC3, cv::Scalar(40 * i, 100, 200)));
    }
    const auto r = test::run_cli(detect("--thresh 0.01 --json " + d.file("frames.jsonl") + " --out " + d.file("out") + " " +
                                        d.file("clip.avi")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string lines = test::read_file(d.file("frames.jsonl"));
    EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 5);
    EXPECT_NE(lines.find("clip.avi#4"), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(d.file("out/clip.mp4")));
}

}  // namespace
}  // namespace yolo9k
