// Reads the dataset and fits anchors, trains 20 steps through the public Trainer, checks the progress callbacks and the
// checkpoint, measures mAP through the public evaluate(), then detects with the result, from the files and from a
// Model loaded once, and exports it to ONNX; a missing cfg is a yolo9k::Error.
// Usage: train_and_detect CFG DATASET NAMES BACKUP_DIR IMAGE
#include <yolo9k/anchors.h>
#include <yolo9k/dataset.h>
#include <yolo9k/detector.h>
#include <yolo9k/error.h>
#include <yolo9k/evaluator.h>
#include <yolo9k/model.h>
#include <yolo9k/onnx_export.h>
#include <yolo9k/trainer.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include <opencv2/imgcodecs.hpp>

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s CFG DATASET NAMES BACKUP_DIR IMAGE\n", argv[0]);
        return 2;
    }
    try {
        const yolo9k::LabelledImages set = yolo9k::read_dataset({.path = argv[2], .split = "train"});
        const yolo9k::AnchorClusters anchors = yolo9k::fit_anchors({.datasets = {argv[2]}, .split = "train", .k = 5,
                                                                    .network_size = 192});
        std::printf("%zu training images, %zu classes; 5 anchors at %.1f%% mean IoU\n", set.images.size(),
                    set.class_names.size(), 100 * anchors.average_iou);
        if (set.images.empty() || anchors.anchors.size() != 5 || !(anchors.average_iou > 0)) {
            std::fprintf(stderr, "FAIL: dataset or anchors empty\n");
            return 1;
        }
        yolo9k::Trainer trainer({.cfg = argv[1], .data = argv[2], .names = argv[3], .split = "train",
                                 .backup_dir = argv[4], .name = "package", .threads = 2, .batch = 4,
                                 .subdivisions = 1, .max_batches = 20, .burn_in = 0, .checkpoint_every = 10,
                                 .chart = false});
        int progress_calls = 0;
        float last_loss = NAN;
        trainer.on_progress([&](const yolo9k::TrainingProgress& p) {
            ++progress_calls;
            last_loss = p.loss;
        });
        const yolo9k::TrainingSummary s = trainer.run();
        std::printf("trained %lld steps, %d progress calls, last loss %.3f, %s\n", (long long)s.iterations,
                    progress_calls, last_loss, s.final_weights.c_str());
        if (s.iterations != 20 || progress_calls != 20 || !std::isfinite(last_loss) || s.cancelled ||
            !std::filesystem::exists(s.final_weights)) {
            std::fprintf(stderr, "FAIL: the run did not train 20 steps to a final checkpoint\n");
            return 1;
        }

        yolo9k::Detector detector({.cfg = argv[1], .weights = s.final_weights, .names = argv[3],
                                   .thresh = yolo9k::kEvaluationThresh});
        const yolo9k::Evaluation e = yolo9k::evaluate(detector, {.data = argv[2], .names = argv[3], .split = "val"});
        std::printf("evaluated %d images: mAP@.5 %.4f over %zu classes\n", e.images, e.map_voc, e.per_class.size());
        if (e.images <= 0 || e.per_class.size() != detector.class_names().size() || !(e.map_voc >= 0)) {
            std::fprintf(stderr, "FAIL: evaluation returned no result\n");
            return 1;
        }

        const cv::Mat image = cv::imread(argv[5]);
        const auto boxes = detector.detect(image);
        std::printf("detected %zu boxes in %s (%dx%d)\n", boxes.size(), argv[5], image.cols, image.rows);
        for (const auto& d : boxes)
            if (d.class_id < 0 || d.class_id >= detector.classes() || !(d.score > 0)) {
                std::fprintf(stderr, "FAIL: a detection with class %d, score %g\n", d.class_id, d.score);
                return 1;
            }

        yolo9k::Model model(argv[1]);
        model.load_weights(s.final_weights);
        yolo9k::Detector from_model(model, {.names = argv[3], .thresh = yolo9k::kEvaluationThresh});
        const auto same = from_model.detect(image);
        std::printf("a Model of %d layers (%.2f BFLOPs, %llu images seen) gives %zu boxes\n", model.layer_count(),
                    model.total_flops() / 1e9, (unsigned long long)model.weights_version().images_seen, same.size());
        if (same.size() != boxes.size() || (!same.empty() && same.front().score != boxes.front().score)) {
            std::fprintf(stderr, "FAIL: a Detector on the loaded Model disagrees with one on the files\n");
            return 1;
        }
        const yolo9k::OnnxExportReport onnx = yolo9k::export_onnx(model, std::string(argv[4]) + "/package.onnx",
                                                                  {.decode = yolo9k::OnnxDecode::boxes});
        std::printf("ONNX export: %d nodes, %lld parameters, %llu bytes\n", onnx.nodes, (long long)onnx.parameters,
                    (unsigned long long)onnx.bytes);
        if (onnx.outputs.size() != 3 || !std::filesystem::exists(std::string(argv[4]) + "/package.onnx")) {
            std::fprintf(stderr, "FAIL: the ONNX export did not write boxes, objectness and class_probs\n");
            return 1;
        }
        try {
            yolo9k::Model missing(std::string(argv[4]) + "/no-such.cfg");
            std::fprintf(stderr, "FAIL: a missing cfg loaded\n");
            return 1;
        } catch (const yolo9k::Error& e) {
            std::printf("a missing cfg: %s\n", e.what());
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "FAIL: %s\n", e.what());
        return 1;
    }
}
