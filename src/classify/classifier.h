// Running a classifier network (darknet19, tiny, ...): class probabilities for images,
// and darknet's `classifier valid` accuracy over a labelled set.
//
// Inputs are prepared as darknet does: `predict` letterboxes the image to the network size
// (predict_classifier calls letterbox_image); `valid` takes the central square of the image
// and resizes it to the network size (validate_classifier_single: center_crop_image).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "data/classification_dataset.h"
#include "eval/classification_metrics.h"
#include "network/network.h"

namespace yolo9k {

class Executor;

struct ClassifierOptions {
    std::string cfg, weights;
    int size = 0;     // override the cfg's input side (0: the cfg's)
    int threads = 0;  // 0: all cores
    std::string backend = "onednn";
};

class Classifier {
public:
    explicit Classifier(const ClassifierOptions& options);
    // Borrows a network (e.g. during training); it must outlive the Classifier.
    Classifier(const Network& network, int threads = 0, const std::string& backend = "onednn");
    ~Classifier();
    Classifier(Classifier&&) noexcept;

    int classes() const;
    int width() const;
    int height() const;
    // Probabilities for an 8-bit BGR image, letterboxed (darknet's predict).
    std::vector<float> predict(const cv::Mat& bgr);
    // Probabilities for one prepared input (3 x height x width, planar RGB [0, 1]).
    std::vector<float> predict_input(const float* input);

private:
    void init(const std::string& backend, int threads);
    std::unique_ptr<Network> owned_;
    const Network* net_ = nullptr;
    std::unique_ptr<Executor> executor_;
    std::vector<float> input_;
};

struct ClassifierValidation {
    ClassificationMetrics metrics;
    std::vector<std::string> unreadable;  // images skipped (message naming each file)
};

// darknet's `classifier valid`: every image centre-cropped, top-1 and top-k. Unreadable
// images are listed and skipped.
ClassifierValidation validate_classifier(Classifier& classifier, const ClassificationDataset& data, int k);

}  // namespace yolo9k
