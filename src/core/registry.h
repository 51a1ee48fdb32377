// One name -> T table for everything that registers itself: layer types, backends, a
// backend's per-layer kernels. Entries are added by static registrars at load time, so
// a registry is reached through a function-local static (safe during static init).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace yolo9k {

template <typename T>
class Registry {
public:
    // `what` names an entry in errors: "unknown <what> 'x'; expected one of a, b".
    explicit Registry(std::string what) : what_(std::move(what)) {}

    void add(const std::string& name, T value) { entries_.insert_or_assign(name, std::move(value)); }

    const T* find(std::string_view name) const {
        auto it = entries_.find(name);
        return it == entries_.end() ? nullptr : &it->second;
    }

    const T& get(std::string_view name) const {
        if (const T* v = find(name)) return *v;
        std::string known;
        for (const auto& [n, _] : entries_) known += (known.empty() ? "" : ", ") + n;
        throw Error("unknown " + what_ + " '" + std::string(name) + "'; expected one of " + known);
    }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [n, _] : entries_) out.push_back(n);
        return out;
    }

private:
    std::string what_;
    std::map<std::string, T, std::less<>> entries_;
};

}  // namespace yolo9k
