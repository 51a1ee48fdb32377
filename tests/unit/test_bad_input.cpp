// The bad-data corpus: every class of bad input a user or an adversary can hand the CLI,
// each run through the real tool. Each must end in a clear message naming the file (and
// line or byte where there is one), a failure exit code, no signal, no hang, bounded memory,
// and no half-written output file.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>
#include <limits>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "core/limits.h"
#include "io/image_reader.h"
#include "network/initialize.h"
#include "network/network.h"
#include "support/test_support.h"
#include "support/training_fixtures.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;

// A 3-channel detector small enough to run in milliseconds: one 1x1 conv into [region].
std::string small_detector_cfg(int channels = 3) {
    return "[net]\nwidth=64\nheight=64\nchannels=" + std::to_string(channels) +
           "\n[convolutional]\nfilters=18\nsize=1\nactivation=linear\n"
           "[region]\nanchors=1,1, 2,2, 3,3\nclasses=1\nnum=3\n";
}

std::string dog() { return test::darknet_data("dog.jpg"); }

// Writes weights for `cfg` with random values, then `poison` edits the float array.
void write_weights(const std::string& cfg, const std::string& out, const std::function<void(std::vector<float>&)>& poison = {}) {
    Network net = Network::from_cfg_file(cfg);
    initialize_weights(net, 1);
    net.save_weights(out);
    if (!poison) return;
    std::string bytes = test::read_file(out);
    std::vector<float> v((bytes.size() - 20) / 4);
    std::memcpy(v.data(), bytes.data() + 20, v.size() * 4);
    poison(v);
    std::memcpy(bytes.data() + 20, v.data(), v.size() * 4);
    test::write_file(out, bytes);
}

struct BadInput {
    const char* bug_class;                                      // what kind of defect this guards
    std::function<std::string(const test::TempDir&)> prepare;  // writes the files, returns the CLI arguments
    int exit_code;                                              // 1: bad input, 2: bad command line
    std::vector<std::string> message;                           // substrings of stderr (the file, line, what)
    std::string must_not_exist;                                 // an output that must not be left behind
};

const std::vector<BadInput>& corpus() {
    static const std::vector<BadInput> cases = {
        {"channels other than 3 are refused with the cfg line (detect)",
         [](const test::TempDir& d) {
             test::write_file(d.file("grey.cfg"), small_detector_cfg(1));
             write_weights(d.file("grey.cfg"), d.file("grey.weights"));
             return "detect --cfg " + d.file("grey.cfg") + " --weights " + d.file("grey.weights") + " " + dog();
         },
         1, {"grey.cfg:4: channels=1", "needs channels=3"}, ""},
        {"channels other than 3 are refused with the cfg line (classifier predict)",
         [](const test::TempDir& d) {
             test::write_file(d.file("grey.cfg"),
                              "[net]\nwidth=32\nheight=32\nchannels=1\n[convolutional]\nfilters=2\nsize=1\n"
                              "activation=linear\n[avgpool]\n[softmax]\n");
             write_weights(d.file("grey.cfg"), d.file("grey.weights"));
             return "classifier predict --cfg " + d.file("grey.cfg") + " --weights " + d.file("grey.weights") + " " + dog();
         },
         1, {"grey.cfg:4: channels=1"}, ""},
        {"channels other than 3 are refused with the cfg line (train)",
         [](const test::TempDir& d) {
             test::write_shapes_dataset(d, 2);
             std::string cfg = test::tiny_detector_cfg(2, 2, 0.001f);
             cfg.replace(cfg.find("channels=3"), 10, "channels=4");
             test::write_file(d.file("four.cfg"), cfg);
             return "train --data " + d.file("shapes.data") + " --cfg " + d.file("four.cfg");
         },
         1, {"four.cfg:6: channels=4"}, "backup/four_last.weights"},
        {"a .data file naming itself does not recurse",
         [](const test::TempDir& d) {
             test::write_file(d.file("self.data"), "train = " + d.file("self.data") + "\n");
             return "dataset " + d.file("self.data");
         },
         1, {"self.data", "another .data file"}, ""},
        {"two .data files naming each other do not recurse",
         [](const test::TempDir& d) {
             test::write_file(d.file("a.data"), "train = " + d.file("b.data") + "\n");
             test::write_file(d.file("b.data"), "train = " + d.file("a.data") + "\n");
             return "dataset " + d.file("a.data");
         },
         1, {"a.data", "another .data file"}, ""},
        {"deeply nested JSON is refused before anything recurses on it",
         [](const test::TempDir& d) {
             test::write_file(d.file("deep.json"), "{\"images\": " + std::string(200000, '[') + std::string(200000, ']') + "}");
             return "dataset " + d.file("deep.json");
         },
         1, {"deep.json", "nested deeper than"}, ""},
        {"a thread count beyond the limit is refused (compute)",
         [](const test::TempDir& d) {
             test::write_file(d.file("d.cfg"), small_detector_cfg());
             write_weights(d.file("d.cfg"), d.file("d.weights"));
             return "detect --cfg " + d.file("d.cfg") + " --weights " + d.file("d.weights") + " --threads 100000 " + dog();
         },
         1, {"--threads 100000", "--max-threads"}, ""},
        {"a thread count beyond the limit is refused (loader)",
         [](const test::TempDir& d) {
             test::write_shapes_dataset(d, 2);
             return "train --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") + " --loader-threads 100000";
         },
         1, {"100000", "--max-threads"}, "backup/tiny_last.weights"},
        {"an image whose header claims more pixels than the limit is not decoded",
         [](const test::TempDir& d) {
             test::write_file(d.file("d.cfg"), small_detector_cfg());
             write_weights(d.file("d.cfg"), d.file("d.weights"));
             // SOI, SOF0 claiming 30000 x 30000 x 3, EOI: 634 bytes can claim 2.7 GB.
             const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x75, 0x30, 0x75, 0x30, 0x03, 0x01,
                                           0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9};
             test::write_file(d.file("huge.jpg"), std::string(reinterpret_cast<const char*>(jpeg), sizeof jpeg));
             return "detect --cfg " + d.file("d.cfg") + " --weights " + d.file("d.weights") + " " + d.file("huge.jpg");
         },
         1, {"huge.jpg", "30000x30000", "--max-image-pixels"}, ""},
        {"a text file over the size limit is refused before it is read",
         [](const test::TempDir& d) {
             test::write_file(d.file("big.cfg"), small_detector_cfg() + std::string(2 << 20, '#'));
             return "info --cfg " + d.file("big.cfg") + " --max-file-mb 1";
         },
         1, {"big.cfg", "-byte limit", "--max-file-mb"}, ""},
        {"a class id near INT_MAX without names does not make a name per id",
         [](const test::TempDir& d) {
             fs::create_directories(d.path() / "images");
             fs::create_directories(d.path() / "labels");
             cv::imwrite(d.file("images/a.jpg"), cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(9)));
             test::write_file(d.file("labels/a.txt"), "2147483646 0.5 0.5 0.2 0.2\n");
             test::write_file(d.file("list.txt"), d.file("images/a.jpg") + "\n");
             return "dataset " + d.file("list.txt");
         },
         1, {"labels/a.txt:1", "class id 2147483646", "--max-classes"}, ""},
        {"a cfg asking for more weights than the network limit is refused before allocating",
         [](const test::TempDir& d) {
             test::write_file(d.file("vast.cfg"), "[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=60000\n"
                                                  "size=11\nactivation=linear\n[convolutional]\nfilters=60000\nsize=11\n"
                                                  "activation=linear\n");
             return "info --cfg " + d.file("vast.cfg");
         },
         1, {"vast.cfg:9: [convolutional] (layer 1)", "--max-network-mb"}, ""},
        {"a cfg whose activations exceed the network limit is refused before allocating",
         [](const test::TempDir& d) {
             test::write_file(d.file("wide.cfg"), "[net]\nwidth=65536\nheight=65536\nchannels=3\n[convolutional]\n"
                                                  "filters=64\nsize=3\npad=1\nactivation=leaky\n");
             return "info --cfg " + d.file("wide.cfg");
         },
         1, {"wide.cfg:5: [convolutional]", "65536x65536", "--max-network-mb"}, ""},
        {"a VOC <size> no int can hold is an error, not undefined behaviour",
         [](const test::TempDir& d) {
             test::write_file(d.file("a.xml"), "<annotation>\n<filename>a.jpg</filename>\n<size><width>1e300</width>"
                                               "<height>10</height></size>\n</annotation>\n");
             return "dataset " + d.path().string();
         },
         1, {"a.xml:3", "<width> expected a whole number of pixels"}, ""},
        {"COCO numbers out of their type's range are errors, not undefined behaviour",
         [](const test::TempDir& d) {
             test::write_file(d.file("c.json"), R"({"categories": [{"id": 1, "name": "a"}], "images": [{"id": 1, )"
                                                R"("file_name": "a.jpg", "width": 1e300, "height": 10}], "annotations": []})");
             return "dataset " + d.file("c.json");
         },
         1, {"c.json: images[0]", "\"width\" expected an integer in range"}, ""},
        {"a COCO flag that is not 0 or 1 is an error",
         [](const test::TempDir& d) {
             test::write_file(d.file("c.json"), R"({"categories": [{"id": 1, "name": "a"}], "images": [{"id": 1, )"
                                                R"("file_name": "a.jpg", "width": 10, "height": 10}], "annotations": [)"
                                                R"({"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": "yes"}]})");
             return "dataset " + d.file("c.json");
         },
         1, {"c.json: annotations[0]", "\"iscrowd\" expected 0 or 1"}, ""},
        {"route channel counts that overflow int are refused",
         [](const test::TempDir& d) {
             std::string layers = "-1";
             for (int i = 0; i < 2000; ++i) layers += ",-1";
             test::write_file(d.file("route.cfg"), "[net]\nwidth=1\nheight=1\nchannels=3\n[convolutional]\nfilters=1048576\n"
                                                   "size=1\n[route]\nlayers=" + layers + "\n");
             return "info --cfg " + d.file("route.cfg");
         },
         1, {"route.cfg:8: [route]", "channels together"}, ""},
        {"an image format whose header is not sized first is not decoded (PPM claiming 30000x30000)",
         [](const test::TempDir& d) {
             test::write_file(d.file("d.cfg"), small_detector_cfg());
             write_weights(d.file("d.cfg"), d.file("d.weights"));
             test::write_file(d.file("big.ppm"), "P6\n30000 30000\n255\n" + std::string(64, '\x7f'));
             return "detect --cfg " + d.file("d.cfg") + " --weights " + d.file("d.weights") + " " + d.file("big.ppm");
         },
         1, {"big.ppm: not a decodable image"}, ""},
        {"a weights header version near INT_MAX is refused without overflow",
         [](const test::TempDir& d) {
             test::write_file(d.file("d.cfg"), small_detector_cfg());
             write_weights(d.file("d.cfg"), d.file("d.weights"));
             std::string bytes = test::read_file(d.file("d.weights"));
             const int32_t major = 0x7fffffff;
             std::memcpy(bytes.data(), &major, 4);
             test::write_file(d.file("d.weights"), bytes);
             return "info --cfg " + d.file("d.cfg") + " --weights " + d.file("d.weights");
         },
         1, {"d.weights: header version 2147483647.2"}, ""},
        {"a pipe given as an image does not block",
         [](const test::TempDir& d) {
             test::write_file(d.file("d.cfg"), small_detector_cfg());
             write_weights(d.file("d.cfg"), d.file("d.weights"));
             mkfifo(d.file("pipe.jpg").c_str(), 0600);
             return "detect --cfg " + d.file("d.cfg") + " --weights " + d.file("d.weights") + " " + d.file("pipe.jpg");
         },
         1, {"pipe.jpg", "not a regular file"}, ""},
        {"a pipe given as a cfg does not block",
         [](const test::TempDir& d) {
             mkfifo(d.file("pipe.cfg").c_str(), 0600);
             return "info --cfg " + d.file("pipe.cfg");
         },
         1, {"pipe.cfg", "not a regular file"}, ""},
        {"weights holding NaN are refused with the byte offset",
         [](const test::TempDir& d) {
             test::write_file(d.file("d.cfg"), small_detector_cfg());
             write_weights(d.file("d.cfg"), d.file("nan.weights"),
                           [](std::vector<float>& v) { v[20] = std::numeric_limits<float>::quiet_NaN(); });
             return "info --cfg " + d.file("d.cfg") + " --weights " + d.file("nan.weights");
         },
         1, {"nan.weights: byte 100: weights[2] of layer 0", "expected a finite value"}, ""},
        {"a negative batch-norm variance is refused with the byte offset",
         [](const test::TempDir& d) {
             test::write_file(d.file("bn.cfg"), "[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nbatch_normalize=1\n"
                                                "filters=18\nsize=1\nactivation=leaky\n[region]\nanchors=1,1, 2,2, 3,3\n"
                                                "classes=1\nnum=3\n");
             // biases[18], scales[18], rolling_mean[18], rolling_variance[18]: variance 0 at float 54.
             write_weights(d.file("bn.cfg"), d.file("bn.weights"), [](std::vector<float>& v) { v[54] = -1; });
             return "detect --cfg " + d.file("bn.cfg") + " --weights " + d.file("bn.weights") + " " + dog();
         },
         1, {"bn.weights: byte 236: rolling_variance[0] of layer 0", ">= 0"}, ""},
        {"maxpool padding that leaves windows wholly in padding is refused",
         [](const test::TempDir& d) {
             test::write_file(d.file("pool.cfg"), "[net]\nwidth=64\nheight=64\nchannels=3\n[maxpool]\nsize=2\nstride=2\n"
                                                  "padding=5\n");
             return "info --cfg " + d.file("pool.cfg");
         },
         1, {"pool.cfg:8", "padding=5", "at most 2"}, ""},
        {"a threshold that is not a number is a usage error",
         [](const test::TempDir&) { return "detect --cfg " + dog() + " --weights x.weights --thresh nan " + dog(); }, 2,
         {"--thresh", "nan"}, ""},
        {"a threshold out of range is a usage error",
         [](const test::TempDir&) { return "eval --cfg " + dog() + " --weights y --dataset z --nms 1.5"; }, 2, {"--nms"}, ""},
        {"an input size that is not a multiple of 32 is a usage error",
         [](const test::TempDir&) { return "detect --cfg " + dog() + " --weights x.weights --size 33 " + dog(); }, 2,
         {"--size", "multiple of 32"}, ""},
        {"a zero batch does not silently fall back to the cfg's",
         [](const test::TempDir& d) {
             test::write_shapes_dataset(d, 2);
             return "train --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") + " --batch 0";
         },
         2, {"--batch"}, "backup/tiny_last.weights"},
        {"a negative learning rate is a usage error",
         [](const test::TempDir& d) {
             test::write_shapes_dataset(d, 2);
             return "train --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") + " --learning-rate -1";
         },
         2, {"--learning-rate"}, ""},
        {"a zero top-k is a usage error",
         [](const test::TempDir&) { return "classifier predict --cfg " + dog() + " --weights " + dog() + " --top 0 " + dog(); }, 2, {"--top"}, ""},
        {"anchors for a stride that does not divide the size are refused",
         [](const test::TempDir& d) {
             test::write_shapes_dataset(d, 2);
             return "anchors --dataset " + d.file("shapes.data") + " --size 416 --stride 7 --json " + d.file("a.json");
         },
         1, {"stride 7", "416"}, "a.json"},
        {"--split on a form without splits is refused, not ignored",
         [](const test::TempDir& d) {
             test::write_shapes_dataset(d, 2);
             return "dataset " + d.file("train.txt") + " --split train";
         },
         1, {"train.txt", "split 'train'", "has no splits"}, ""},
        {"a .state sidecar with inconsistent history is refused on resume",
         [](const test::TempDir& d) {
             test::write_shapes_dataset(d, 2);
             fs::create_directories(d.path() / "backup");
             Network net = Network::from_cfg_file(d.file("tiny.cfg"));
             initialize_weights(net, 1);
             Optimizer optimizer(net);
             TrainState state;  // three iterations but one loss: a chart would read past the end
             state.iteration = 4;
             state.history.iteration = {1, 2, 3};
             state.history.loss = {1};
             state.history.avg_loss = {1};
             save_checkpoint(d.file("backup/tiny_last.weights"), net, state, optimizer);
             return "train --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") + " --resume";
         },
         1, {"tiny_last.weights.state", "inconsistent training history", "3 iterations but 1 losses"}, ""},
        {"detect --json into a folder that does not exist fails before the work, writing nothing",
         [](const test::TempDir& d) {
             test::write_file(d.file("d.cfg"), small_detector_cfg());
             write_weights(d.file("d.cfg"), d.file("d.weights"));
             return "detect --cfg " + d.file("d.cfg") + " --weights " + d.file("d.weights") + " --json " +
                    d.file("nowhere/out.json") + " " + dog();
         },
         1, {"nowhere/out.json", "does not exist"}, "nowhere/out.json"},
    };
    return cases;
}

TEST(BadInputCorpus, EveryBadInputGetsAClearErrorAndLeavesNothingHalfWritten) {
    for (const BadInput& c : corpus()) {
        SCOPED_TRACE(c.bug_class);
        test::TempDir dir;
        const std::string args = c.prepare(dir);
        const test::CliResult r = test::run_cli(args, 60);
        EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << " (" << strsignal(r.signal) << "): " << r.err;
        EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
        for (const std::string& m : c.message) EXPECT_NE(r.err.find(m), std::string::npos) << "no '" << m << "' in: " << r.err;
        if (!c.must_not_exist.empty()) {
            EXPECT_FALSE(fs::exists(dir.file(c.must_not_exist))) << c.must_not_exist;
        }
        if (!test::kSanitized) {
            EXPECT_LT(r.peak_rss_kib, 1024 * 1024) << "peak RSS " << r.peak_rss_kib / 1024 << " MiB";
        }
    }
}

TEST(ImageLimits, EveryFormatsHeaderSizeIsCheckedBeforeDecoding) {
    // A 37x23 image in each format the reader sniffs; a limit one pixel short refuses each one
    // from its header, naming the claimed size.
    const cv::Mat img(23, 37, CV_8UC3, cv::Scalar(10, 200, 30));
    const Limits saved = limits();
    limits().max_image_pixels = 37 * 23 - 1;
    for (const char* ext : {".jpg", ".png", ".bmp", ".tiff", ".webp"}) {
        SCOPED_TRACE(ext);
        std::vector<uchar> bytes;
        ASSERT_TRUE(cv::imencode(ext, img, bytes));
        try {
            decode_image(bytes, std::string("x") + ext);
            ADD_FAILURE() << "decoded despite the limit";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("claims 37x23"), std::string::npos) << e.what();
        }
    }
    limits().max_image_pixels = 37 * 23;
    for (const char* ext : {".jpg", ".png", ".bmp", ".tiff", ".webp"}) {
        std::vector<uchar> bytes;
        ASSERT_TRUE(cv::imencode(ext, img, bytes));
        EXPECT_EQ(decode_image(bytes, ext).size(), img.size()) << ext;
    }
    limits() = saved;
}

TEST(NonUtf8Names, DetectJsonIsWrittenWithReplacementCharacters) {
    test::TempDir d;
    test::write_file(d.file("d.cfg"), small_detector_cfg());
    write_weights(d.file("d.cfg"), d.file("d.weights"));
    test::write_file(d.file("latin1.names"), "caf\xe9\n");  // Latin-1, not UTF-8
    const auto r = test::run_cli("detect --cfg " + d.file("d.cfg") + " --weights " + d.file("d.weights") + " --names " +
                                 d.file("latin1.names") + " --thresh 0 --json " + d.file("out.json") + " " + dog(), 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(test::read_file(d.file("out.json")));
    ASSERT_EQ(j.size(), 1u);
    ASSERT_FALSE(j[0]["detections"].empty());
    EXPECT_EQ(j[0]["detections"][0]["name"], "caf\xef\xbf\xbd");  // U+FFFD
}

TEST(DatasetLayout, ImagesBesideAnAnnotsFolderAreFound) {
    test::TempDir d;
    fs::create_directories(d.path() / "images");
    fs::create_directories(d.path() / "annots");
    cv::imwrite(d.file("images/a.jpg"), cv::Mat(40, 50, CV_8UC3, cv::Scalar::all(9)));
    test::write_file(d.file("annots/a.xml"),
                     "<annotation><filename>a.jpg</filename><size><width>50</width><height>40</height></size>"
                     "<object><name>cat</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>30</xmax><ymax>30</ymax>"
                     "</bndbox></object></annotation>");
    auto r = test::run_cli("dataset " + d.path().string() + " --check", 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("all 1 images decode"), std::string::npos) << r.out;
    // Two candidate folders: the message names both instead of guessing.
    fs::create_directories(d.path() / "more");
    test::write_file(d.file("more/b.xml"), test::read_file(d.file("annots/a.xml")));
    r = test::run_cli("dataset " + d.path().string(), 60);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("annots/, more/"), std::string::npos) << r.err;
    // No XMLs anywhere: the subfolders found are named.
    fs::remove_all(d.path() / "annots");
    fs::remove_all(d.path() / "more");
    r = test::run_cli("dataset " + d.path().string(), 60);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("subfolders: images/"), std::string::npos) << r.err;
}

TEST(UnreadableImages, ATruncatedValidationImageIsSkippedByEvalAndNamedByDatasetCheck) {
    test::TempDir d;
    test::write_shapes_dataset(d, 4);
    // Cut one image in half: libjpeg would decode it grey; the reader calls it truncated.
    const std::string bad = d.file("images/s2.jpg");
    const std::string bytes = test::read_file(bad);
    test::write_file(bad, bytes.substr(0, bytes.size() / 2));
    test::write_file(d.file("text.jpg"), "not an image\n");
    test::write_file(d.file("train.txt"), test::read_file(d.file("train.txt")) + d.file("text.jpg") + "\n");

    auto r = test::run_cli("dataset " + d.file("shapes.data") + " --check", 60);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.out.find("2 of 5 images cannot be read"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("s2.jpg: truncated JPEG"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("text.jpg: not a decodable image"), std::string::npos) << r.out;

    // Training with an evaluation every 2 steps on the same list: the run goes to the end,
    // every evaluation names what it skipped.
    r = test::run_cli("train --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") +
                      " --max-batches 4 --map-every 2 --threads 1 --no-chart", 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("2: mAP@.5"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("4: mAP@.5"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("on 3 validation images"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 unreadable images skipped"), std::string::npos) << r.out;

    // `eval` likewise: a table, the skipped images named on stderr, and in the JSON.
    r = test::run_cli("eval --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") + " --weights " +
                      d.file("backup/tiny_final.weights") + " --json " + d.file("eval.json"), 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("skipped, not evaluated: " + bad + ": truncated JPEG"), std::string::npos) << r.err;
    const auto j = nlohmann::json::parse(test::read_file(d.file("eval.json")));
    EXPECT_EQ(j["images"], 3);
    EXPECT_EQ(j["skipped_images"].size(), 2u);
}

// Polls `path` (a growing log) until `needle` appears or the deadline passes.
bool wait_for_text(const std::string& path, const std::string& needle, int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        if (fs::exists(path) && test::read_file(path).find(needle) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

pid_t start_cli(const std::string& args, const std::string& log) {
    const pid_t pid = fork();
    if (pid == 0) {
        const std::string cmd = "exec " + std::string(YOLO9K_CLI_PATH) + " " + args + " >" + log + " 2>&1";
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    return pid;
}

TEST(Interrupt, CtrlCSavesTheCurrentStepAndTheRunResumesToTheEnd) {
    test::TempDir d;
    test::write_shapes_dataset(d, 8);
    const std::string args = "train --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") +
                             " --checkpoint-every 1000 --save-every 0 --max-batches 30 --seed 4 --threads 1 --no-chart";
    const pid_t pid = start_cli(args, d.file("log"));
    ASSERT_GT(pid, 0);
    if (!wait_for_text(d.file("log"), "\n3: loss", 120)) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        FAIL() << "no third step within 120 s: " << test::read_file(d.file("log"));
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    const std::string log = test::read_file(d.file("log"));
    ASSERT_TRUE(WIFEXITED(status)) << "killed by the first Ctrl-C instead of saving: " << log;
    EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT) << log;
    EXPECT_NE(log.find("interrupted: saved"), std::string::npos) << log;

    // The checkpoint holds the last step the log printed (no checkpoint was due before it).
    Network net = Network::from_cfg_file(d.file("tiny.cfg"));
    Optimizer opt(net);
    std::string warning;
    const TrainState st = load_checkpoint(d.file("backup/tiny_last.weights"), net, opt, 4, warning);
    EXPECT_TRUE(warning.empty()) << warning;
    ASSERT_GE(st.iteration, 3);
    const std::string last_line = std::to_string(st.iteration) + ": loss";
    EXPECT_NE(log.find("\n" + last_line), std::string::npos) << log;
    EXPECT_EQ(log.find("\n" + std::to_string(st.iteration + 1) + ": loss"), std::string::npos) << "a step after the save";

    // Resumed, it goes on to the end, and its summary counts only its own steps.
    const auto r = test::run_cli(args + " --resume", 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("trained " + std::to_string(30 - st.iteration) + " iterations (to iteration 30)"),
              std::string::npos)
        << r.out;
    EXPECT_TRUE(fs::exists(d.file("backup/tiny_final.weights")));
}

TEST(Interrupt, ASecondCtrlCQuitsAtOnce) {
    test::TempDir d;
    test::write_shapes_dataset(d, 8);
    // Steps of about a second (16 images at 416 on one thread): the second signal, sent
    // within milliseconds of the first one's message, always lands inside the step.
    const pid_t pid = start_cli("train --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") +
                                    " --max-batches 100000 --batch 16 --size 416 --threads 1 --no-chart",
                                d.file("log"));
    // Never leave a runaway trainer behind, whatever fails below.
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
        }
    } reaper{pid};
    // Step 1 done, so step 2 is running. Generous bounds: under ASan on a loaded 2-core
    // machine the first step alone has taken a minute.
    ASSERT_TRUE(wait_for_text(d.file("log"), "1: loss", 300)) << test::read_file(d.file("log"));
    kill(pid, SIGINT);
    ASSERT_TRUE(wait_for_text(d.file("log"), "again to quit now", 60));
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    reaper.pid = -1;
    const std::string log = test::read_file(d.file("log"));
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << "the second Ctrl-C did not end it at once: " << log;
    EXPECT_EQ(log.find("interrupted: saved"), std::string::npos) << log;
}

TEST(Resume, AnEvaluationStepMissedByAStopIsEvaluatedOnResume) {
    test::TempDir d;
    test::write_shapes_dataset(d, 4);
    const std::string args = "train --data " + d.file("shapes.data") + " --cfg " + d.file("tiny.cfg") +
                             " --max-batches 4 --threads 1 --no-chart";
    auto r = test::run_cli(args + " --stop-after 2", 120);  // stopped at step 2, nothing evaluated
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = test::run_cli(args + " --resume --map-every 2", 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const size_t at2 = r.out.find("2: mAP@.5"), step3 = r.out.find("3: loss");
    ASSERT_NE(at2, std::string::npos) << r.out;
    EXPECT_LT(at2, step3) << "step 2's evaluation should come before step 3: " << r.out;
    EXPECT_NE(r.out.find("4: mAP@.5"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("trained 2 iterations (to iteration 4)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace yolo9k
