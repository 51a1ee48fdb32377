#include "eval/classification_metrics.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace yolo9k {

ClassificationMetrics::ClassificationMetrics(int classes, int k) : classes_(classes), k_(k), per_class_(classes) {
    if (classes <= 0 || k <= 0) throw Error("classification metrics: classes and k must be positive");
}

void ClassificationMetrics::add(const float* scores, int label) {
    if (label < 0 || label >= classes_) throw Error("classification metrics: label out of range");
    const std::vector<int> best = top_classes(scores, classes_, k_);
    const bool hit1 = !best.empty() && best[0] == label;
    const bool hitk = std::find(best.begin(), best.end(), label) != best.end();
    ++images_;
    top1_ += hit1;
    topk_ += hitk;
    ClassAccuracy& c = per_class_[label];
    ++c.images;
    c.top1 += hit1;
    c.topk += hitk;
}

double ClassificationMetrics::top1() const { return images_ ? double(top1_) / images_ : 0; }
double ClassificationMetrics::topk() const { return images_ ? double(topk_) / images_ : 0; }

}  // namespace yolo9k
