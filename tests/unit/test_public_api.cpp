// The public C++ API (include/yolo9k/) used as a program would: cancellation from another
// thread saves the step and a resumed Trainer finishes the schedule; evaluate() and the
// Detector run on the result; several threads share one Detector.
#include <gtest/gtest.h>

#include <yolo9k/anchors.h>
#include <yolo9k/classifier.h>
#include <yolo9k/dataset.h>
#include <yolo9k/detector.h>
#include <yolo9k/evaluator.h>
#include <yolo9k/files.h>
#include <yolo9k/image.h>
#include <yolo9k/model.h>
#include <yolo9k/synthetic_dataset.h>
#include <yolo9k/trainer.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "network/network.h"
#include "support/training_fixtures.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;

// The shapes set (4 images) and its tiny.cfg with random weights in DIR/random.weights.
void write_random_shapes_detector(const test::TempDir& dir, unsigned seed) {
    test::write_shapes_dataset(dir, 4);
    Network net = Network::from_cfg_file(dir.file("tiny.cfg"));
    test::randomize_weights(net, seed);
    net.save_weights(dir.file("random.weights"));
}

TEST(PublicApi, CancelSavesTheStepAndResumeFinishesTheRun) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 8);
    TrainerOptions o{.cfg = dir.file("tiny.cfg"), .data = dir.file("shapes.data"), .threads = 1,
                     .max_batches = 12, .checkpoint_every = 100, .chart = false};
    std::atomic<int64_t> last_step{0};
    {
        Trainer trainer(o);
        trainer.on_progress([&](const TrainingProgress& p) {
            last_step = p.iteration;
            EXPECT_EQ(p.max_batches, 12);
            EXPECT_TRUE(std::isfinite(p.loss));
            if (p.iteration == 4) trainer.cancel();  // as another thread would (Ctrl-C)
        });
        const TrainingSummary s = trainer.run();
        EXPECT_TRUE(s.cancelled);
        EXPECT_EQ(s.iterations, 4);
        EXPECT_TRUE(fs::exists(dir.file("backup/tiny_last.weights"))) << "the cancelled step was not saved";
    }
    o.resume = true;
    Trainer resumed(o);
    const TrainingSummary s = resumed.run();
    EXPECT_FALSE(s.cancelled);
    EXPECT_EQ(s.iterations, 12);
    EXPECT_EQ(s.iterations_this_run, 8);
    ASSERT_TRUE(fs::exists(s.final_weights));

    Detector detector({.cfg = o.cfg, .weights = s.final_weights, .names = dir.file("shapes.names"),
                       .thresh = kEvaluationThresh, .threads = 1});
    const Evaluation e = evaluate(detector, {.data = dir.file("shapes.data"), .split = "train"});
    EXPECT_EQ(e.images, 8);
    EXPECT_EQ(e.per_class.size(), 2u);
    EXPECT_THROW(evaluate(detector, {.data = dir.file("missing.data")}), Error);
}

// Each evaluation also scores training images (unaugmented), so "not learning" (both low)
// can be told from overfitting. The shapes .data validates on its training list: with every
// training image sampled the two figures are one computation twice and must be equal.
TEST(PublicApi, EvaluationsScoreTrainingImagesBesideTheValidationSet) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 8);
    for (const int sample : {-1, 5, 0}) {
        TrainerOptions o{.cfg = dir.file("tiny.cfg"), .data = dir.file("shapes.data"),
                         .backup_dir = dir.file("backup" + std::to_string(sample + 1)), .threads = 1, .max_batches = 4,
                         .map_every = 2, .train_map_images = sample, .chart_path = dir.file("chart.png"), .quiet = true};
        Trainer trainer(o);
        std::vector<TrainingEvaluation> seen;
        trainer.on_evaluation([&](const TrainingEvaluation& e) { seen.push_back(e); });
        trainer.run();
        ASSERT_EQ(seen.size(), 2u) << "sample " << sample;
        for (const TrainingEvaluation& e : seen) {
            EXPECT_EQ(e.images, 8);
            if (sample == 0) {
                EXPECT_EQ(e.train_map50, -1.0);
                continue;
            }
            EXPECT_EQ(e.train_images, sample < 0 ? 8 : sample);
            EXPECT_GE(e.train_map50, 0.0);
            EXPECT_LE(e.train_map50, 1.0);
            if (sample < 0) {
                EXPECT_DOUBLE_EQ(e.train_map50, e.map50) << "step " << e.iteration;
            }
        }
        // The sidecar keeps the curve for the chart and for a resumed run.
        // (binary: 8-byte magic, 4-byte version, 8-byte length, then the JSON header)
        const std::string sidecar = test::read_file(o.backup_dir + "/tiny_last.weights.state");
        uint64_t length = 0;
        ASSERT_GE(sidecar.size(), 20u);
        std::memcpy(&length, sidecar.data() + 12, 8);
        ASSERT_LE(20 + length, sidecar.size());
        const auto state = nlohmann::json::parse(sidecar.substr(20, length));
        EXPECT_EQ(state["history"]["train_map"].size(), sample == 0 ? 0u : 2u) << state["history"].dump();
    }
    EXPECT_TRUE(fs::exists(dir.file("chart.png")));
}

TEST(PublicApi, OneDetectorServesSeveralThreadsWithTheSameResults) {
    test::TempDir dir;
    write_random_shapes_detector(dir, 3);
    Detector detector({.cfg = dir.file("tiny.cfg"), .weights = dir.file("random.weights"),
                       .names = dir.file("shapes.names"), .thresh = 0.f, .threads = 1});
    const cv::Mat image = cv::imread(dir.file("images/s0.jpg"));
    ASSERT_FALSE(image.empty());
    const std::vector<Detection> expected = detector.detect(image);
    ASSERT_FALSE(expected.empty());
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 5; ++i) {
                const std::vector<Detection> got = detector.detect(image);
                if (got.size() != expected.size() || got.front().score != expected.front().score) ++mismatches;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches, 0);
}

// Detectors of one model at several batch sizes sharing their activation memory (what
// `yolo9k serve` holds): the same outputs as unshared Detectors, bit for bit, however their
// calls interleave, including after a larger one joined and moved the shared buffers; and the
// memory is the largest Detector's, not the sum.
TEST(SharedDetectorMemory, DetectorsOfSeveralBatchSizesShareBuffersWithTheSameOutputs) {
    test::TempDir dir;
    write_random_shapes_detector(dir, 9);
    Model model(dir.file("tiny.cfg"));
    model.load_weights(dir.file("random.weights"));
    const auto options = [&](int batch, std::shared_ptr<SharedDetectorMemory> memory) {
        DetectorOptions o{.thresh = 0.f, .batch = batch, .threads = 1};
        o.shared_memory = std::move(memory);
        return o;
    };
    Detector own1(model, options(1, nullptr)), own4(model, options(4, nullptr));
    auto memory = std::make_shared<SharedDetectorMemory>();
    Detector shared1(model, options(1, memory));  // first: the buffers fit batch 1...
    const std::size_t batch1_bytes = memory->bytes();
    Detector shared4(model, options(4, memory));  // ...then grow (and move) for batch 4
    EXPECT_GT(memory->bytes(), batch1_bytes);
    auto only4 = std::make_shared<SharedDetectorMemory>();
    Detector alone4(model, options(4, only4));
    EXPECT_EQ(memory->bytes(), only4->bytes());  // batch 1 added nothing

    std::vector<Detector::PreparedImage> prepared;
    for (int i = 0; i < 4; ++i) prepared.push_back(own1.prepare(cv::imread(dir.file("images/s" + std::to_string(i) + ".jpg"))));
    const std::vector<const Detector::PreparedImage*> four{&prepared[0], &prepared[1], &prepared[2], &prepared[3]};
    const auto want4 = own4.infer(four);
    std::vector<std::vector<float>> want1;
    for (const auto& p : prepared) want1.push_back(own1.infer({&p}).front());
    ASSERT_NE(want1[0], want1[1]);  // different images: a stale buffer would show
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 4; ++i) {
            EXPECT_EQ(shared1.infer({&prepared[i]}).front(), want1[i]) << "image " << i;
            EXPECT_EQ(shared4.infer(four), want4);
        }
    }
    // From two threads at once: the shared lock keeps the passes apart.
    std::atomic<int> mismatches{0};
    std::thread a([&] {
        for (int k = 0; k < 6; ++k)
            if (shared1.infer({&prepared[k % 4]}).front() != want1[k % 4]) ++mismatches;
    });
    std::thread b([&] {
        for (int k = 0; k < 3; ++k)
            if (shared4.infer(four) != want4) ++mismatches;
    });
    a.join();
    b.join();
    EXPECT_EQ(mismatches, 0);
    const cv::Mat image = cv::imread(dir.file("images/s2.jpg"));
    const auto d_own = own1.detect(image), d_shared = shared1.detect(image);
    ASSERT_EQ(d_own.size(), d_shared.size());
    for (size_t i = 0; i < d_own.size(); ++i) EXPECT_EQ(d_own[i].score, d_shared[i].score);
}

// Per-call thresholds (a server's query parameters) give what a Detector built with them
// gives, and leave the Detector's own options alone for the next call.
TEST(PublicApi, PerCallThresholdsEqualADetectorBuiltWithThem) {
    test::TempDir dir;
    write_random_shapes_detector(dir, 5);
    const DetectorOptions base{.cfg = dir.file("tiny.cfg"), .weights = dir.file("random.weights"), .thresh = 0.f,
                               .threads = 1};
    DetectorOptions strict = base;
    strict.thresh = 0.2f;
    strict.nms = 0.3f;
    Detector loose_detector(base), strict_detector(strict);
    const cv::Mat image = cv::imread(dir.file("images/s1.jpg"));
    ASSERT_FALSE(image.empty());
    const std::vector<Detection> all = loose_detector.detect(image);
    const std::vector<Detection> want = strict_detector.detect(image);
    const std::vector<Detection> got = loose_detector.detect(image, {.thresh = 0.2f, .nms = 0.3f});
    ASSERT_FALSE(want.empty());
    ASSERT_LT(want.size(), all.size());  // the thresholds must change the result, or this proves nothing
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].class_id, want[i].class_id);
        EXPECT_FLOAT_EQ(got[i].score, want[i].score);
        EXPECT_FLOAT_EQ(got[i].box.x1, want[i].box.x1);
    }
    EXPECT_EQ(loose_detector.detect(image).size(), all.size());
    const std::vector<std::vector<Detection>> batch = loose_detector.detect_batch({image, image}, {.thresh = 0.2f, .nms = 0.3f});
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[1].size(), want.size());
}

// A Model reads the cfg once: it describes, initialises, cuts and saves darknet files, and
// Detectors built on it share its network (they keep it alive) with the same results as
// Detectors that read the files.
TEST(PublicApiModel, DescribesSavesAndRunsWithoutReadingTheFilesAgain) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 4);
    std::optional<Detector> from_model;
    {
        Model model(dir.file("tiny.cfg"));
        EXPECT_EQ(model.input_channels(), 3);
        const std::vector<LayerSummary> layers = model.layers();
        ASSERT_EQ(int(layers.size()), model.layer_count());
        EXPECT_EQ(layers.front().type, "convolutional");
        EXPECT_EQ(layers.back().type, "region");
        EXPECT_EQ(layers.front().in_width, model.input_width());
        double flops = 0;
        for (const LayerSummary& l : layers) flops += l.flops;
        EXPECT_DOUBLE_EQ(flops, model.total_flops());
        EXPECT_GT(layers.front().parameters, 0);
        EXPECT_NE(model.describe().find("detection"), std::string::npos);  // darknet prints [region] so
        EXPECT_NE(model.describe_execution("onednn").find("convolutional"), std::string::npos);
        EXPECT_THROW(model.describe_execution("no-such-backend"), Error);

        model.initialize_weights(7);
        model.save_weights(dir.file("a.weights"));
        Model again(dir.file("tiny.cfg"));
        again.initialize_weights(7);
        again.save_weights(dir.file("b.weights"));
        EXPECT_EQ(test::read_file(dir.file("a.weights")), test::read_file(dir.file("b.weights")));
        EXPECT_EQ(fs::file_size(dir.file("a.weights")), model.weights_file_bytes());
        {
            // head_scale halves exactly the head's weights (the file's last floats: the last
            // convolution, the one without batch norm) and leaves every other byte as it was.
            Model halved(dir.file("tiny.cfg"));
            halved.initialize_weights(7, 0.5f);
            halved.save_weights(dir.file("h.weights"));
            const std::string a = test::read_file(dir.file("a.weights")), h = test::read_file(dir.file("h.weights"));
            ASSERT_EQ(a.size(), h.size());
            const size_t first_difference = std::mismatch(a.begin(), a.end(), h.begin()).first - a.begin();
            const int64_t head_weights = layers[layers.size() - 2].parameters - layers[layers.size() - 2].out_channels;
            ASSERT_LT(first_difference, a.size());
            EXPECT_GE(first_difference, a.size() - size_t(head_weights) * sizeof(float));
            for (size_t at = a.size() - size_t(head_weights) * sizeof(float); at < a.size(); at += sizeof(float)) {
                float full, half;
                std::memcpy(&full, a.data() + at, sizeof full);
                std::memcpy(&half, h.data() + at, sizeof half);
                ASSERT_EQ(half, full * 0.5f) << "byte " << at;
            }
        }

        model.set_images_seen(640);
        model.save_weights(dir.file("cut.weights"), 2);
        EXPECT_EQ(fs::file_size(dir.file("cut.weights")), model.weights_file_bytes(2));
        EXPECT_THROW(model.save_weights(dir.file("x.weights"), model.layer_count() + 1), Error);
        Model cut(dir.file("tiny.cfg"));
        EXPECT_EQ(cut.load_weights(dir.file("cut.weights"), /*partial=*/true), 2);
        EXPECT_EQ(cut.weights_version().images_seen, 640u);
        EXPECT_THROW(cut.load_weights(dir.file("cut.weights")), Error);  // too short for the whole cfg

        from_model.emplace(model, DetectorOptions{.names = dir.file("shapes.names"), .thresh = 0.f, .threads = 1});
    }  // the Model goes out of scope; its Detector keeps the network
    Detector from_files({.cfg = dir.file("tiny.cfg"), .weights = dir.file("a.weights"), .names = dir.file("shapes.names"),
                         .thresh = 0.f, .threads = 1});
    const cv::Mat image = cv::imread(dir.file("images/s0.jpg"));
    const std::vector<Detection> a = from_model->detect(image), b = from_files.detect(image);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_FALSE(a.empty());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].class_id, b[i].class_id);
        EXPECT_NEAR(a[i].score, b[i].score, 1e-5);
    }
    EXPECT_THROW(Model(dir.file("missing.cfg")), Error);
    EXPECT_THROW(Model(dir.file("tiny.cfg"), 100), Error);  // not a multiple of 32
}

TEST(PublicApiModel, ListsTheBackendsDefaultFirst) {
    const std::vector<BackendInfo> backends = available_backends();
    ASSERT_FALSE(backends.empty());
    EXPECT_EQ(backends.front().name, "onednn");
    EXPECT_TRUE(backends.front().can_train);
    EXPECT_NE(std::find(backends.front().inference_layers.begin(), backends.front().inference_layers.end(),
                        "convolutional"),
              backends.front().inference_layers.end());
    for (const BackendInfo& b : backends) EXPECT_NE(b.name, "reference_f64") << "a test-only backend is listed";
}

// ClassifierTrainer: progress per step, cancel() saves and stops, resume finishes the
// schedule, and the result loads into a Classifier.
TEST(PublicApiData, AClassifierTrainerCancelsResumesAndFinishes) {
    test::TempDir dir;
    for (int i = 0; i < 8; ++i) {
        const fs::path folder = dir.path() / "shapes" / (i % 2 ? "bright" : "dark");
        fs::create_directories(folder);
        cv::imwrite((folder / (std::to_string(i) + ".png")).string(),
                    cv::Mat(20, 20, CV_8UC3, cv::Scalar::all(i % 2 ? 220 - i : 20 + i)));
    }
    test::write_file(dir.file("c.cfg"),
                     "[net]\nbatch=4\nwidth=16\nheight=16\nchannels=3\nlearning_rate=0.05\nmax_batches=6\n"
                     "[convolutional]\nfilters=2\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                     "[avgpool]\n[softmax]\n");
    ClassifierTrainerOptions o{.cfg = dir.file("c.cfg"), .data = dir.file("shapes"), .backup_dir = dir.file("b"),
                               .threads = 1, .loader_threads = 1, .chart = false, .quiet = true};
    {
        ClassifierTrainer trainer(o);
        int calls = 0;
        trainer.on_progress([&](const ClassifierTrainingProgress& p) {
            ++calls;
            EXPECT_EQ(p.max_batches, 6);
            EXPECT_TRUE(std::isfinite(p.loss));
            if (p.iteration == 2) trainer.cancel();
        });
        const ClassifierTrainingSummary s = trainer.run();
        EXPECT_TRUE(s.cancelled);
        EXPECT_EQ(s.iterations, 2);
        EXPECT_EQ(calls, 2);
    }
    o.resume = true;
    ClassifierTrainer resumed(o);
    const ClassifierTrainingSummary s = resumed.run();
    EXPECT_FALSE(s.cancelled);
    EXPECT_EQ(s.iterations, 6);
    EXPECT_EQ(s.iterations_this_run, 4);
    Classifier c({.cfg = o.cfg, .weights = s.final_weights, .threads = 1});
    EXPECT_EQ(c.classes(), 2);
    // The folder has no train/ or valid/: "train" is the whole folder, "valid" is refused;
    // k is capped at the class count.
    EXPECT_THROW(evaluate_classifier(c, {.data = o.data}), Error);
    const ClassifierEvaluation v = evaluate_classifier(c, {.data = o.data, .split = "train"});
    EXPECT_EQ(v.images, 8);
    EXPECT_EQ(v.k, 2);
    ASSERT_EQ(v.per_class.size(), 2u);
    EXPECT_EQ(v.per_class[0].images + v.per_class[1].images, 8);
    EXPECT_DOUBLE_EQ(v.topk, 1.0);  // top-2 of 2 classes
    EXPECT_TRUE(v.unreadable.empty());
    EXPECT_EQ(top_classes({.1f, .7f, .2f}, 2), (std::vector<int>{1, 2}));
}

// What a server does with an upload: decode the bytes (a bad body is a yolo9k::Error that
// names it), detect, answer in detect --json's schema, and draw.
TEST(PublicApiModel, DecodesAnUploadAndAnswersInTheJsonSchema) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 2);
    Model model(dir.file("tiny.cfg"));
    model.initialize_weights(5);
    Detector detector(model, {.names = dir.file("shapes.names"), .thresh = 0.f, .threads = 1});
    const std::string jpeg = test::read_file(dir.file("images/s0.jpg"));
    cv::Mat image = decode_image(std::vector<std::uint8_t>(jpeg.begin(), jpeg.end()), "upload");
    ASSERT_FALSE(image.empty());
    const ImageDetections result{"upload", image.cols, image.rows, detector.detect(image)};
    ASSERT_FALSE(result.detections.empty());
    const std::string one_line = to_json_text(result);
    EXPECT_EQ(one_line.find('\n'), std::string::npos);
    EXPECT_EQ(one_line.rfind("{\"detections\":[{\"box\":[", 0), 0u) << one_line;
    EXPECT_NE(to_json_text(std::vector<ImageDetections>{result, result}, 2).find("\n  {"), std::string::npos);
    EXPECT_NE(to_console(result).find(result.detections.front().name + ": "), std::string::npos);
    const cv::Mat before = image.clone();
    draw_detections(image, result.detections);
    EXPECT_GT(cv::norm(image, before, cv::NORM_L1), 0);
    try {
        decode_image(std::vector<std::uint8_t>(jpeg.begin(), jpeg.begin() + 40), "upload");
        ADD_FAILURE() << "a truncated upload decoded";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("upload: ", 0), 0u) << e.what();
    }
}

// evaluate() writes darknet's comp4 files with out_dir; scoring those files again without
// the network gives the same figures, and the table and JSON carry them.
TEST(PublicApiData, ScoringTheWrittenDetectionsAgainGivesTheSameEvaluation) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 4);
    Model model(dir.file("tiny.cfg"));
    model.initialize_weights(9);
    Detector detector(model, {.names = dir.file("shapes.names"), .thresh = kEvaluationThresh, .nms = kEvaluationNms,
                              .threads = 1});
    int progress_calls = 0;
    const EvaluationOptions options{.data = dir.file("shapes.data"), .split = "train", .out_dir = dir.file("out"),
                                    .on_progress = [&](int done, int total) {
                                        ++progress_calls;
                                        EXPECT_LE(done, total);
                                    }};
    const Evaluation run = evaluate(detector, options);
    EXPECT_GT(progress_calls, 0);
    ASSERT_TRUE(fs::exists(dir.file("out/coco_results.json")));
    EvaluationOptions offline = options;
    offline.out_dir.clear();
    const Evaluation again = evaluate_detections(dir.file("out"), offline);
    EXPECT_EQ(again.per_class.size(), run.per_class.size());
    EXPECT_NEAR(again.map_voc, run.map_voc, 1e-4);
    EXPECT_NEAR(again.map_coco, run.map_coco, 1e-4);
    for (size_t c = 0; c < run.per_class.size(); ++c)
        EXPECT_EQ(again.per_class[c].detections, run.per_class[c].detections) << run.per_class[c].name;
    EXPECT_NE(to_table(run).find(run.per_class.front().name), std::string::npos);
    EXPECT_NE(to_json_text(run).find("\"per_class\""), std::string::npos);
    EXPECT_TRUE(describe_skipped(run).empty());
    EXPECT_THROW(evaluate_detections(dir.file("nothing.json"), offline), Error);
}

TEST(PublicApiData, AClassifierGivesOneProbabilityPerClassForAnyImage) {
    test::TempDir dir;
    test::write_file(dir.file("c.cfg"),
                     "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=6\nsize=3\nstride=2\npad=1\n"
                     "batch_normalize=1\nactivation=leaky\n[avgpool]\n[softmax]\n");
    Network net = Network::from_cfg_file(dir.file("c.cfg"));
    test::randomize_weights(net, 5);
    net.save_weights(dir.file("c.weights"));
    Classifier c({.cfg = dir.file("c.cfg"), .weights = dir.file("c.weights"), .threads = 1});
    EXPECT_EQ(c.classes(), 6);
    for (const cv::Mat& image : {cv::Mat(40, 50, CV_8UC3, cv::Scalar(10, 200, 30)), cv::Mat(20, 20, CV_8UC1, cv::Scalar(90))}) {
        const std::vector<float> p = c.predict(image);
        ASSERT_EQ(p.size(), 6u);
        double sum = 0;
        for (float v : p) sum += v;
        EXPECT_NEAR(sum, 1.0, 1e-5);
    }
    test::write_file(dir.file("d.cfg"), "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=6\nsize=1\n");
    EXPECT_THROW(Classifier({.cfg = dir.file("d.cfg")}), Error);  // no [softmax]: not a classifier
}

TEST(PublicApiData, ReadsADatasetAndFitsAnchorsToIt) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 6);
    const LabelledImages set = read_dataset({.path = dir.file("shapes.data")});
    ASSERT_EQ(set.images.size(), 6u);
    EXPECT_EQ(set.class_names, (std::vector<std::string>{"red", "blue"}));
    size_t boxes = 0;
    for (const LabelledImage& image : set.images) {
        EXPECT_TRUE(fs::exists(image.path)) << image.path;
        for (const LabelledBox& b : image.boxes) {
            EXPECT_TRUE(b.class_id == 0 || b.class_id == 1);
            EXPECT_GT(b.w, 0.f);
            EXPECT_LE(b.w, 1.f);
        }
        boxes += image.boxes.size();
    }
    EXPECT_EQ(boxes, 12u);

    const AnchorClusters a = fit_anchors({.datasets = {dir.file("shapes.data")}, .k = 2, .network_size = 160, .stride = 16});
    ASSERT_EQ(a.anchors.size(), 2u);
    EXPECT_EQ(a.boxes, 12u);
    EXPECT_LE(a.anchors[0].w * a.anchors[0].h, a.anchors[1].w * a.anchors[1].h);  // smallest first
    // The boxes are 16-40 px of a 128 px wide image: 1.25-3.1 cells of a 10-cell grid.
    for (const Anchor& an : a.anchors) {
        EXPECT_GT(an.w, 1.0);
        EXPECT_LT(an.w, 3.2);
    }
    EXPECT_GT(a.average_iou, .5);
    EXPECT_THROW(fit_anchors({.datasets = {dir.file("shapes.data")}, .k = 13}), Error);
    EXPECT_THROW(read_dataset({.path = dir.file("no-such.data")}), Error);
}

TEST(PublicApiData, MergesChecksAndCropsDatasets) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 6);
    const LabelledImages one = read_dataset({.path = dir.file("shapes.data")});
    const std::vector<size_t> counts = count_boxes_per_class(one);
    ASSERT_EQ(counts.size(), 2u);
    EXPECT_EQ(counts[0] + counts[1], 12u);
    EXPECT_EQ(one.images[0].id, "s0");

    // Two datasets merged; names given in memory fix the ids (here swapped).
    const LabelledImages two =
        read_dataset({.path = dir.file("shapes.data"), .more_paths = {dir.file("train.txt")}, .class_names = {"blue", "red"}});
    EXPECT_EQ(two.images.size(), 12u);
    EXPECT_EQ(two.class_names, (std::vector<std::string>{"blue", "red"}));
    EXPECT_EQ(count_boxes_per_class(two), (std::vector<size_t>{2 * counts[1], 2 * counts[0]}));
    EXPECT_THROW(read_dataset({}), Error);

    // An image that no longer decodes is found, by index, with its file named.
    LabelledImages damaged = one;
    test::write_file(dir.file("cut.jpg"), "\xff\xd8\xff\xe0 not a whole JPEG");
    damaged.images[3].path = dir.file("cut.jpg");
    EXPECT_TRUE(find_unreadable_images(one, 2).empty());
    const std::vector<UnreadableImage> bad = find_unreadable_images(damaged, 2);
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_EQ(bad[0].index, 3u);
    EXPECT_NE(bad[0].why.find("cut.jpg"), std::string::npos) << bad[0].why;

    // One crop per box; the damaged image is counted, not fatal.
    const CropReport crops = write_box_crops({{"train", one}, {"valid", damaged}}, dir.file("crops"), {.quiet = true});
    ASSERT_EQ(crops.splits.size(), 2u);
    EXPECT_EQ(crops.splits[0].crops, 12u);
    EXPECT_EQ(crops.splits[1].crops, 10u);
    EXPECT_EQ(crops.splits[1].unreadable_images, 1u);
    EXPECT_TRUE(fs::exists(dir.file("crops/train/red/s0_0.jpg")) || fs::exists(dir.file("crops/train/blue/s0_0.jpg")));
    // Splits whose ids mean different classes would mislabel every crop.
    EXPECT_THROW(write_box_crops({{"train", one}, {"valid", two}}, dir.file("crops2"), {.quiet = true}), Error);
}

TEST(PublicApiData, DrawsASyntheticSetThatReadsBack) {
    test::TempDir dir;
    int calls = 0;
    const SyntheticReport r = write_synthetic_dataset(
        {.out = dir.file("synth"), .images = 10, .layout = SyntheticLayout::darknet}, [&](int, int) { ++calls; });
    EXPECT_EQ(calls, 10);
    EXPECT_EQ(r.class_names, synthetic_class_names());
    size_t images = 0;
    for (const SyntheticSplitReport& s : r.splits) images += s.images;
    EXPECT_EQ(images, 10u);
    const LabelledImages train = read_dataset({.path = r.data_path});
    EXPECT_EQ(train.class_names, r.class_names);
    EXPECT_EQ(train.images.size(), r.splits[0].images);
    EXPECT_THROW(write_synthetic_dataset({.out = dir.file("synth"), .images = 10}), Error);  // no silent mixing
}

TEST(PublicApiData, ClassifierResultsInTheCommandsJsonSchema) {
    const nlohmann::json p = nlohmann::json::parse(to_json_text(
        std::vector<ImageClassification>{{.file = "a.jpg", .width = 4, .height = 3, .predictions = {{2, "c\xe9", .5f}}}}));
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0]["file"], "a.jpg");
    EXPECT_EQ(p[0]["predictions"][0]["class_id"], 2);
    EXPECT_EQ(p[0]["predictions"][0]["name"], "c\xef\xbf\xbd");  // Latin-1 byte: U+FFFD, not an exception
    const nlohmann::json v = nlohmann::json::parse(to_json_text(ClassifierEvaluation{
        .images = 2, .k = 1, .top1 = .5, .topk = .5, .per_class = {{"x", 2, .5, .5}}, .unreadable = {"b.jpg: bad"}}));
    EXPECT_EQ(v["per_class"][0]["name"], "x");
    EXPECT_EQ(v["unreadable"][0], "b.jpg: bad");
    EXPECT_DOUBLE_EQ(v["top1"], .5);

    test::TempDir dir;
    write_file_atomically(dir.file("r.json"), "[]\n");
    write_file_atomically(dir.file("r.json"), "[1]\n");
    EXPECT_EQ(test::read_file(dir.file("r.json")), "[1]\n");
    EXPECT_THROW(write_file_atomically(dir.file("no/such/dir/r.json"), "x"), Error);
}

}  // namespace
}  // namespace yolo9k
