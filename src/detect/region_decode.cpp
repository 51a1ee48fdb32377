#include "detect/region_decode.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "core/error.h"

namespace yolo9k {

namespace {

void validate(const RegionDecodeParams& p) {
    if (p.grid_w < 1 || p.grid_h < 1 || p.num < 1 || p.classes < 1 || p.coords < 4)
        throw Error("region decode: invalid layer shape (grid " + std::to_string(p.grid_w) + "x" +
                    std::to_string(p.grid_h) + ", num " + std::to_string(p.num) + ", classes " +
                    std::to_string(p.classes) + ", coords " + std::to_string(p.coords) + ")");
    if (p.tree && p.tree->size() != p.classes)
        throw Error("region decode: classes=" + std::to_string(p.classes) + " but the tree " + p.tree->source + " has " +
                    std::to_string(p.tree->size()) + " nodes");
    for (int node : p.class_map)
        if (!p.tree || node < 0 || node >= p.classes)
            throw Error("region decode: the class map names node " + std::to_string(node) + ", outside the " +
                        std::to_string(p.classes) + " classes" + (p.tree ? "" : " (a class map needs a tree)"));
    if (p.anchors.size() != static_cast<std::size_t>(2 * p.num))
        throw Error("region decode: expected " + std::to_string(2 * p.num) + " anchor values for num=" +
                    std::to_string(p.num) + ", got " + std::to_string(p.anchors.size()));
}

// Reused between calls (per thread) so NMS does not allocate in steady state.
struct NmsScratch {
    std::vector<int> perm;      // darknet's array after moving objectness==0 entries to the end
    std::vector<int> pos;       // box index -> position in perm (tie-break of a stable sort)
    std::vector<float> pre;     // pre-NMS probabilities by position: ties are broken by them
    std::vector<int> top;       // by position: highest class with a non-zero probability, or -1
    std::vector<int> class_start, class_members, fill;  // per-class member lists
    std::vector<int> members;   // boxes with a non-zero probability for the current class
    // By member: edges and area as box_iou computes them, and whether not yet suppressed.
    std::vector<float> left, right, top_edge, bottom, area;
    std::vector<unsigned char> alive;
};

NmsScratch& scratch() {
    thread_local NmsScratch s;
    return s;
}

}  // namespace

float box_iou(const RelBox& a, const RelBox& b) {
    // Edge overlap along one axis; negative when the boxes are apart.
    auto overlap = [](float c1, float s1, float c2, float s2) {
        const float left = std::max(c1 - s1 / 2, c2 - s2 / 2);
        const float right = std::min(c1 + s1 / 2, c2 + s2 / 2);
        return right - left;
    };
    const float w = overlap(a.x, a.w, b.x, b.w);
    const float h = overlap(a.y, a.h, b.y, b.h);
    if (w < 0 || h < 0) return 0;
    const float inter = w * h;
    const float uni = a.w * a.h + b.w * b.h - inter;
    return uni > 0 ? inter / uni : 0;
}

void decode_region_candidates(const float* output, const RegionDecodeParams& params,
                              const LetterboxGeometry& geometry, float thresh, RegionCandidates& out) {
    validate(params);
    const int wh = params.grid_w * params.grid_h;
    const int n_boxes = params.boxes();
    const int classes = params.output_classes();
    const std::size_t entries = static_cast<std::size_t>(params.entries());
    out.classes = classes;
    thread_local std::vector<float> hierarchy;  // one box's tree probabilities, contiguous
    if (params.tree) hierarchy.resize(params.tree->size());
    out.boxes.resize(n_boxes);
    out.objectness.resize(n_boxes);
    out.probs.assign(static_cast<std::size_t>(n_boxes) * classes, 0.0f);
    out.order.clear();

    // correct_region_boxes assumes the letterbox placement; with a plain resize the relative
    // box already is relative to the original image.
    const bool letterbox = geometry.mode == ResizeMode::Letterbox;
    if (letterbox && (geometry.net_w < 1 || geometry.net_h < 1 || geometry.new_w < 1 || geometry.new_h < 1))
        throw Error("region decode: letterbox geometry is empty");
    const double off_x = (geometry.net_w - geometry.new_w) / 2.0 / geometry.net_w;
    const double off_y = (geometry.net_h - geometry.new_h) / 2.0 / geometry.net_h;
    const float frac_w = static_cast<float>(geometry.new_w) / geometry.net_w;
    const float frac_h = static_cast<float>(geometry.new_h) / geometry.net_h;
    const float grow_w = static_cast<float>(geometry.net_w) / geometry.new_w;
    const float grow_h = static_cast<float>(geometry.net_h) / geometry.new_h;

    const float gw = static_cast<float>(params.grid_w), gh = static_cast<float>(params.grid_h);
    for (int n = 0; n < params.num; ++n) {
        const float* anchor_base = output + n * entries * wh;
        const double anchor_w = params.anchors[2 * n], anchor_h = params.anchors[2 * n + 1];
        for (int cell = 0; cell < wh; ++cell) {
            const int idx = n * wh + cell;
            const int row = cell / params.grid_w, col = cell % params.grid_w;
            const float* p = anchor_base + cell;
            // Precision as darknet: centre in float, size via double exp.
            RelBox b;
            b.x = (static_cast<float>(col) + p[0]) / gw;
            b.y = (static_cast<float>(row) + p[wh]) / gh;
            b.w = static_cast<float>(std::exp(static_cast<double>(p[2 * wh])) * anchor_w / params.grid_w);
            b.h = static_cast<float>(std::exp(static_cast<double>(p[3 * wh])) * anchor_h / params.grid_h);
            if (letterbox) {
                b.x = static_cast<float>((b.x - off_x) / frac_w);
                b.y = static_cast<float>((b.y - off_y) / frac_h);
                b.w *= grow_w;
                b.h *= grow_h;
            }
            out.boxes[idx] = b;

            const float obj = p[static_cast<std::size_t>(params.coords) * wh];
            out.objectness[idx] = obj > thresh ? obj : 0.0f;
            if (!(obj > thresh)) continue;
            out.order.push_back(idx);
            const float* cls = p + static_cast<std::size_t>(params.coords + 1) * wh;
            float* dst = out.probs.data() + static_cast<std::size_t>(idx) * classes;
            if (params.tree) {
                const WordTree& tree = *params.tree;
                for (int j = 0; j < tree.size(); ++j) hierarchy[j] = cls[static_cast<std::size_t>(j) * wh];
                hierarchy_products(tree, hierarchy.data(), 1);
                if (params.class_map.empty()) {
                    dst[top_down_prediction(tree, hierarchy.data(), params.hier_thresh, 1)] = obj;
                } else {
                    for (int k = 0; k < classes; ++k) {
                        const float prob = obj * hierarchy[params.class_map[k]];
                        dst[k] = prob > thresh ? prob : 0.0f;
                    }
                }
                continue;
            }
            for (int j = 0; j < classes; ++j) {
                const float prob = obj * cls[static_cast<std::size_t>(j) * wh];
                dst[j] = prob > thresh ? prob : 0.0f;
            }
        }
    }
}

void nms_sort(RegionCandidates& c, float nms_thresh) {
    if (nms_thresh <= 0) return;
    const int n_boxes = static_cast<int>(c.boxes.size());
    const int classes = c.classes;
    NmsScratch& s = scratch();

    // darknet first swaps every objectness==0 entry with the current last one; the resulting
    // permutation decides how ties are broken later, so reproduce it exactly.
    s.perm.resize(n_boxes);
    for (int i = 0; i < n_boxes; ++i) s.perm[i] = i;
    int last = n_boxes - 1;
    for (int i = 0; i <= last; ++i) {
        if (c.objectness[s.perm[i]] == 0) {
            std::swap(s.perm[i], s.perm[last]);
            --last;
            --i;
        }
    }
    const int total = last + 1;

    // darknet then runs one stable sort per class (glibc's qsort is a merge sort) over the whole
    // array, each by that class's probability taken before its own suppression. The order seen
    // by class k is therefore lexicographic on (p_k, p_k-1, ..., p_0) descending, then position.
    s.pos.assign(n_boxes, -1);
    s.pre.resize(static_cast<std::size_t>(total) * classes);
    s.top.resize(total);
    for (int i = 0; i < total; ++i) {
        const int b = s.perm[i];
        s.pos[b] = i;
        const float* src = c.probs.data() + static_cast<std::size_t>(b) * classes;
        std::copy(src, src + classes, s.pre.data() + static_cast<std::size_t>(i) * classes);
        int t = classes - 1;
        while (t >= 0 && src[t] == 0) --t;
        s.top[i] = t;
    }
    // a before b in the order darknet's sort for class k produces.
    auto before = [&](int a, int b, int k) {
        const int pa = s.pos[a], pb = s.pos[b];
        const float* ra = s.pre.data() + static_cast<std::size_t>(pa) * classes;
        const float* rb = s.pre.data() + static_cast<std::size_t>(pb) * classes;
        for (int j = k; j >= 0; --j)
            if (ra[j] != rb[j]) return ra[j] > rb[j];
        return pa < pb;
    };

    // Per-class member lists (boxes with a non-zero probability, in position order) built in
    // one row-wise pass: class_start[k]..class_start[k+1] indexes class_members.
    s.class_start.assign(classes + 1, 0);
    for (int i = 0; i < total; ++i) {
        const float* row = s.pre.data() + static_cast<std::size_t>(i) * classes;
        for (int j = 0; j <= s.top[i]; ++j) s.class_start[j + 1] += row[j] != 0;
    }
    for (int k = 0; k < classes; ++k) s.class_start[k + 1] += s.class_start[k];
    s.class_members.resize(s.class_start[classes]);
    s.fill.assign(s.class_start.begin(), s.class_start.end() - 1);
    for (int i = 0; i < total; ++i) {
        const float* row = s.pre.data() + static_cast<std::size_t>(i) * classes;
        for (int j = 0; j <= s.top[i]; ++j)
            if (row[j] != 0) s.class_members[s.fill[j]++] = s.perm[i];
    }

    for (int k = 0; k < classes; ++k) {
        if (s.class_start[k + 1] - s.class_start[k] < 2) continue;
        s.members.assign(s.class_members.begin() + s.class_start[k], s.class_members.begin() + s.class_start[k + 1]);
        std::sort(s.members.begin(), s.members.end(), [&](int a, int b) { return before(a, b, k); });
        // Entries whose probability is 0 neither suppress nor change when suppressed, so only
        // the non-zero ones take part. Edges and areas are precomputed with the same float
        // operations box_iou uses, so the decisions are identical; the inner loop is branch-free
        // because the suppression pattern is unpredictable.
        const std::size_t m = s.members.size();
        for (auto* v : {&s.left, &s.right, &s.top_edge, &s.bottom, &s.area}) v->resize(m);
        s.alive.assign(m, 1);
        for (std::size_t i = 0; i < m; ++i) {
            const RelBox& b = c.boxes[s.members[i]];
            s.left[i] = b.x - b.w / 2;
            s.right[i] = b.x + b.w / 2;
            s.top_edge[i] = b.y - b.h / 2;
            s.bottom[i] = b.y + b.h / 2;
            s.area[i] = b.w * b.h;
        }
        const float* L = s.left.data();
        const float* R = s.right.data();
        const float* T = s.top_edge.data();
        const float* B = s.bottom.data();
        const float* A = s.area.data();
        unsigned char* alive = s.alive.data();
        for (std::size_t i = 0; i < m; ++i) {
            if (!alive[i]) continue;
            const float al = L[i], ar = R[i], at = T[i], ab = B[i], aa = A[i];
            for (std::size_t j = i + 1; j < m; ++j) {
                const float w = (ar < R[j] ? ar : R[j]) - (al > L[j] ? al : L[j]);
                const float h = (ab < B[j] ? ab : B[j]) - (at > T[j] ? at : T[j]);
                const float inter = w * h;
                const float uni = aa + A[j] - inter;
                const bool overlaps = (w >= 0) & (h >= 0) & (uni > 0);
                const bool suppress = overlaps & (inter / uni > nms_thresh);
                alive[j] &= static_cast<unsigned char>(!suppress);
            }
        }
        for (std::size_t i = 0; i < m; ++i)
            if (!alive[i]) c.probs[static_cast<std::size_t>(s.members[i]) * classes + k] = 0;
    }

    // Final array order: the last sort's order. Entries with no probability at all trail the
    // others in position order; only the rest need sorting, first by their highest class.
    c.order.clear();
    for (int i = 0; i < total; ++i)
        if (s.top[i] >= 0) c.order.push_back(s.perm[i]);
    std::sort(c.order.begin(), c.order.end(), [&](int a, int b) {
        const int ta = s.top[s.pos[a]], tb = s.top[s.pos[b]];
        if (ta != tb) return ta > tb;
        return before(a, b, ta);
    });
    for (int i = 0; i < total; ++i)
        if (s.top[i] < 0) c.order.push_back(s.perm[i]);
}

std::vector<Detection> report_detections(const RegionCandidates& c, float thresh, int img_w, int img_h,
                                         const std::vector<std::string>& names) {
    if (img_w < 1 || img_h < 1)
        throw Error("region decode: image size " + std::to_string(img_w) + "x" + std::to_string(img_h) +
                    " is empty");
    const int classes = c.classes;
    std::size_t count = 0;
    for (int b : c.order)
        for (int j = 0; j < classes; ++j) count += c.prob(b, j) > thresh;
    std::vector<Detection> dets;
    dets.reserve(count);
    for (int b : c.order) {
        const float* probs = c.probs.data() + static_cast<std::size_t>(b) * classes;
        bool any = false;
        for (int j = 0; j < classes; ++j) any |= probs[j] > thresh;
        if (!any) continue;
        // Same arithmetic as draw_detections (double), clamped to the image.
        const RelBox& r = c.boxes[b];
        auto clamp = [](double v, int size) {
            return static_cast<float>(std::clamp(v, 0.0, static_cast<double>(size - 1)));
        };
        Box box;
        box.x1 = clamp((r.x - r.w / 2.) * img_w, img_w);
        box.x2 = clamp((r.x + r.w / 2.) * img_w, img_w);
        box.y1 = clamp((r.y - r.h / 2.) * img_h, img_h);
        box.y2 = clamp((r.y + r.h / 2.) * img_h, img_h);
        for (int j = 0; j < classes; ++j) {
            if (!(probs[j] > thresh)) continue;
            Detection d;
            d.class_id = j;
            d.name = static_cast<std::size_t>(j) < names.size() ? names[j] : std::to_string(j);
            d.score = probs[j];
            d.objectness = c.objectness[b];
            d.box = box;
            dets.push_back(std::move(d));
        }
    }
    return dets;
}

std::vector<Detection> decode_region(const float* output, const RegionDecodeParams& params,
                                     const LetterboxGeometry& geometry, float thresh, float nms_thresh,
                                     const std::vector<std::string>& names, RegionCandidates* workspace) {
    RegionCandidates local;
    RegionCandidates& c = workspace ? *workspace : local;
    decode_region_candidates(output, params, geometry, thresh, c);
    nms_sort(c, nms_thresh);
    return report_detections(c, thresh, geometry.img_w, geometry.img_h, names);
}

}  // namespace yolo9k
