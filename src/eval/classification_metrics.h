// Classifier accuracy as darknet's `classifier valid` reports it: top-1 and top-k (the
// .data's `top`) - an image counts for top-k when its label is among the k highest scores.
#pragma once

#include <string>
#include <vector>

#include "yolo9k/classifier.h"  // top_classes

namespace yolo9k {

struct ClassAccuracy {
    int images = 0, top1 = 0, topk = 0;
};

class ClassificationMetrics {
public:
    ClassificationMetrics(int classes, int k);
    void add(const float* scores, int label);
    int k() const { return k_; }
    int images() const { return images_; }
    double top1() const;  // fraction in [0, 1]; 0 with no images
    double topk() const;
    const std::vector<ClassAccuracy>& per_class() const { return per_class_; }

private:
    int classes_, k_, images_ = 0, top1_ = 0, topk_ = 0;
    std::vector<ClassAccuracy> per_class_;
};

}  // namespace yolo9k
