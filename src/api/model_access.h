// Library-internal access to a public Model: the Network inside it, and Models that view a
// Network some other owner keeps (a trainer evaluating its own weights).
#pragma once

#include <memory>
#include <optional>

#include "network/network.h"
#include "yolo9k/model.h"

namespace yolo9k {

struct Model::Impl {
    std::optional<Network> owned;  // empty when the network is borrowed
    Network* net = nullptr;
};

struct ModelAccess {
    static Network& network(const Model& m) { return *m.impl_->net; }
    static std::shared_ptr<Model::Impl> share(const Model& m) { return m.impl_; }
    // A Model over `net`, which must outlive it and everything built on it.
    static Model view(Network& net) {
        auto impl = std::make_shared<Model::Impl>();
        impl->net = &net;
        return Model(std::move(impl));
    }
};

}  // namespace yolo9k
