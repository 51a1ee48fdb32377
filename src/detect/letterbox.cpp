#include "detect/letterbox.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace yolo9k {

namespace {

// darknet converts bytes with `b / 255.` in double and stores a float; a table keeps that
// exact rounding without a division per sample.
const std::array<float, 256>& unit_table() {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (int i = 0; i < 256; ++i) t[i] = static_cast<float>(i / 255.0);
        return t;
    }();
    return table;
}

// One output sample = w0 * in[i0] + w1 * in[i1].
struct Tap {
    int i0 = 0, i1 = 0;
    float w0 = 1, w1 = 0;
};

// darknet's sampling positions: scale = (in-1)/(out-1) in float, position = out_index*scale in
// float, truncated. The last output column is the edge pixel; the last output row keeps only its
// (1-dy) term (darknet skips the second term there, which darkens that row when the float
// position lands just below the edge). We treat an output size of 1 as "take the edge", where
// darknet divides by zero.
std::vector<Tap> make_taps(int in, int out, bool vertical) {
    std::vector<Tap> taps(out);
    const float scale = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
    for (int o = 0; o < out; ++o) {
        Tap& t = taps[o];
        if (out == 1 || in == 1 || (!vertical && o == out - 1)) {
            t.i0 = t.i1 = in - 1;
            t.w0 = 1;
            t.w1 = 0;
            continue;
        }
        const float s = static_cast<float>(o) * scale;
        int i = static_cast<int>(s);
        const float d = s - static_cast<float>(i);
        i = std::min(i, in - 1);
        t.i0 = i;
        t.w0 = 1 - d;
        if (vertical && o == out - 1) {
            t.i1 = i;
            t.w1 = 0;
        } else {
            t.i1 = std::min(i + 1, in - 1);
            t.w1 = d;
        }
    }
    return taps;
}

cv::Mat as_bgr8(const cv::Mat& image) {
    if (image.empty() || image.cols < 1 || image.rows < 1) throw Error("cannot prepare an empty image");
    if (image.depth() != CV_8U)
        throw Error("unsupported image pixel type (expected 8-bit gray, BGR or BGRA, got depth " +
                    std::to_string(image.depth()) + ")");
    cv::Mat bgr;
    switch (image.channels()) {
        case 3: return image;
        case 1: cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR); return bgr;
        case 4: cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR); return bgr;
        default:
            throw Error("unsupported image with " + std::to_string(image.channels()) +
                        " channels (expected 1, 3 or 4)");
    }
}

// Horizontal pass over one BGR source row into three planar RGB rows.
void resize_row(const std::uint8_t* row, const std::vector<Tap>& taps, const float* lut, float* r,
                float* g, float* b) {
    const int n = static_cast<int>(taps.size());
    for (int c = 0; c < n; ++c) {
        const Tap t = taps[c];
        const std::uint8_t* p0 = row + 3 * t.i0;
        const std::uint8_t* p1 = row + 3 * t.i1;
        r[c] = t.w0 * lut[p0[2]] + t.w1 * lut[p1[2]];
        g[c] = t.w0 * lut[p0[1]] + t.w1 * lut[p1[1]];
        b[c] = t.w0 * lut[p0[0]] + t.w1 * lut[p1[0]];
    }
}

}  // namespace

LetterboxGeometry make_letterbox_geometry(int img_w, int img_h, int net_w, int net_h, ResizeMode mode) {
    if (img_w < 1 || img_h < 1)
        throw Error("image size " + std::to_string(img_w) + "x" + std::to_string(img_h) + " is empty");
    if (net_w < 1 || net_h < 1)
        throw Error("network input size " + std::to_string(net_w) + "x" + std::to_string(net_h) +
                    " is empty");
    LetterboxGeometry g;
    g.net_w = net_w;
    g.net_h = net_h;
    g.img_w = img_w;
    g.img_h = img_h;
    g.mode = mode;
    if (mode == ResizeMode::Resize) {
        g.new_w = net_w;
        g.new_h = net_h;
    } else if (static_cast<float>(net_w) / img_w < static_cast<float>(net_h) / img_h) {
        g.new_w = net_w;
        g.new_h = static_cast<int>(static_cast<std::int64_t>(img_h) * net_w / img_w);
    } else {
        g.new_h = net_h;
        g.new_w = static_cast<int>(static_cast<std::int64_t>(img_w) * net_h / img_h);
    }
    g.new_w = std::max(1, g.new_w);
    g.new_h = std::max(1, g.new_h);
    return g;
}

void darknet_resize_into(const cv::Mat& image, int out_w, int out_h, float* dst, int dst_stride,
                         int plane_stride) {
    if (out_w < 1 || out_h < 1)
        throw Error("resize target " + std::to_string(out_w) + "x" + std::to_string(out_h) + " is empty");
    const cv::Mat src = as_bgr8(image);
    const float* lut = unit_table().data();
    const std::vector<Tap> htaps = make_taps(src.cols, out_w, false);
    const std::vector<Tap> vtaps = make_taps(src.rows, out_h, true);

    // Two horizontally resized source rows are enough: output rows walk the source downwards.
    std::vector<float> rows(static_cast<std::size_t>(6) * out_w);
    int cached[2] = {-1, -1};
    auto fetch = [&](int y, int keep) -> const float* {
        for (int s = 0; s < 2; ++s)
            if (cached[s] == y) return rows.data() + static_cast<std::size_t>(s) * 3 * out_w;
        const int s = cached[0] != keep ? 0 : 1;
        float* r = rows.data() + static_cast<std::size_t>(s) * 3 * out_w;
        resize_row(src.ptr<std::uint8_t>(y), htaps, lut, r, r + out_w, r + 2 * out_w);
        cached[s] = y;
        return r;
    };

    for (int y = 0; y < out_h; ++y) {
        const Tap t = vtaps[y];
        const float* top = fetch(t.i0, t.i1);
        const float* bot = t.w1 != 0 ? fetch(t.i1, t.i0) : top;
        for (int k = 0; k < 3; ++k) {
            const float* a = top + k * out_w;
            const float* b = bot + k * out_w;
            float* o = dst + static_cast<std::size_t>(k) * plane_stride + static_cast<std::size_t>(y) * dst_stride;
            if (t.w1 != 0) {
                for (int c = 0; c < out_w; ++c) o[c] = t.w0 * a[c] + t.w1 * b[c];
            } else {
                for (int c = 0; c < out_w; ++c) o[c] = t.w0 * a[c];
            }
        }
    }
}

LetterboxGeometry prepare_network_input(const cv::Mat& image, int net_w, int net_h, ResizeMode mode,
                                        float* dst) {
    if (image.empty()) throw Error("cannot prepare an empty image");
    const LetterboxGeometry g = make_letterbox_geometry(image.cols, image.rows, net_w, net_h, mode);
    const int plane = net_w * net_h;
    const int ox = g.offset_x(), oy = g.offset_y();

    // Grey border only where the resized image does not land.
    if (g.new_w != net_w || g.new_h != net_h) {
        for (int k = 0; k < 3; ++k) {
            float* p = dst + static_cast<std::size_t>(k) * plane;
            std::fill(p, p + static_cast<std::size_t>(oy) * net_w, 0.5f);
            std::fill(p + static_cast<std::size_t>(oy + g.new_h) * net_w, p + plane, 0.5f);
            for (int y = oy; y < oy + g.new_h; ++y) {
                float* row = p + static_cast<std::size_t>(y) * net_w;
                std::fill(row, row + ox, 0.5f);
                std::fill(row + ox + g.new_w, row + net_w, 0.5f);
            }
        }
    }
    darknet_resize_into(image, g.new_w, g.new_h, dst + static_cast<std::size_t>(oy) * net_w + ox, net_w,
                        plane);
    return g;
}

}  // namespace yolo9k
