#include "train/objectness_watch.h"

#include <algorithm>

#include "core/log.h"

namespace yolo9k {

ObjectnessWatch::ObjectnessWatch(int64_t max_batches, ObjectnessWatchOptions options)
    : max_batches_(max_batches), o_(options) {}

std::string ObjectnessWatch::add(int64_t iteration, const RegionLossStats& st) {
    if (warned_) return "";
    window_.push_back({double(st.avg_obj) * st.count, double(st.recall50) * st.count, st.avg_noobj, st.count});
    if (int(window_.size()) > o_.window) window_.pop_front();
    if (iteration < std::max(o_.first_check, max_batches_ / 4) || int(window_.size()) < o_.window) return "";
    double objectness = 0, recall = 0, no_objectness = 0;
    int64_t boxes = 0;
    for (const Step& s : window_) {
        objectness += s.objectness_sum;
        recall += s.recall_sum;
        no_objectness += s.no_objectness;
        boxes += s.boxes;
    }
    if (boxes == 0) return "";
    objectness /= double(boxes);
    recall /= double(boxes);
    no_objectness /= double(window_.size());
    if (objectness >= o_.max_objectness || recall < o_.min_recall) return "";
    warned_ = true;
    return format_text(
        "objectness at the boxes' anchors averages %.3f over the last %d steps (%.4f elsewhere) while %.0f%% of the "
        "boxes are found at IoU .5: the detector finds its boxes but cannot rank them above the background yet, so "
        "mAP stays low even on the training images. Sets with few boxes per image train slowly from scratch: see "
        "the README, \"When objectness stays near zero\"",
        objectness, o_.window, no_objectness, 100 * recall);
}

}  // namespace yolo9k
