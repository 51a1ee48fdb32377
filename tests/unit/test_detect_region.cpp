// Region decoding, NMS and box correction on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "detect/region_decode.h"
#include "detect/render.h"

namespace {

using namespace yolo9k;

TEST(DetectRegion, IouByHand) {
    const RelBox a{0.5f, 0.5f, 0.2f, 0.2f};
    EXPECT_FLOAT_EQ(box_iou(a, a), 1.0f);
    // Shifted by half a width: overlap 0.1 x 0.2 = 0.02, union 0.04 + 0.04 - 0.02.
    EXPECT_NEAR(box_iou(a, RelBox{0.6f, 0.5f, 0.2f, 0.2f}), 1.0f / 3, 1e-6f);
    // Contained: 0.04 / 0.16.
    EXPECT_NEAR(box_iou(RelBox{0.5f, 0.5f, 0.4f, 0.4f}, a), 0.25f, 1e-6f);
    // Apart, and apart along one axis only.
    EXPECT_EQ(box_iou(a, RelBox{0.9f, 0.9f, 0.2f, 0.2f}), 0.0f);
    EXPECT_EQ(box_iou(a, RelBox{0.5f, 0.9f, 0.2f, 0.2f}), 0.0f);
    // Symmetric.
    const RelBox b{0.55f, 0.42f, 0.3f, 0.1f};
    EXPECT_FLOAT_EQ(box_iou(a, b), box_iou(b, a));
}

// A 2x2 grid, one anchor (1,1), two classes; every cell unconfident except (row 1, col 0).
struct Tiny {
    RegionDecodeParams p;
    std::vector<float> out;
    Tiny() {
        p.grid_w = p.grid_h = 2;
        p.num = 1;
        p.classes = 2;
        p.anchors = {1.0f, 1.0f};
        out.assign(7 * 4, 0.0f);
        for (int cell = 0; cell < 4; ++cell) {
            set(cell, 0, 0.5f);
            set(cell, 1, 0.5f);
            set(cell, 4, 0.1f);
            set(cell, 5, 0.5f);
            set(cell, 6, 0.5f);
        }
        const int cell = 1 * 2 + 0;
        set(cell, 0, 0.5f);
        set(cell, 1, 0.25f);
        set(cell, 2, std::log(2.0f));
        set(cell, 3, 0.0f);
        set(cell, 4, 0.8f);
        set(cell, 5, 0.25f);
        set(cell, 6, 0.75f);
    }
    void set(int cell, int entry, float v) { out[entry * 4 + cell] = v; }
};

TEST(DetectRegion, DecodesAndThresholdsByHand) {
    Tiny t;
    // Plain resize: relative boxes are already relative to the 200x100 image.
    const LetterboxGeometry g = make_letterbox_geometry(200, 100, 64, 64, ResizeMode::Resize);
    RegionCandidates c;
    decode_region_candidates(t.out.data(), t.p, g, 0.3f, c);
    ASSERT_EQ(c.boxes.size(), 4u);
    const RelBox& b = c.boxes[2];
    EXPECT_FLOAT_EQ(b.x, 0.25f);   // (col 0 + 0.5) / 2
    EXPECT_FLOAT_EQ(b.y, 0.625f);  // (row 1 + 0.25) / 2
    EXPECT_FLOAT_EQ(b.w, 1.0f);    // e^ln2 * 1 / 2
    EXPECT_FLOAT_EQ(b.h, 0.5f);
    EXPECT_FLOAT_EQ(c.objectness[2], 0.8f);
    EXPECT_EQ(c.objectness[0], 0.0f);  // 0.1 is not above 0.3
    EXPECT_EQ(c.prob(0, 1), 0.0f);     // no objectness -> no class probabilities
    EXPECT_EQ(c.prob(2, 0), 0.0f);     // 0.8 * 0.25 = 0.2 is not above 0.3
    EXPECT_FLOAT_EQ(c.prob(2, 1), 0.6f);
    ASSERT_EQ(c.order, std::vector<int>{2});

    const std::vector<Detection> d = decode_region(t.out.data(), t.p, g, 0.3f, 0.45f, {"cat", "dog"});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].class_id, 1);
    EXPECT_EQ(d[0].name, "dog");
    EXPECT_FLOAT_EQ(d[0].score, 0.6f);
    EXPECT_FLOAT_EQ(d[0].objectness, 0.8f);
    EXPECT_FLOAT_EQ(d[0].box.x1, 0.0f);  // (0.25 - 0.5) * 200 = -50, clamped
    EXPECT_FLOAT_EQ(d[0].box.x2, 150.0f);
    EXPECT_FLOAT_EQ(d[0].box.y1, 37.5f);
    EXPECT_FLOAT_EQ(d[0].box.y2, 87.5f);

    // Without names the class id is the name; a lower threshold lets class 0 through too.
    const std::vector<Detection> d2 = decode_region(t.out.data(), t.p, g, 0.15f, 0.45f);
    ASSERT_EQ(d2.size(), 2u);
    EXPECT_EQ(d2[0].name, "0");
    EXPECT_EQ(d2[1].name, "1");
}

TEST(DetectRegion, ThresholdsAreStrict) {
    Tiny t;
    t.set(2, 4, 0.5f);
    t.set(2, 6, 1.0f);
    const LetterboxGeometry g = make_letterbox_geometry(200, 100, 64, 64, ResizeMode::Resize);
    // objectness 0.5 is not > 0.5
    EXPECT_TRUE(decode_region(t.out.data(), t.p, g, 0.5f, 0.45f).empty());
    // objectness 0.5 > 0.4, but 0.5 * 1.0 = 0.5 is the only class above 0.4
    const auto d = decode_region(t.out.data(), t.p, g, 0.4f, 0.45f);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_FLOAT_EQ(d[0].score, 0.5f);
}

TEST(DetectRegion, LetterboxCorrection640x480At416) {
    // 13x13 grid, one anchor of 3.25 cells (= 0.25 of the input). 640x480 letterboxed into 416:
    // resized to 416x312 at y offset 52.
    RegionDecodeParams p;
    p.grid_w = p.grid_h = 13;
    p.num = 1;
    p.classes = 1;
    p.anchors = {3.25f, 3.25f};
    const int wh = 169;
    std::vector<float> out(6 * wh, 0.0f);
    auto set = [&](int row, int col, int e, float v) { out[e * wh + row * 13 + col] = v; };
    // Centre of the input: cell (6,6) at offset 0.5 -> (0.5, 0.5).
    set(6, 6, 0, 0.5f);
    set(6, 6, 1, 0.5f);
    set(6, 6, 4, 0.9f);
    set(6, 6, 5, 1.0f);
    // Top edge of the picture area: y = 52/416 = 0.125 -> cell row 1 at offset 0.625.
    set(1, 2, 0, 0.5f);
    set(1, 2, 1, 0.625f);
    set(1, 2, 2, std::log(0.4f));
    set(1, 2, 3, std::log(0.4f));
    set(1, 2, 4, 0.7f);
    set(1, 2, 5, 1.0f);
    const LetterboxGeometry g = make_letterbox_geometry(640, 480, 416, 416, ResizeMode::Letterbox);
    RegionCandidates c;
    decode_region_candidates(out.data(), p, g, 0.5f, c);
    const RelBox& m = c.boxes[6 * 13 + 6];
    EXPECT_NEAR(m.x, 0.5f, 1e-6f);
    EXPECT_NEAR(m.y, 0.5f, 1e-6f);  // (0.5 - 0.125) / 0.75
    EXPECT_NEAR(m.w, 0.25f, 1e-6f);
    EXPECT_NEAR(m.h, 0.25f * 416 / 312, 1e-6f);
    const RelBox& top = c.boxes[1 * 13 + 2];
    EXPECT_NEAR(top.x, 2.5f / 13, 1e-6f);
    EXPECT_NEAR(top.y, 0.0f, 1e-6f);
    EXPECT_NEAR(top.h, 0.1f * 416 / 312, 1e-6f);

    const auto d = decode_region(out.data(), p, g, 0.5f, 0.45f);
    ASSERT_EQ(d.size(), 2u);
    // Reported in darknet's order: by probability (0.9 first).
    EXPECT_FLOAT_EQ(d[0].score, 0.9f);
    EXPECT_NEAR(d[0].box.x1, 240.0f, 1e-3f);  // (0.5 - 0.125) * 640
    EXPECT_NEAR(d[0].box.x2, 400.0f, 1e-3f);
    EXPECT_NEAR(d[0].box.y1, 160.0f, 1e-3f);  // (0.5 - 1/6) * 480
    EXPECT_NEAR(d[0].box.y2, 320.0f, 1e-3f);
    EXPECT_FLOAT_EQ(d[1].score, 0.7f);
    EXPECT_FLOAT_EQ(d[1].box.y1, 0.0f);  // centred on the top edge: clamped
    EXPECT_NEAR(d[1].box.y2, 0.1f * 416 / 312 / 2 * 480, 1e-3f);

    // The same network output read as a plain resize: no correction.
    const auto r = decode_region(out.data(), p, make_letterbox_geometry(640, 480, 416, 416, ResizeMode::Resize),
                                 0.5f, 0.45f);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_NEAR(r[0].box.y1, (0.5f - 0.125f) * 480, 1e-3f);
    EXPECT_NEAR(r[0].box.y2, (0.5f + 0.125f) * 480, 1e-3f);
}

// Candidates built by hand: index i has box boxes[i] and the given class probabilities.
RegionCandidates make_candidates(const std::vector<RelBox>& boxes, const std::vector<std::vector<float>>& probs) {
    RegionCandidates c;
    c.classes = static_cast<int>(probs[0].size());
    c.boxes = boxes;
    for (std::size_t i = 0; i < boxes.size(); ++i) {
        float obj = 0;
        for (float p : probs[i]) {
            c.probs.push_back(p);
            obj = std::max(obj, p);
        }
        c.objectness.push_back(obj > 0 ? 0.95f : 0.0f);
        if (obj > 0) c.order.push_back(static_cast<int>(i));
    }
    return c;
}

TEST(DetectRegion, NmsSuppressesGreedilyPerClass) {
    // A (0.9) overlaps B (0.8) with IoU 0.6; B overlaps C (0.7) with IoU 0.6, but A and C only
    // 1/3 < 0.45. Greedy NMS drops B; C survives because B was already suppressed.
    // The second A is another class: untouched.
    const RelBox A{0.40f, 0.5f, 0.2f, 0.2f}, B{0.45f, 0.5f, 0.2f, 0.2f}, Cf{0.5f, 0.5f, 0.2f, 0.2f};
    ASSERT_NEAR(box_iou(A, B), 0.6f, 1e-5f);
    ASSERT_NEAR(box_iou(B, Cf), 0.6f, 1e-5f);
    ASSERT_NEAR(box_iou(A, Cf), 1.0f / 3, 1e-5f);
    RegionCandidates c = make_candidates({Cf, B, A, A}, {{0.7f, 0}, {0.8f, 0}, {0.9f, 0}, {0, 0.6f}});
    nms_sort(c, 0.45f);
    EXPECT_FLOAT_EQ(c.prob(2, 0), 0.9f);  // A kept
    EXPECT_EQ(c.prob(1, 0), 0.0f);        // B suppressed by A
    EXPECT_FLOAT_EQ(c.prob(0, 0), 0.7f);  // C kept: only B overlaps it
    EXPECT_FLOAT_EQ(c.prob(3, 1), 0.6f);  // other class untouched

    // darknet's final order is that of the last class's sort: class 1 first, then by class 0.
    ASSERT_EQ(c.order, (std::vector<int>{3, 2, 1, 0}));
    const auto d = report_detections(c, 0.5f, 100, 100, {"a", "b"});
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(to_console(d), "b: 60%\na: 90%\na: 70%\n");

    // Disabled NMS keeps everything in index order.
    RegionCandidates off = make_candidates({Cf, B, A, A}, {{0.7f, 0}, {0.8f, 0}, {0.9f, 0}, {0, 0.6f}});
    nms_sort(off, 0.0f);
    EXPECT_FLOAT_EQ(off.prob(1, 0), 0.8f);
    EXPECT_EQ(report_detections(off, 0.5f, 100, 100).size(), 4u);
    EXPECT_EQ(off.order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(DetectRegion, NmsThresholdIsStrict) {
    // IoU exactly 1/3 (in float) against a threshold just above and just below it.
    const RelBox a{0.5f, 0.5f, 0.2f, 0.2f}, b{0.6f, 0.5f, 0.2f, 0.2f};
    const float iou = box_iou(a, b);
    RegionCandidates keep = make_candidates({a, b}, {{0.9f}, {0.8f}});
    nms_sort(keep, iou);  // not > iou
    EXPECT_FLOAT_EQ(keep.prob(1, 0), 0.8f);
    RegionCandidates drop = make_candidates({a, b}, {{0.9f}, {0.8f}});
    nms_sort(drop, std::nextafter(iou, 0.0f));
    EXPECT_EQ(drop.prob(1, 0), 0.0f);
}

TEST(DetectRegion, ZeroObjectnessEntriesDoNotTakePart) {
    // Index 0 has no objectness (all zero), index 1 and 2 tie exactly on the only class:
    // darknet's swap moves index 2 to the front, so index 2 is kept and index 1 suppressed.
    const RelBox a{0.5f, 0.5f, 0.2f, 0.2f}, b{0.51f, 0.5f, 0.2f, 0.2f};
    RegionCandidates c = make_candidates({a, a, b}, {{0.0f}, {0.8f}, {0.8f}});
    nms_sort(c, 0.45f);
    EXPECT_EQ(c.prob(1, 0), 0.0f);
    EXPECT_FLOAT_EQ(c.prob(2, 0), 0.8f);
    EXPECT_EQ(c.order, (std::vector<int>{2, 1}));
}

TEST(DetectRegion, RejectsBadParams) {
    Tiny t;
    const LetterboxGeometry g = make_letterbox_geometry(10, 10, 64, 64, ResizeMode::Letterbox);
    RegionDecodeParams p = t.p;
    p.anchors = {1.0f};
    EXPECT_THROW(decode_region(t.out.data(), p, g, 0.5f, 0.45f), Error);
    p = t.p;
    p.classes = 0;
    EXPECT_THROW(decode_region(t.out.data(), p, g, 0.5f, 0.45f), Error);
}

}  // namespace
