// darknet's `classifier valid` accuracy over a labelled set, with the public Classifier.
//
// Inputs are prepared as darknet does: `predict` letterboxes the image to the network size
// (predict_classifier calls letterbox_image); `valid` takes the central square of the image
// and resizes it to the network size (validate_classifier_single: center_crop_image).
#pragma once

#include <string>
#include <vector>

#include "data/classification_dataset.h"
#include "eval/classification_metrics.h"
#include "network/network.h"
#include "yolo9k/classifier.h"

namespace yolo9k {

struct ClassifierValidation {
    ClassificationMetrics metrics;
    std::vector<std::string> unreadable;  // images skipped (message naming each file)
};

// darknet's `classifier valid`: every image centre-cropped, top-1 and top-k. Unreadable
// images are listed and skipped.
ClassifierValidation validate_classifier(Classifier& classifier, const ClassificationDataset& data, int k);

}  // namespace yolo9k
