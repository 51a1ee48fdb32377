#include <iostream>
#include <memory>

#include "backend/backend.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "cli/resolve_weights.h"
#include "layer/layer.h"
#include "network/network.h"

namespace yolo9k::cli {
namespace {

// One block per backend users can choose; layer types not listed run on the shared host path.
std::string backends_table() {
    std::string out;
    for (const std::string& name : user_backends()) {
        const Backend& b = find_backend(name);
        std::string precisions, devices, inference, training;
        for (Precision p : b.precisions) precisions += std::string(precisions.empty() ? "" : ", ") + precision_name(p);
        for (const std::string& d : b.devices) devices += (devices.empty() ? "" : ", ") + d;
        for (const std::string& type : registered_layers()) {
            if (b.supports && b.supports(type)) inference += (inference.empty() ? "" : " ") + type;
            if (b.make_train_executor && b.supports_training && b.supports_training(type))
                training += (training.empty() ? "" : " ") + type;
        }
        out += name + ": " + b.summary + "\n  precisions: " + precisions + "; devices: " + devices +
               "\n  own inference kernels: " + (inference.empty() ? "none" : inference) +
               "\n  own training kernels: " + (!b.make_train_executor ? "cannot train" : training.empty() ? "none" : training) +
               "\n";
    }
    return out + "(other layer types run each layer's reference code on the shared host path)\n";
}

}  // namespace

Action add_info_command(CLI::App& app) {
    struct Opts {
        std::string cfg, weights, backend;
        int size = 0;
        bool backends = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = app.add_subcommand("info", "Print a network's layers, output shapes and BFLOPs (like darknet)");
    sub->add_option("--cfg", o->cfg, "darknet .cfg file; with --weights NAME, default: Debian's darknet cfg for it")
        ->check(CLI::ExistingFile);
    sub->add_option("--size", o->size, "input width and height (multiple of 32); default: the cfg's")->check(input_side());
    sub->add_option("--weights", o->weights,
                    "also check a .weights file against the cfg; or a name from `yolo9k weights list` (e.g. yolov2-voc)");
    sub->add_option("--backend", o->backend, "also show how a backend runs each layer (onednn, reference)")
        ->check(backend_name());
    sub->add_flag("--backends", o->backends,
                  "list the compute backends: precisions, devices, and the layer types each runs with its own kernels");
    return [o] {
        if (o->backends) {
            std::cout << backends_table();
            if (o->cfg.empty()) return kExitOk;
        }
        const PublishedWeights* published = o->weights.empty() ? nullptr : resolve_weights_name(o->weights, o->cfg);
        if (o->cfg.empty()) {
            std::cerr << "yolo9k: error: " << missing_cfg_message() << "\n";
            return kExitUsage;
        }
        NetworkOptions opts;
        if (o->size > 0) opts.width = opts.height = o->size;
        Network net = Network::from_cfg_file(o->cfg, opts);
        std::cout << net.describe();
        if (!o->weights.empty()) {
            // A published partial file (darknet19_448.conv.23) holds only the first layers.
            const bool partial = published && published->layers > 0;
            const int loaded = net.load_weights(o->weights, partial);
            std::cout << "weights: " << o->weights << " (version " << net.header().major << "." << net.header().minor << "."
                      << net.header().revision << ", seen " << net.header().seen << ") matches "
                      << (partial ? "the first " + std::to_string(loaded) + " layers of the cfg" : std::string("the cfg")) << "\n";
        }
        if (!o->backend.empty()) {
            if (o->weights.empty())
                for (int i = 0; i < net.size(); ++i) net.layer(i).reshape(net.layer(i).input_shapes());
            auto ex = make_executor(net, o->backend);
            std::cout << ex->describe();
        }
        return kExitOk;
    };
}

}  // namespace yolo9k::cli
