#include "anchors/dimension_clusters.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "core/error.h"

namespace yolo9k {
namespace {

// Uniform in [0, 1) from the raw engine bits: std::uniform_real_distribution is not
// specified bit-for-bit, and the seed promise must hold across standard libraries.
double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

struct Assignment {
    std::vector<int> nearest;  // per box
    std::vector<double> iou;   // per box, with its nearest centroid
    double avg_iou = 0;
};

int nearest_centroid(BoxSize box, const std::vector<BoxSize>& centroids, double* best_iou) {
    int best = 0;
    double best_value = -1;
    for (size_t c = 0; c < centroids.size(); ++c) {
        const double v = centred_iou(box, centroids[c]);
        if (v > best_value) best_value = v, best = int(c);
    }
    *best_iou = best_value;
    return best;
}

void assign(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& centroids, Assignment& a) {
    a.nearest.resize(boxes.size());
    a.iou.resize(boxes.size());
    double sum = 0;
    for (size_t i = 0; i < boxes.size(); ++i) {
        a.nearest[i] = nearest_centroid(boxes[i], centroids, &a.iou[i]);
        sum += a.iou[i];
    }
    a.avg_iou = sum / double(boxes.size());
}

// k-means++ with d = 1 − IoU: the first centre uniformly, each next one with
// probability proportional to d² to the closest centre chosen so far.
std::vector<BoxSize> seed_centroids(const std::vector<BoxSize>& boxes, int k, std::mt19937_64& rng) {
    std::vector<BoxSize> centres;
    centres.push_back(boxes[size_t(uniform01(rng) * double(boxes.size()))]);
    std::vector<double> d2(boxes.size());
    for (size_t i = 0; i < boxes.size(); ++i) {
        const double d = 1 - centred_iou(boxes[i], centres[0]);
        d2[i] = d * d;
    }
    while (int(centres.size()) < k) {
        const double total = std::accumulate(d2.begin(), d2.end(), 0.0);
        // total > 0 because k ≤ distinct sizes and every chosen centre is a box.
        double target = uniform01(rng) * total;
        size_t pick = 0;
        for (; pick + 1 < boxes.size(); ++pick) {
            if (d2[pick] > 0 && target < d2[pick]) break;
            target -= d2[pick];
        }
        while (d2[pick] == 0) --pick;  // rounding ran off the end: last box with weight
        centres.push_back(boxes[pick]);
        for (size_t i = 0; i < boxes.size(); ++i) {
            const double d = 1 - centred_iou(boxes[i], centres.back());
            d2[i] = std::min(d2[i], d * d);
        }
    }
    return centres;
}

// The middle value (the mean of the two middle ones for an even count).
double median(std::vector<double>& values) {
    const size_t mid = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(mid), values.end());
    const double upper = values[mid];
    if (values.size() % 2) return upper;
    return (*std::max_element(values.begin(), values.begin() + std::ptrdiff_t(mid)) + upper) / 2;
}

// Each cluster's median (or mean) width and height; an empty cluster takes the box worst
// served by its current centroid (and that box is then taken from its old cluster).
std::vector<BoxSize> update_centroids(const std::vector<BoxSize>& boxes, Assignment& a, int k, CentroidUpdate rule) {
    std::vector<std::vector<double>> widths(static_cast<size_t>(k)), heights(static_cast<size_t>(k));
    for (size_t i = 0; i < boxes.size(); ++i) {
        widths[size_t(a.nearest[i])].push_back(boxes[i].w);
        heights[size_t(a.nearest[i])].push_back(boxes[i].h);
    }
    auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); };
    std::vector<BoxSize> centroids(static_cast<size_t>(k));
    for (size_t c = 0; c < size_t(k); ++c) {
        if (!widths[c].empty()) {
            centroids[c] = rule == CentroidUpdate::kMean ? BoxSize{mean(widths[c]), mean(heights[c])}
                                                         : BoxSize{median(widths[c]), median(heights[c])};
            continue;
        }
        const size_t worst = size_t(std::min_element(a.iou.begin(), a.iou.end()) - a.iou.begin());
        centroids[c] = boxes[worst];
        a.iou[worst] = 1;  // served perfectly now; do not pick it twice
        a.nearest[worst] = int(c);
    }
    return centroids;
}

Clustering summarise(const std::vector<BoxSize>& boxes, std::vector<BoxSize> centroids) {
    std::sort(centroids.begin(), centroids.end(), [](BoxSize a, BoxSize b) {
        return a.area() != b.area() ? a.area() < b.area() : a.w < b.w;
    });
    const AnchorFit fit = evaluate_anchors(boxes, centroids);
    Clustering out;
    out.centroids = std::move(centroids);
    out.counts = fit.counts;
    out.avg_iou = fit.avg_iou;
    return out;
}

void check_sizes(const std::vector<BoxSize>& boxes, const char* what) {
    for (size_t i = 0; i < boxes.size(); ++i)
        if (!(boxes[i].w > 0 && boxes[i].h > 0 && std::isfinite(boxes[i].w) && std::isfinite(boxes[i].h)))
            throw Error(std::string(what) + " " + std::to_string(i) + " has size " + std::to_string(boxes[i].w) + " x " +
                        std::to_string(boxes[i].h) + "; expected positive, finite width and height");
}

}  // namespace

double centred_iou(BoxSize a, BoxSize b) {
    const double inter = std::min(a.w, b.w) * std::min(a.h, b.h);
    return inter / (a.area() + b.area() - inter);
}

size_t count_distinct(const std::vector<BoxSize>& boxes) {
    std::set<std::pair<double, double>> seen;
    for (const BoxSize& b : boxes) seen.emplace(b.w, b.h);
    return seen.size();
}

AnchorFit evaluate_anchors(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors) {
    if (boxes.empty()) throw Error("no boxes to evaluate anchors on");
    if (anchors.empty()) throw Error("no anchors to evaluate");
    check_sizes(boxes, "box");
    check_sizes(anchors, "anchor");
    AnchorFit fit;
    fit.counts.assign(anchors.size(), 0);
    double sum = 0;
    for (const BoxSize& box : boxes) {
        double iou = 0;
        ++fit.counts[size_t(nearest_centroid(box, anchors, &iou))];
        sum += iou;
    }
    fit.avg_iou = sum / double(boxes.size());
    return fit;
}

Clustering cluster_box_sizes(const std::vector<BoxSize>& boxes, const ClusterOptions& options) {
    if (boxes.empty()) throw Error("no boxes to cluster (the dataset has no usable boxes)");
    if (options.k < 1) throw Error("k must be at least 1, got " + std::to_string(options.k));
    if (options.restarts < 1) throw Error("restarts must be at least 1, got " + std::to_string(options.restarts));
    check_sizes(boxes, "box");
    const size_t distinct = count_distinct(boxes);
    if (size_t(options.k) > distinct)
        throw Error("k = " + std::to_string(options.k) + " clusters, but the boxes have only " + std::to_string(distinct) +
                    " distinct sizes (" + std::to_string(boxes.size()) + " boxes); choose k <= " +
                    std::to_string(distinct));

    std::mt19937_64 rng(options.seed);
    Clustering best;
    best.avg_iou = -1;
    for (int r = 0; r < options.restarts; ++r) {
        std::vector<BoxSize> centroids = seed_centroids(boxes, options.k, rng);
        Assignment a;
        assign(boxes, centroids, a);
        int it = 0;
        while (it < options.max_iterations) {
            ++it;
            const std::vector<int> before = a.nearest;
            centroids = update_centroids(boxes, a, options.k, options.update);
            assign(boxes, centroids, a);
            if (a.nearest == before) break;  // converged: the centroids summarise their members
        }
        Clustering c = summarise(boxes, centroids);
        c.iterations = it;
        c.restart = r;
        if (c.avg_iou > best.avg_iou) best = std::move(c);
    }
    return best;
}

}  // namespace yolo9k
