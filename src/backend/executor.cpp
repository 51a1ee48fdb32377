#include "backend/executor.h"

#include <map>
#include <thread>

#include "core/error.h"

namespace yolo9k {
namespace {
std::map<std::string, BackendFactory>& registry() {
    static std::map<std::string, BackendFactory> r;
    return r;
}
}  // namespace

void register_backend(const std::string& name, BackendFactory factory) { registry()[name] = std::move(factory); }

std::vector<std::string> backends() {
    std::vector<std::string> names;
    for (const auto& [n, _] : registry()) names.push_back(n);
    return names;
}

std::unique_ptr<Executor> make_executor(const Network& net, const std::string& backend, const ExecutorOptions& options) {
    auto it = registry().find(backend);
    if (it == registry().end()) {
        std::string known;
        for (const auto& n : backends()) known += (known.empty() ? "" : ", ") + n;
        throw Error("unknown backend '" + backend + "'; expected one of " + known);
    }
    if (options.batch < 1) throw Error("batch must be at least 1, got " + std::to_string(options.batch));
    return it->second(net, options);
}

void Executor::forward_timed(const float*, std::vector<double>&) {
    throw Error("the " + backend() + " backend cannot time layers one by one");
}

int default_thread_count() {
    unsigned n = std::thread::hardware_concurrency();
    return n ? int(n) : 1;
}

}  // namespace yolo9k
