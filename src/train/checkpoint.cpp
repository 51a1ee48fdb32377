#include "train/checkpoint.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <type_traits>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_read.h"
#include "core/json_read.h"

namespace yolo9k {
namespace {

constexpr char kMagic[8] = {'Y', '9', 'K', 'S', 'T', 'A', 'T', 'E'};
constexpr uint32_t kVersion = 1;

nlohmann::json to_json(const TrainState& s) {
    return {{"iteration", s.iteration},
            {"seen", s.seen},
            {"seed", s.seed},
            {"avg_loss", s.avg_loss},
            {"best_map", s.best_map},
            {"history",
             {{"iteration", s.history.iteration},
              {"loss", s.history.loss},
              {"avg_loss", s.history.avg_loss},
              {"map_iteration", s.history.map_iteration},
              {"map", s.history.map},
              {"train_map", s.history.train_map}}}};
}

}  // namespace

void save_checkpoint(const std::string& weights_path, const Network& net, const TrainState& state,
                     Optimizer& optimizer) {
    // Sidecar: magic, version, json length, json, velocity sizes + floats.
    AtomicFile f(weights_path + ".state");
    nlohmann::json j = to_json(state);
    j["velocity_sizes"] = nlohmann::json::array();
    for (const auto& v : optimizer.velocity()) j["velocity_sizes"].push_back(v.size());
    const std::string text = dump_json(j);
    const uint64_t len = text.size();
    f.write(kMagic, sizeof kMagic);
    f.write(&kVersion, 4);
    f.write(&len, 8);
    f.write(text);
    for (const auto& v : optimizer.velocity()) f.write(v.data(), v.size() * sizeof(float));
    f.commit();
    net.save_weights(weights_path);
}

namespace {

// A history the chart and the summary can trust: parallel arrays of one length, iterations
// non-decreasing and within the run, mAPs in [0, 1]. Anything else is a damaged sidecar.
void check_history(const TrainState& s, const std::string& sidecar) {
    const TrainHistory& h = s.history;
    auto bad = [&](const std::string& what) { throw Error(sidecar + ": inconsistent training history: " + what); };
    if (s.iteration < 0) bad("negative iteration " + std::to_string(s.iteration));
    if (h.loss.size() != h.iteration.size() || h.avg_loss.size() != h.iteration.size())
        bad(std::to_string(h.iteration.size()) + " iterations but " + std::to_string(h.loss.size()) + " losses and " +
            std::to_string(h.avg_loss.size()) + " average losses");
    if (h.map.size() != h.map_iteration.size())
        bad(std::to_string(h.map_iteration.size()) + " mAP iterations but " + std::to_string(h.map.size()) + " mAP values");
    auto ascending_within_run = [&](const std::vector<int64_t>& its, const char* name) {
        for (size_t i = 0; i < its.size(); ++i)
            if (its[i] < 0 || its[i] > s.iteration || (i && its[i] < its[i - 1]))
                bad(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(its[i]) +
                    " (expected non-decreasing, 0 to " + std::to_string(s.iteration) + ")");
    };
    ascending_within_run(h.iteration, "iteration");
    ascending_within_run(h.map_iteration, "map_iteration");
    // Losses may be NaN (a diverged step is history too); an mAP is always a fraction.
    for (float m : h.map)
        if (!(m >= 0 && m <= 1)) bad("mAP value " + std::to_string(m) + " outside [0, 1]");
    if (!h.train_map.empty() && h.train_map.size() != h.map.size())
        bad(std::to_string(h.map.size()) + " mAP values but " + std::to_string(h.train_map.size()) + " training-set mAPs");
    for (float m : h.train_map)
        if (!(m == -1 || (m >= 0 && m <= 1))) bad("training-set mAP " + std::to_string(m) + " outside [0, 1] (or -1)");
}

}  // namespace

TrainState load_checkpoint(const std::string& weights_path, Network& net, Optimizer& optimizer,
                           int images_per_step, std::string& warning) {
    net.load_weights(weights_path);
    TrainState s;
    s.seen = net.header().seen;
    s.iteration = int64_t(s.seen / uint64_t(std::max(1, images_per_step)));
    const std::string sidecar = weights_path + ".state";
    std::error_code ec;
    if (!std::filesystem::exists(sidecar, ec)) {
        warning = sidecar + ": no training state (darknet-written weights?); resuming from the weights alone at iteration " +
                  std::to_string(s.iteration) + " (from seen=" + std::to_string(s.seen) + "), optimizer velocity reset";
        return s;
    }
    check_regular_file(sidecar, "training state file", UINTMAX_MAX);  // its size is checked against the network below
    std::ifstream in(sidecar, std::ios::binary);
    if (!in) throw Error(sidecar + ": cannot open training state file");
    char magic[8];
    uint32_t version = 0;
    uint64_t len = 0;
    in.read(magic, 8);
    in.read(reinterpret_cast<char*>(&version), 4);
    in.read(reinterpret_cast<char*>(&len), 8);
    if (!in || std::memcmp(magic, kMagic, 8) != 0) throw Error(sidecar + ": not a yolo9k training state file");
    if (version != kVersion)
        throw Error(sidecar + ": state version " + std::to_string(version) + ", expected " + std::to_string(kVersion));
    if (len > (64u << 20)) throw Error(sidecar + ": byte 12: implausible header length " + std::to_string(len));
    std::string text(len, '\0');
    in.read(text.data(), std::streamsize(len));
    if (!in) throw Error(sidecar + ": truncated (header of " + std::to_string(len) + " bytes expected at byte 20)");
    std::vector<size_t> sizes;
    const nlohmann::json j = parse_json_file_text(text, sidecar + " (header at byte 20)");
    const std::string where = sidecar + ": byte 20: bad state header: ";
    // Every number checked for its type's range: get<T>() would convert 1e300 to an int64
    // with undefined behaviour. Losses may be NaN (written as null by the JSON writer).
    // `index` < 0: the scalar `key`; else element `index` of the array `key` (named only on error).
    auto convert = [&]<typename T>(const nlohmann::json& v, const char* key, long index, T) -> T {
        if constexpr (std::is_floating_point_v<T>)
            if (v.is_null()) return std::numeric_limits<T>::quiet_NaN();
        if (const std::optional<T> n = json_number<T>(v)) return *n;
        throw Error(where + "\"" + key + "\"" + (index < 0 ? "" : "[" + std::to_string(index) + "]") + " is " +
                    brief_json(v) + ", out of range");
    };
    auto number = [&]<typename T>(const nlohmann::json& obj, const char* key, T type) -> T {
        if (!obj.is_object() || !obj.contains(key)) throw Error(where + "missing \"" + key + "\"");
        return convert(obj.at(key), key, -1, type);
    };
    auto numbers = [&]<typename T>(const nlohmann::json& obj, const char* key, T type) {
        if (!obj.is_object() || !obj.contains(key) || !obj.at(key).is_array())
            throw Error(where + "\"" + key + "\" must be an array");
        const nlohmann::json& a = obj.at(key);
        std::vector<T> out;
        out.reserve(a.size());
        for (size_t i = 0; i < a.size(); ++i)
            out.push_back(convert(a[i], key, long(i), type));
        return out;
    };
    const uint64_t state_seen = number(j, "seen", uint64_t());
    if (state_seen != s.seen) {
        warning = sidecar + ": belongs to seen=" + std::to_string(state_seen) + ", the weights to seen=" +
                  std::to_string(s.seen) + " (interrupted between the two writes); resuming from the weights, velocity reset";
        return s;
    }
    s.iteration = number(j, "iteration", int64_t());
    s.seed = number(j, "seed", uint64_t());
    s.avg_loss = number(j, "avg_loss", float());
    s.best_map = j.contains("best_map") ? number(j, "best_map", float()) : -1.f;
    if (!j.contains("history") || !j.at("history").is_object()) throw Error(where + "missing \"history\"");
    const nlohmann::json& h = j.at("history");
    s.history.iteration = numbers(h, "iteration", int64_t());
    s.history.loss = numbers(h, "loss", float());
    s.history.avg_loss = numbers(h, "avg_loss", float());
    s.history.map_iteration = numbers(h, "map_iteration", int64_t());
    s.history.map = numbers(h, "map", float());
    // Sidecars written before the training-set mAP have none.
    if (h.contains("train_map")) s.history.train_map = numbers(h, "train_map", float());
    sizes = numbers(j, "velocity_sizes", size_t());
    check_history(s, sidecar);
    auto& vel = optimizer.velocity();
    if (sizes.size() != vel.size()) throw Error(sidecar + ": velocity for " + std::to_string(sizes.size()) +
                                                " layers, the network has " + std::to_string(vel.size()));
    for (size_t i = 0; i < vel.size(); ++i) {
        if (sizes[i] != vel[i].size())
            throw Error(sidecar + ": velocity of trainable layer " + std::to_string(i) + " has " + std::to_string(sizes[i]) +
                        " floats, expected " + std::to_string(vel[i].size()));
        in.read(reinterpret_cast<char*>(vel[i].data()), std::streamsize(vel[i].size() * sizeof(float)));
    }
    if (!in) throw Error(sidecar + ": truncated velocity data");
    return s;
}

}  // namespace yolo9k
