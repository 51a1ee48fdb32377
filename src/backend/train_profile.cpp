#include "backend/train_profile.h"

#include "backend/train_executor.h"
#include "core/error.h"

namespace yolo9k {

const char* train_phase_name(TrainPhase phase) {
    switch (phase) {
        case TrainPhase::conv_forward: return "conv fwd";
        case TrainPhase::bn_activation_forward: return "bn+act fwd";
        case TrainPhase::other_forward: return "other fwd";
        case TrainPhase::bn_activation_backward: return "bn+act bwd";
        case TrainPhase::backward_weights: return "bwd weights";
        case TrainPhase::backward_data: return "bwd data";
        case TrainPhase::other_backward: return "other bwd";
        case TrainPhase::count: break;
    }
    return "?";
}

void TrainExecutor::set_profile(TrainProfile*) {
    throw Error("the " + backend() + " backend cannot time training layer by layer");
}

}  // namespace yolo9k
