// Running a classifier network (darknet19, darknet19_448, tiny, ...): class probabilities
// for an image, prepared as darknet's `classifier predict` does (letterboxed to the
// network size).
//
//   yolo9k::Classifier c({.cfg = "darknet19.cfg", .weights = "darknet19.weights"});
//   std::vector<float> p = c.predict(cv::imread("dog.jpg"));   // c.classes() probabilities
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "yolo9k/model.h"

namespace yolo9k {

struct ClassifierOptions {
    std::string cfg, weights;  // a .cfg whose output layer is [softmax], and its weights
    int size = 0;              // override the cfg's input side (0: the cfg's)
    int threads = 0;           // 0: all cores
    std::string backend = "onednn";
    std::string precision = "f32";  // as DetectorOptions::precision
    std::string calibration;        // as DetectorOptions::calibration
};

// Calls from several threads run one at a time, as Detector's do.
class Classifier {
public:
    explicit Classifier(const ClassifierOptions& options);
    // Runs a model already in memory (a trainer's): options.cfg, .weights and .size are
    // unused. The classifier shares the model's network, which stays alive while it does.
    Classifier(const Model& model, const ClassifierOptions& options);
    ~Classifier();
    Classifier(Classifier&&) noexcept;
    Classifier& operator=(Classifier&&) noexcept;

    int classes() const;
    int width() const;
    int height() const;
    // Probabilities for an 8-bit BGR image (grey and BGRA are converted), letterboxed.
    std::vector<float> predict(const cv::Mat& bgr);
    // Probabilities for one prepared input (3 x height x width, planar RGB in [0, 1]).
    std::vector<float> predict_input(const float* input);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The indices of the k largest of n scores, best first (ties: the lower index first).
std::vector<int> top_classes(const float* scores, int n, int k);
inline std::vector<int> top_classes(const std::vector<float>& scores, int k) {
    return top_classes(scores.data(), int(scores.size()), k);
}

// One image's best classes, as `yolo9k classifier predict` reports them.
struct ClassScore {
    int class_id = 0;
    std::string name;
    float score = 0;  // probability
};
struct ImageClassification {
    std::string file;
    int width = 0, height = 0;  // of the image as read
    std::vector<ClassScore> predictions;  // best first
};
// `classifier predict --json`'s schema: [{file, width, height, predictions: [{class_id, name,
// score}]}]. Names that are not UTF-8 come out with U+FFFD. indent < 0: one line.
std::string to_json_text(const std::vector<ImageClassification>& images, int indent = 2);

}  // namespace yolo9k
