// Which activations an int8 network stores in 8 bits, and at what scale.
//
// A convolution quantizes whatever it reads and may write s8. maxpool, reorg and route only
// move values, so they write what they read, at its scale. A layer writes s8 only when every
// reader takes s8: a convolution, or a mover that itself writes s8. Everything else (heads,
// avgpool, layers on the shared host path) reads f32, and so do the layers feeding them.
// A route concatenates its inputs' bytes, so all of them, and the movers before them, share
// one scale: the widest of their calibrated ranges.
#include <algorithm>
#include <numeric>
#include <string_view>

#include "backend/onednn/kernel.h"
#include "core/error.h"
#include "layer/convolutional.h"
#include "network/network.h"

namespace yolo9k::onednn {
namespace {

bool moves_values(std::string_view type) { return type == "maxpool" || type == "reorg" || type == "route"; }

bool may_write_s8(const Layer& layer) {
    if (moves_values(layer.type())) return true;
    const auto* conv = dynamic_cast<const ConvolutionalLayer*>(&layer);
    // logistic does not commute with the output scale oneDNN applies before it
    return conv && conv->activation != Activation::logistic;
}

int find_root(std::vector<int>& parent, int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

}  // namespace

std::vector<float> int8_output_ranges(const Network& net, const ActivationRanges& ranges) {
    const int n = net.size();
    if (int(ranges.layers.size()) != n)
        throw Error("internal: " + std::to_string(ranges.layers.size()) + " activation ranges for a network of " +
                    std::to_string(n) + " layers");
    std::vector<std::vector<int>> readers(n);
    for (int i = 0; i < n; ++i)
        for (int s : net.layer(i).sources())
            if (s >= 0) readers[s].push_back(i);

    std::vector<bool> s8(n);
    for (int i = 0; i < n; ++i) s8[i] = i != net.output_layer() && may_write_s8(net.layer(i));
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = 0; i < n; ++i) {
            if (!s8[i]) continue;
            bool ok = true;
            if (moves_values(net.layer(i).type()))
                for (int s : net.layer(i).sources()) ok = ok && s >= 0 && s8[s];
            for (int r : readers[i]) {
                const std::string_view t = net.layer(r).type();
                ok = ok && (t == "convolutional" || (moves_values(t) && s8[r]));
            }
            if (!ok) {
                s8[i] = false;
                changed = true;
            }
        }
    }

    std::vector<int> parent(n);
    std::iota(parent.begin(), parent.end(), 0);
    for (int i = 0; i < n; ++i)
        if (s8[i] && moves_values(net.layer(i).type()))
            for (int s : net.layer(i).sources()) parent[find_root(parent, s)] = find_root(parent, i);
    std::vector<float> widest(n, 0.f);
    for (int i = 0; i < n; ++i)
        if (s8[i]) {
            float& w = widest[find_root(parent, i)];
            w = std::max(w, ranges.layers[i].absmax());
        }
    std::vector<float> out(n, 0.f);
    for (int i = 0; i < n; ++i)
        if (s8[i]) out[i] = std::max(widest[find_root(parent, i)], 1e-6f);
    return out;
}

}  // namespace yolo9k::onednn
