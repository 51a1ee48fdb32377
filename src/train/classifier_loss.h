// The loss darknet trains its classifiers with: a [softmax] layer followed by a [cost]
// layer (darknet19.cfg, darknet19_448.cfg, tiny.cfg).
//
// Darknet's deltas are negative gradients. With one-hot truth t and softmax output p:
//   - the softmax layer, given a truth, sets its delta to t - p (softmax_x_ent: the
//     gradient of the cross-entropy -log p_true with respect to the softmax *input*);
//   - the [cost] layer (type sse) computes (t - p)^2 on the softmax output and its backward
//     ADDS scale * (t - p) to the softmax layer's delta - with no softmax Jacobian;
//   - the softmax backward then copies its delta unchanged to the layer below.
// So the gradient reaching the logits is (1 + scale) (p - t): 2 (p - t) for the shipped
// cfgs. We replicate that exactly (the oracle test checks one training step's weight
// update against libdarknet). Without a [cost] layer it is the plain p - t.
// The loss printed is darknet's: the mean of the two layers' costs (cross-entropy sum and
// squared-error sum), per image.
#pragma once

#include <vector>

#include "network/network.h"

namespace yolo9k {

struct ClassifierLossSpec {
    int classes = 0;
    bool has_cost = false;  // a [cost] layer follows the softmax
    float cost_scale = 1;
};

// Checks the network ends in [softmax] (optionally + [cost] type=sse) and describes it.
// Throws Error naming the cfg otherwise.
ClassifierLossSpec classifier_loss_spec(const Network& net);

struct ClassifierLossStats {
    double loss = 0;           // sum over the batch of darknet's per-image cost
    double cross_entropy = 0;  // sum of -log p_true
    int top1_correct = 0;
};

// probs: batch x classes softmax outputs; grad (batch x classes) receives dLoss/d(logits).
ClassifierLossStats classifier_loss(const ClassifierLossSpec& spec, const float* probs, const std::vector<int>& labels,
                                    float* grad);

}  // namespace yolo9k
