#include "layer/region.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace yolo9k {

void RegionLayer::reshape(const std::vector<Shape>& inputs) {
    inputs_ = inputs;
    const Shape in = inputs.at(0);
    if (in.c != num * entries())
        fail("the input has " + std::to_string(in.c) + " channels, but num*(coords+1+classes) = " + std::to_string(num) +
             "*(" + std::to_string(coords) + "+1+" + std::to_string(classes) + ") = " + std::to_string(num * entries()) +
             ": set filters=" + std::to_string(num * entries()) + " in the [convolutional] before this [region]");
    output_ = in;
}

std::string RegionLayer::describe() const { return "detection"; }

void RegionLayer::activate_in_place(float* data, int batch) const {
    const int cells = output_.h * output_.w;
    auto logistic = [](float* x, int n) {
        for (int i = 0; i < n; ++i) x[i] = 1.f / (1.f + std::exp(-x[i]));
    };
    for (int b = 0; b < batch; ++b)
        for (int n = 0; n < num; ++n) {
            float* a = data + (size_t(b) * num + n) * entries() * cells;
            logistic(a, 2 * cells);                // x, y
            logistic(a + coords * cells, cells);   // objectness
            float* cls = a + (coords + 1) * cells;
            if (tree) {  // takes precedence over softmax=1, as in darknet
                tree_softmax_lanes(*tree, cls, cls, cells);
                continue;
            }
            if (!softmax) {
                logistic(cls, classes * cells);
                continue;
            }
            for (int g = 0; g < cells; ++g) {      // softmax over classes, stride = cells
                float largest = -INFINITY;
                for (int k = 0; k < classes; ++k) largest = std::max(largest, cls[k * cells + g]);
                float sum = 0;
                for (int k = 0; k < classes; ++k) {
                    const float e = std::exp(cls[k * cells + g] - largest);
                    sum += e;
                    cls[k * cells + g] = e;
                }
                for (int k = 0; k < classes; ++k) cls[k * cells + g] /= sum;
            }
        }
}

void RegionLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    std::memcpy(output, inputs[0], size_t(batch) * output_.size() * sizeof(float));
    activate_in_place(output, batch);
}

void RegionLayer::backward_reference(std::span<const float* const>, const float* output,
                                  const float* output_grad, const float*, std::span<float* const> input_grads, float*,
                                  int batch) {
    if (input_grads.empty() || !input_grads[0]) return;
    const size_t cells = size_t(output_.h) * output_.w;
    auto logistic = [](const float* y, const float* g, float* dx, size_t n) {
        for (size_t i = 0; i < n; ++i) dx[i] += g[i] * y[i] * (1.f - y[i]);
    };
    auto identity = [](const float* g, float* dx, size_t n) {
        for (size_t i = 0; i < n; ++i) dx[i] += g[i];
    };
    for (size_t a = 0; a < size_t(batch) * num; ++a) {  // a: (image, anchor)
        const size_t base = a * entries() * cells;
        const float* y = output + base;
        const float* g = output_grad + base;
        float* dx = input_grads[0] + base;
        logistic(y, g, dx, 2 * cells);                                           // x, y
        identity(g + 2 * cells, dx + 2 * cells, size_t(coords - 2) * cells);      // w, h
        logistic(y + coords * cells, g + coords * cells, dx + coords * cells, cells);  // objectness
        const size_t cls = (coords + 1) * cells;
        if (tree) {
            tree_softmax_backward_lanes(*tree, y + cls, g + cls, dx + cls, int(cells));
            continue;
        }
        if (!softmax) {
            logistic(y + cls, g + cls, dx + cls, classes * cells);
            continue;
        }
        for (size_t cell = 0; cell < cells; ++cell) {  // classes of one cell: stride `cells`
            double dot = 0;
            for (int k = 0; k < classes; ++k) dot += double(g[cls + k * cells + cell]) * y[cls + k * cells + cell];
            for (int k = 0; k < classes; ++k) {
                const size_t i = cls + k * cells + cell;
                dx[i] += float(y[i] * (g[i] - dot));
            }
        }
    }
}

namespace {
const LayerRegistrar registrar("region", [](const SectionReader& r, const LayerBuildContext&) {
    auto l = std::make_unique<RegionLayer>();
    l->classes = r.get_int_in("classes", 20, 1, 1 << 20);
    l->coords = r.get_int_in("coords", 4, 4, 4);
    l->num = r.get_int_in("num", 1, 1, 1024);
    l->anchors = r.get_floats("anchors");
    if (l->anchors.empty()) l->anchors.assign(2 * l->num, .5f);  // darknet's default prior
    if (int(l->anchors.size()) != 2 * l->num)
        r.fail("anchors", "expected " + std::to_string(2 * l->num) + " numbers (w,h for each of num=" +
                              std::to_string(l->num) + " anchors), got " + std::to_string(l->anchors.size()));
    for (float a : l->anchors)
        if (!(a > 0)) r.fail("anchors", "anchor sizes must be positive");
    l->softmax = r.get_bool("softmax", false);
    l->tree_file = r.get_string("tree", "");
    l->map_file = r.get_string("map", "");
    l->tree = parse_word_tree_key(r);
    if (l->tree) {
        if (l->tree->size() != l->classes)
            r.fail("classes", "classes=" + std::to_string(l->classes) + " but the tree " + l->tree->source + " has " +
                                  std::to_string(l->tree->size()) + " nodes; with tree= there is one class per node");
        // map= is read with a tree only (darknet uses it to map training labels onto nodes).
        if (!l->map_file.empty()) {
            try {
                l->class_map = load_class_map(resolve_cfg_relative_path(l->map_file, r.file().path), *l->tree);
            } catch (const Error& e) {
                r.fail("map", e.what());
            }
        }
    }
    l->bias_match = r.get_bool("bias_match", false);
    l->rescore = r.get_bool("rescore", false);
    l->absolute = r.get_bool("absolute", false);
    l->random = r.get_bool("random", false);
    l->jitter = r.get_float_in("jitter", .2f, 0.f, 1.f);
    l->thresh = r.get_float_in("thresh", .5f, 0.f, 1.f);
    l->object_scale = r.get_float_in("object_scale", 1, 0.f, 1e6f);
    l->noobject_scale = r.get_float_in("noobject_scale", 1, 0.f, 1e6f);
    l->class_scale = r.get_float_in("class_scale", 1, 0.f, 1e6f);
    l->coord_scale = r.get_float_in("coord_scale", 1, 0.f, 1e6f);
    return l;
});
}  // namespace

}  // namespace yolo9k
