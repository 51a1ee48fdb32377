#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace yolo9k::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Indices of `class_id`'s detections, ranked by descending score; stable, so ties keep input order.
std::vector<int> ranked(const std::vector<ScoredBox>& dets, int class_id) {
    std::vector<int> order;
    for (int i = 0; i < int(dets.size()); ++i)
        if (dets[i].class_id == class_id) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return dets[a].score > dets[b].score; });
    return order;
}

void check_image(const Truth& truth, const ScoredBox& d) {
    if (d.image < 0 || d.image >= int(truth.images.size()))
        throw Error("evaluation: detection for image index " + std::to_string(d.image) + ", but the set has " +
                    std::to_string(truth.images.size()) + " images");
}

int count_positives(const Truth& truth, int class_id) {
    int n = 0;
    for (const auto& image : truth.images)
        for (const auto& o : image) n += o.class_id == class_id && !o.difficult;
    return n;
}

double mean_over_truth(const std::vector<ClassMetrics>& classes, double ClassMetrics::*field) {
    double sum = 0;
    int n = 0;
    for (const auto& c : classes)
        if (c.has_truth()) sum += c.*field, ++n;
    return n ? sum / n : kNaN;
}

}  // namespace

double box_iou(const Box& a, const Box& b, bool plus_one) {
    const double one = plus_one ? 1 : 0;
    const double iw = std::min<double>(a.x2, b.x2) - std::max<double>(a.x1, b.x1) + one;
    const double ih = std::min<double>(a.y2, b.y2) - std::max<double>(a.y1, b.y1) + one;
    if (iw <= 0 || ih <= 0) return 0;
    const double inter = iw * ih;
    const double area_a = (double(a.x2) - a.x1 + one) * (double(a.y2) - a.y1 + one);
    const double area_b = (double(b.x2) - b.x1 + one) * (double(b.y2) - b.y1 + one);
    const double uni = area_a + area_b - inter;
    return uni > 0 ? inter / uni : 0;
}

Matches match_voc(const Truth& truth, const std::vector<ScoredBox>& detections, int class_id, double iou_thresh) {
    Matches m;
    m.positives = count_positives(truth, class_id);
    std::vector<std::vector<char>> taken(truth.images.size());
    for (size_t i = 0; i < truth.images.size(); ++i) taken[i].assign(truth.images[i].size(), 0);
    for (int di : ranked(detections, class_id)) {
        const ScoredBox& d = detections[di];
        check_image(truth, d);
        const auto& objects = truth.images[d.image];
        // The devkit's rule: the best-overlapping GT of the class, matched or not (strict >
        // keeps the first of equal overlaps).
        double best = -std::numeric_limits<double>::infinity();
        int best_j = -1;
        for (int j = 0; j < int(objects.size()); ++j) {
            if (objects[j].class_id != class_id) continue;
            const double iou = box_iou(d.box, objects[j].box, /*plus_one=*/true);
            if (iou > best) best = iou, best_j = j;
        }
        char tp = 0;
        if (best_j >= 0 && best > iou_thresh) {
            if (objects[best_j].difficult) continue;  // neither TP nor FP
            if (!taken[d.image][best_j]) tp = 1, taken[d.image][best_j] = 1;  // else a duplicate: FP
        }
        m.scores.push_back(d.score);
        m.tp.push_back(tp);
    }
    return m;
}

Matches match_coco(const Truth& truth, const std::vector<ScoredBox>& detections, int class_id, double iou_thresh,
                   int max_per_image) {
    Matches m;
    m.positives = count_positives(truth, class_id);
    // pycocotools ranks within each image, keeps the best max_per_image, then concatenates in
    // image order and stable-sorts by score: reproduce that order for equal scores.
    std::vector<std::vector<int>> per_image(truth.images.size());
    for (int di : ranked(detections, class_id)) {
        check_image(truth, detections[di]);
        per_image[detections[di].image].push_back(di);
    }
    struct Ranked {
        float score;
        char tp;
    };
    std::vector<Ranked> all;
    for (size_t img = 0; img < truth.images.size(); ++img) {
        auto& dets = per_image[img];
        if (int(dets.size()) > max_per_image) dets.resize(max_per_image);
        // GT of the class, non-ignored first (stable), as COCOeval sorts them.
        std::vector<int> gts;
        for (int j = 0; j < int(truth.images[img].size()); ++j)
            if (truth.images[img][j].class_id == class_id) gts.push_back(j);
        std::stable_sort(gts.begin(), gts.end(), [&](int a, int b) {
            return !truth.images[img][a].difficult && truth.images[img][b].difficult;
        });
        std::vector<char> taken(gts.size(), 0);
        for (int di : dets) {
            double best = std::min(iou_thresh, 1 - 1e-10);
            int match = -1;
            for (int k = 0; k < int(gts.size()); ++k) {
                if (taken[k]) continue;
                const bool ignored = truth.images[img][gts[k]].difficult;
                // Once a non-ignored GT matched, ignored ones (sorted last) cannot replace it.
                if (match >= 0 && !truth.images[img][gts[match]].difficult && ignored) break;
                const double iou = box_iou(detections[di].box, truth.images[img][gts[k]].box, /*plus_one=*/false);
                if (iou < best) continue;
                best = iou;
                match = k;
            }
            if (match >= 0) {
                taken[match] = 1;
                if (truth.images[img][gts[match]].difficult) continue;  // ignored detection
            }
            all.push_back({detections[di].score, char(match >= 0)});
        }
    }
    std::stable_sort(all.begin(), all.end(), [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
    for (const auto& r : all) m.scores.push_back(r.score), m.tp.push_back(r.tp);
    return m;
}

PrCurve pr_curve(const Matches& m) {
    PrCurve pr;
    double tp = 0, fp = 0;
    for (char t : m.tp) {
        (t ? tp : fp) += 1;
        pr.recall.push_back(m.positives ? tp / m.positives : kNaN);
        pr.precision.push_back(tp / (tp + fp));
    }
    return pr;
}

double ap_voc07(const PrCurve& pr) {
    double ap = 0;
    for (int k = 0; k <= 10; ++k) {
        const double t = k / 10.0;  // MATLAB's 0:0.1:1 (exact tenths, unlike numpy's arange)
        double p = 0;
        for (size_t i = 0; i < pr.recall.size(); ++i)
            if (pr.recall[i] >= t) p = std::max(p, pr.precision[i]);
        ap += p / 11;
    }
    return ap;
}

double ap_all_point(const PrCurve& pr) {
    std::vector<double> rec{0}, prec{0};
    rec.insert(rec.end(), pr.recall.begin(), pr.recall.end());
    prec.insert(prec.end(), pr.precision.begin(), pr.precision.end());
    rec.push_back(1);
    prec.push_back(0);
    for (size_t i = prec.size() - 1; i > 0; --i) prec[i - 1] = std::max(prec[i - 1], prec[i]);
    double ap = 0;
    for (size_t i = 0; i + 1 < rec.size(); ++i)
        if (rec[i + 1] != rec[i]) ap += (rec[i + 1] - rec[i]) * prec[i + 1];
    return ap;
}

double ap_coco101(const PrCurve& pr) {
    std::vector<double> env = pr.precision;
    for (size_t i = env.size(); i > 1; --i) env[i - 2] = std::max(env[i - 2], env[i - 1]);
    double sum = 0;
    for (int k = 0; k <= 100; ++k) {
        const double t = k * 0.01;  // numpy's linspace(0, 1, 101)
        const auto it = std::lower_bound(pr.recall.begin(), pr.recall.end(), t);
        if (it != pr.recall.end()) sum += env[it - pr.recall.begin()];
    }
    return sum / 101;
}

EvalResult evaluate(const Truth& truth, const std::vector<ScoredBox>& detections) {
    if (truth.images.empty()) throw Error("evaluation: the dataset has no images");
    if (truth.class_names.empty()) throw Error("evaluation: no class names");
    std::vector<std::vector<ScoredBox>> by_class(truth.classes());
    for (const auto& d : detections) {
        check_image(truth, d);
        if (d.class_id < 0 || d.class_id >= truth.classes())
            throw Error("evaluation: detection of class " + std::to_string(d.class_id) + ", but there are " +
                        std::to_string(truth.classes()) + " classes");
        by_class[d.class_id].push_back(d);
    }
    EvalResult r;
    r.images = int(truth.images.size());
    for (int c = 0; c < truth.classes(); ++c) {
        ClassMetrics m;
        m.name = truth.class_names[c];
        for (const auto& image : truth.images)
            for (const auto& o : image)
                if (o.class_id == c) (o.difficult ? m.difficult : m.truth) += 1;
        m.detections = int(by_class[c].size());
        if (!m.has_truth()) {
            m.ap_voc07 = m.ap_voc = m.ap_coco = m.ap50 = m.ap75 = kNaN;
        } else {
            m.pr = pr_curve(match_voc(truth, by_class[c], c, .5));
            m.ap_voc07 = ap_voc07(m.pr);
            m.ap_voc = ap_all_point(m.pr);
            double sum = 0;
            for (int k = 0; k < 10; ++k) {
                const double ap = ap_coco101(pr_curve(match_coco(truth, by_class[c], c, .5 + k * .05)));
                sum += ap;
                if (k == 0) m.ap50 = ap;
                if (k == 5) m.ap75 = ap;
            }
            m.ap_coco = sum / 10;
        }
        r.per_class.push_back(std::move(m));
    }
    r.classes_with_truth = int(std::count_if(r.per_class.begin(), r.per_class.end(), [](auto& c) { return c.has_truth(); }));
    r.map_voc07 = mean_over_truth(r.per_class, &ClassMetrics::ap_voc07);
    r.map_voc = mean_over_truth(r.per_class, &ClassMetrics::ap_voc);
    r.map_coco = mean_over_truth(r.per_class, &ClassMetrics::ap_coco);
    r.ap50 = mean_over_truth(r.per_class, &ClassMetrics::ap50);
    r.ap75 = mean_over_truth(r.per_class, &ClassMetrics::ap75);
    return r;
}

std::string format_table(const EvalResult& r) {
    size_t width = 5;
    for (const auto& c : r.per_class) width = std::max(width, c.name.size());
    auto pct = [](double v) {
        char b[16];
        if (std::isnan(v)) return std::string("    —");  // no GT: no AP (five columns, like "%5.1f")
        std::snprintf(b, sizeof b, "%5.1f", 100 * v);
        return std::string(b);
    };
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-*s %7s %6s %8s %9s %8s %6s %6s\n", int(width), "class", "GT", "dets", "AP VOC07",
                  "AP all-pt", "AP COCO", "AP50", "AP75");
    out += line;
    auto row = [&](const std::string& name, const std::string& gt, const std::string& dets, double a, double b, double c,
                   double d, double e) {
        // Pad by hand: "—" is three bytes but one column, so printf widths would miscount.
        auto cell = [&](double v, int w) {
            std::string s = pct(v);
            return std::string(std::max(0, w - 5), ' ') + s;
        };
        std::snprintf(line, sizeof line, "%-*s %7s %6s ", int(width), name.c_str(), gt.c_str(), dets.c_str());
        out += line + cell(a, 8) + " " + cell(b, 9) + " " + cell(c, 8) + " " + cell(d, 6) + " " + cell(e, 6) + "\n";
    };
    for (const auto& c : r.per_class) {
        std::string gt = std::to_string(c.truth);
        if (c.difficult) gt += '+' + std::to_string(c.difficult) + 'd';  // difficult ones, ignored
        row(c.name, gt, std::to_string(c.detections), c.ap_voc07, c.ap_voc, c.ap_coco, c.ap50, c.ap75);
    }
    row("mean", "", "", r.map_voc07, r.map_voc, r.map_coco, r.ap50, r.ap75);
    std::snprintf(line, sizeof line, "(%d images; means over the %d of %zu classes with ground truth; — : no ground truth)\n",
                  r.images, r.classes_with_truth, r.per_class.size());
    out += line;
    return out;
}

}  // namespace yolo9k::eval
