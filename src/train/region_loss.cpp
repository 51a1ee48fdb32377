#include "train/region_loss.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "detect/region_decode.h"

namespace yolo9k {

namespace {

// Prior pull scale while seen < kRegionPriorWarmupImages (darknet's constant).
constexpr float kPriorScale = .01f;

// Targets of one slot's box entries: σ(tx), σ(ty), tw, th.
struct BoxTargets {
    float x, y, w, h;
};
// The anchor's own box centred in its cell (exact zeros for tw, th, where darknet computes
// log(anchor / anchor) in float).
constexpr BoxTargets kPriorTargets{.5f, .5f, 0.f, 0.f};

// log(1 + e^z), without overflow for large |z|.
double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

// One image's view of the layer's buffers, in darknet's layout: per anchor n, entries
// (x, y, w, h, obj, classes...) each a W x H plane. Each entry keeps the loss of the term
// last assigned to it, so a later assignment replaces an earlier one as darknet's deltas do.
class ImageTerms {
public:
    ImageTerms(const RegionLayer& l, const float* in, const float* out, float* grad, std::vector<double>& loss)
        : l_(l), in_(in), out_(out), grad_(grad), loss_(loss), W_(l.output_shape().w), H_(l.output_shape().h),
          cells_(W_ * H_) {
        loss_.assign(size_t(l.num) * l.entries() * cells_, 0.0);
        std::fill(grad_, grad_ + loss_.size(), 0.f);
    }

    size_t index(int n, int entry, int i, int j) const {
        return (size_t(n) * l_.entries() + entry) * cells_ + size_t(j) * W_ + i;
    }
    float objectness(int n, int i, int j) const { return out_[index(n, l_.coords, i, j)]; }

    // The predicted box of slot (n, i, j), relative to the image.
    RelBox predicted_box(int n, int i, int j) const {
        return {(i + out_[index(n, 0, i, j)]) / W_, (j + out_[index(n, 1, i, j)]) / H_,
                std::exp(in_[index(n, 2, i, j)]) * l_.anchors[2 * n] / W_,
                std::exp(in_[index(n, 3, i, j)]) * l_.anchors[2 * n + 1] / H_};
    }

    // ½ s (σ - target)² on a logistic entry; d/d(raw) = s (σ - target) σ (1 - σ).
    void logistic_squared(size_t e, float target, float scale) {
        const float v = out_[e];
        loss_[e] = .5 * scale * double(v - target) * double(v - target);
        grad_[e] = scale * (v - target) * v * (1 - v);
    }
    // ½ s (t - target)² on a raw entry.
    void linear_squared(size_t e, float target, float scale) {
        const float v = in_[e];
        loss_[e] = .5 * scale * double(v - target) * double(v - target);
        grad_[e] = scale * (v - target);
    }
    // The box targets of slot (n, i, j) for `truth`: cell offsets for σ(tx), σ(ty), log
    // size ratios to the anchor for the raw tw, th.
    BoxTargets targets_for(int n, int i, int j, const RelBox& truth) const {
        return {truth.x * W_ - i, truth.y * H_ - j, std::log(truth.w * W_ / l_.anchors[2 * n]),
                std::log(truth.h * H_ / l_.anchors[2 * n + 1])};
    }
    void box_toward(int n, int i, int j, const BoxTargets& t, float scale) {
        logistic_squared(index(n, 0, i, j), t.x, scale);
        logistic_squared(index(n, 1, i, j), t.y, scale);
        linear_squared(index(n, 2, i, j), t.w, scale);
        linear_squared(index(n, 3, i, j), t.h, scale);
    }
    void no_term(size_t e) {
        loss_[e] = 0;
        grad_[e] = 0;
    }

    // Softmax cross-entropy of slot (n, i, j)'s classes [first, first + count) toward
    // class k. The whole group is rewritten, its loss held on k's entry (log-softmax from
    // the raw inputs: no log 0).
    void softmax_group(int n, int i, int j, int first, int count, int k, float scale) {
        double largest = -INFINITY;
        for (int c = first; c < first + count; ++c) largest = std::max(largest, double(in_[index(n, l_.coords + 1 + c, i, j)]));
        double sum = 0;
        for (int c = first; c < first + count; ++c) sum += std::exp(in_[index(n, l_.coords + 1 + c, i, j)] - largest);
        for (int c = first; c < first + count; ++c) {
            const size_t e = index(n, l_.coords + 1 + c, i, j);
            loss_[e] = c == k ? scale * (largest + std::log(sum) - in_[e]) : 0.0;
            grad_[e] = scale * (out_[e] - (c == k ? 1.f : 0.f));
        }
    }
    // Softmax over all classes toward class k; returns p_k.
    float softmax_class(int n, int i, int j, int k, float scale) {
        softmax_group(n, i, j, 0, l_.classes, k, scale);
        return out_[index(n, l_.coords + 1 + k, i, j)];
    }
    // Tree: the cross-entropy of every sibling group on `node`'s path to the root toward
    // the path's node; returns Pr(node) = the product of the path's conditionals.
    float tree_class(const WordTree& tree, int n, int i, int j, int node, float scale) {
        for (int c = node; c >= 0; c = tree.parent[c]) {
            const int g = tree.group[c];
            softmax_group(n, i, j, tree.group_offset[g], tree.group_size[g], c, scale);
        }
        return class_probability(&tree, n, i, j, node);
    }
    // Pr(class) at slot (n, i, j) as darknet computes it (tree: the path's product, from
    // the node up, in float).
    float class_probability(const WordTree* tree, int n, int i, int j, int cls) const {
        if (!tree) return out_[index(n, l_.coords + 1 + cls, i, j)];
        return hierarchy_probability(*tree, out_ + index(n, l_.coords + 1, i, j), cls, cells_);
    }

    // Binary cross-entropy of one logistic class entry toward y: s (softplus(z) - y z).
    void logistic_class(size_t e, float y, float scale) {
        const double z = in_[e];
        loss_[e] = scale * (softplus(z) - y * z);
        grad_[e] = scale * (out_[e] - y);
    }

private:
    const RegionLayer& l_;
    const float* in_;
    const float* out_;
    float* grad_;
    std::vector<double>& loss_;
    int W_, H_, cells_;
};

// IoU of two sizes centred on the same point (darknet's "shifted to the origin").
float shape_iou(float w1, float h1, float w2, float h2) { return box_iou({0, 0, w1, h1}, {0, 0, w2, h2}); }

}  // namespace

namespace {

// Sums behind darknet's printed statistics, over a batch.
struct LossSums {
    double iou = 0, class_probability = 0, objectness = 0, no_objectness = 0, recall50 = 0, recall75 = 0;
};

// A dataset class id to the layer's class entry (a tree node with a tree), through the
// layer's map= when it has one; an id outside either range is an error naming the box.
class ClassEntries {
public:
    explicit ClassEntries(const RegionLayer& l)
        : l_(l), where_("[region] at cfg line " + std::to_string(l.cfg_line())),
          labels_(l.class_map.empty() ? l.classes : int(l.class_map.size())) {}
    const std::string& where() const { return where_; }
    int operator()(int id, const std::string& what) const {
        if (id < 0 || id >= labels_)
            throw Error("region loss: " + what + ": class id " + std::to_string(id) + " is outside [0, " +
                        std::to_string(labels_) + ") of the " + where_ + (l_.class_map.empty() ? "" : "'s map"));
        const int c = l_.class_map.empty() ? id : l_.class_map[id];
        if (c < 0 || c >= l_.classes)
            throw Error("region loss: " + what + ": class id " + std::to_string(id) + " maps to " + std::to_string(c) +
                        ", outside the " + std::to_string(l_.classes) + " classes of the " + where_);
        return c;
    }

private:
    const RegionLayer& l_;
    std::string where_;
    int labels_;
};

// A classification-only image (see the header): the class term at the slot most confident
// of the label, "no object" everywhere else.
void classification_only_terms(const RegionLayer& l, ImageTerms& t, int cls, LossSums& sums) {
    const WordTree* tree = l.tree.get();
    const int W = l.output_shape().w, H = l.output_shape().h;
    float best_p = 0;
    int best_n = 0, best_i = 0, best_j = 0;
    for (int n = 0; n < l.num; ++n)  // darknet's order: anchor-major, then rows
        for (int j = 0; j < H; ++j)
            for (int i = 0; i < W; ++i) {
                const float p = t.objectness(n, i, j) * t.class_probability(tree, n, i, j, cls);
                if (p > best_p) best_p = p, best_n = n, best_i = i, best_j = j;
                t.logistic_squared(t.index(n, l.coords, i, j), 0, l.noobject_scale);
            }
    t.no_term(t.index(best_n, l.coords, best_i, best_j));
    if (tree) {
        sums.class_probability += t.tree_class(*tree, best_n, best_i, best_j, cls, l.class_scale);
    } else if (l.softmax) {
        sums.class_probability += t.softmax_class(best_n, best_i, best_j, cls, l.class_scale);
    } else {
        for (int c = 0; c < l.classes; ++c)
            t.logistic_class(t.index(best_n, l.coords + 1 + c, best_i, best_j), c == cls, l.class_scale);
        sums.class_probability += t.class_probability(nullptr, best_n, best_i, best_j, cls);
    }
}

// Every slot of a detection image: "no object" unless it already overlaps a truth by more
// than thresh, and (early in training) a pull toward its anchor's prior box.
void no_object_terms(const RegionLayer& l, ImageTerms& t, const std::vector<RelBox>& boxes, uint64_t seen,
                     LossSums& sums) {
    const int W = l.output_shape().w, H = l.output_shape().h;
    for (int j = 0; j < H; ++j)
        for (int i = 0; i < W; ++i)
            for (int n = 0; n < l.num; ++n) {
                const RelBox pred = t.predicted_box(n, i, j);
                float best_iou = 0;
                for (const RelBox& truth : boxes) best_iou = std::max(best_iou, box_iou(pred, truth));
                const size_t obj = t.index(n, l.coords, i, j);
                sums.no_objectness += t.objectness(n, i, j);
                if (best_iou > l.thresh)
                    t.no_term(obj);  // already a good detection of something: leave it be
                else
                    t.logistic_squared(obj, 0, l.noobject_scale);
                if (seen < kRegionPriorWarmupImages) t.box_toward(n, i, j, kPriorTargets, kPriorScale);
            }
}

// Every truth of a detection image: the box, objectness and class terms at its cell's
// best-fitting anchor. `has_class_term` marks slots whose logistic classes a truth set.
void truth_terms(const RegionLayer& l, ImageTerms& t, const std::vector<RelBox>& boxes, const std::vector<int>& classes,
                 const float* image_output, std::vector<char>& has_class_term, LossSums& sums, RegionLossStats& stats) {
    const WordTree* tree = l.tree.get();
    const int W = l.output_shape().w, H = l.output_shape().h;
    has_class_term.assign(size_t(W) * H * l.num, 0);
    for (size_t k = 0; k < boxes.size(); ++k) {
        const RelBox& truth = boxes[k];
        // Clamped: a centre exactly on the right/bottom edge belongs to the last cell.
        const int i = std::clamp(int(truth.x * W), 0, W - 1);
        const int j = std::clamp(int(truth.y * H), 0, H - 1);
        int best_n = 0;
        float best_fit = 0;
        for (int n = 0; n < l.num; ++n) {
            RelBox pred = t.predicted_box(n, i, j);
            if (l.bias_match) pred = {0, 0, l.anchors[2 * n] / W, l.anchors[2 * n + 1] / H};
            const float fit = shape_iou(pred.w, pred.h, truth.w, truth.h);
            if (fit > best_fit) {
                best_fit = fit;
                best_n = n;
            }
        }
        const float iou = box_iou(t.predicted_box(best_n, i, j), truth);
        t.box_toward(best_n, i, j, t.targets_for(best_n, i, j, truth), l.coord_scale * (2 - truth.w * truth.h));
        sums.iou += iou;
        sums.recall50 += iou > .5f;
        sums.recall75 += iou > .75f;

        sums.objectness += t.objectness(best_n, i, j);
        t.logistic_squared(t.index(best_n, l.coords, i, j), l.rescore ? iou : 1.f, l.object_scale);

        const int cls = classes[k];
        if (tree) {
            sums.class_probability += t.tree_class(*tree, best_n, i, j, cls, l.class_scale);
        } else if (l.softmax) {
            sums.class_probability += t.softmax_class(best_n, i, j, cls, l.class_scale);
        } else {
            char& seen_slot = has_class_term[(size_t(best_n) * H + j) * W + i];
            if (seen_slot) {
                // darknet: a second truth in the slot adds its class as a target and
                // leaves the others (and the Class average) as they were.
                t.logistic_class(t.index(best_n, l.coords + 1 + cls, i, j), 1, l.class_scale);
            } else {
                for (int c = 0; c < l.classes; ++c)
                    t.logistic_class(t.index(best_n, l.coords + 1 + c, i, j), c == cls, l.class_scale);
                sums.class_probability += image_output[t.index(best_n, l.coords + 1 + cls, i, j)];
                seen_slot = 1;
            }
        }
        ++stats.count;
        ++stats.class_count;
    }
}

}  // namespace

RegionLossStats region_loss(const RegionLayer& l, const float* head_input, const float* output,
                            std::span<const std::vector<TruthBox>> truths, int batch, uint64_t seen, float* grad,
                            std::span<const int> image_classes) {
    const ClassEntries class_entry(l);
    if (l.tree && l.tree->size() != l.classes)
        throw Error("region loss: " + class_entry.where() + " has classes=" + std::to_string(l.classes) +
                    " but its tree " + l.tree->source + " has " + std::to_string(l.tree->size()) + " nodes");
    if (int(truths.size()) < batch)
        throw Error("region loss: " + std::to_string(truths.size()) + " truth lists for a batch of " +
                    std::to_string(batch) + " images");
    if (!image_classes.empty() && int(image_classes.size()) < batch)
        throw Error("region loss: " + std::to_string(image_classes.size()) + " image classes for a batch of " +
                    std::to_string(batch) + " images");
    const size_t per_image = l.output_shape().size();
    RegionLossStats stats;
    LossSums sums;
    std::vector<double> entry_loss;
    std::vector<RelBox> boxes;
    std::vector<int> classes;
    std::vector<char> has_class_term;

    for (int b = 0; b < batch; ++b) {
        ImageTerms t(l, head_input + b * per_image, output + b * per_image, grad + b * per_image, entry_loss);
        const int image_class = image_classes.empty() ? -1 : image_classes[b];
        if (image_class >= 0) {
            classification_only_terms(l, t, class_entry(image_class, "image " + std::to_string(b) + " (classification-only)"),
                                      sums);
            ++stats.class_count;
        } else {
            boxes.clear();
            classes.clear();
            for (size_t k = 0; k < truths[b].size(); ++k) {
                const TruthBox& tb = truths[b][k];
                if (!(tb.w > 0 && tb.h > 0)) continue;  // degenerate: nothing to regress toward
                boxes.push_back({tb.x, tb.y, tb.w, tb.h});
                classes.push_back(class_entry(tb.class_id, "image " + std::to_string(b) + ", box " + std::to_string(k)));
            }
            no_object_terms(l, t, boxes, seen, sums);
            truth_terms(l, t, boxes, classes, output + b * per_image, has_class_term, sums, stats);
        }
        for (double v : entry_loss) stats.loss += v;
    }

    const double slots = double(l.output_shape().w) * l.output_shape().h * l.num * batch;
    stats.avg_noobj = slots > 0 ? float(sums.no_objectness / slots) : 0.f;
    if (stats.count > 0) {
        stats.avg_iou = float(sums.iou / stats.count);
        stats.avg_obj = float(sums.objectness / stats.count);
        stats.recall50 = float(sums.recall50 / stats.count);
        stats.recall75 = float(sums.recall75 / stats.count);
    }
    if (stats.class_count > 0) stats.avg_class = float(sums.class_probability / stats.class_count);
    return stats;
}

}  // namespace yolo9k
