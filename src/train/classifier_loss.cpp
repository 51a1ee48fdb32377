#include "train/classifier_loss.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "layer/cost.h"
#include "layer/softmax.h"

namespace yolo9k {

ClassifierLossSpec classifier_loss_spec(const Network& net) {
    const int head = net.output_layer();
    const auto* softmax = dynamic_cast<const SoftmaxLayer*>(&net.layer(head));
    if (!softmax)
        throw Error(net.cfg_path() + ": a classifier must end in [softmax] (+ [cost]); the output layer is [" +
                    std::string(net.layer(head).type()) + "]");
    if (softmax->tree) throw Error(net.cfg_path() + ": [softmax] tree=: WordTree training is not supported");
    if (softmax->groups != 1 || softmax->temperature != 1)
        throw Error(net.cfg_path() + ": [softmax] groups/temperature other than 1 cannot be trained as a classifier");
    ClassifierLossSpec spec;
    spec.classes = int(net.layer(head).output_shape().size());
    for (int i = head + 1; i < net.size(); ++i) {
        const auto* cost = dynamic_cast<const CostLayer*>(&net.layer(i));
        if (!cost) continue;
        if (cost->cost_type != "sse")
            throw Error(net.cfg_path() + ": [cost] type=" + cost->cost_type +
                        ": only type=sse (darknet's default) is supported for classifier training");
        spec.has_cost = true;
        spec.cost_scale = cost->scale;
    }
    return spec;
}

ClassifierLossStats classifier_loss(const ClassifierLossSpec& spec, const float* probs, const std::vector<int>& labels,
                                    float* grad) {
    ClassifierLossStats st;
    const int n = spec.classes;
    const float factor = spec.has_cost ? 1 + spec.cost_scale : 1;
    for (size_t b = 0; b < labels.size(); ++b) {
        const float* p = probs + b * n;
        float* g = grad + b * n;
        const int label = labels[b];
        if (label < 0 || label >= n) throw Error("classifier loss: label " + std::to_string(label) + " out of range");
        double xent = 0, sse = 0;
        for (int i = 0; i < n; ++i) {
            const float t = i == label ? 1.f : 0.f;
            g[i] = factor * (p[i] - t);
            sse += double(t - p[i]) * (t - p[i]);
        }
        xent = -std::log(std::max(p[label], 1e-30f));
        st.cross_entropy += xent;
        st.loss += spec.has_cost ? (xent + sse) / 2 : xent;
        if (std::max_element(p, p + n) - p == label) ++st.top1_correct;
    }
    return st;
}

}  // namespace yolo9k
