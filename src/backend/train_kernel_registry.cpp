// The (backend, layer type) -> TrainKernelFactory table that fast training kernels
// register into from static initialisers (hence the function-local map).
#include <map>
#include <utility>

#include "backend/train_executor.h"

namespace yolo9k {
namespace {
std::map<std::pair<std::string, std::string>, TrainKernelFactory>& train_kernels() {
    static std::map<std::pair<std::string, std::string>, TrainKernelFactory> r;
    return r;
}
}  // namespace

void register_train_kernel(const std::string& backend, const std::string& layer_type, TrainKernelFactory f) {
    train_kernels()[{backend, layer_type}] = std::move(f);
}

const TrainKernelFactory* find_train_kernel(const std::string& backend, const std::string& layer_type) {
    auto it = train_kernels().find({backend, layer_type});
    return it == train_kernels().end() ? nullptr : &it->second;
}

}  // namespace yolo9k
