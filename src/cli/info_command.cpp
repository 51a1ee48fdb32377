#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/resolve_weights.h"
#include "cli/validators.h"
#include "yolo9k/model.h"

namespace yolo9k::cli {
namespace {

std::string joined(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : separator) + s;
    return out;
}

// One block per backend users can choose; layer types not listed run on the shared host path.
std::string backends_table() {
    std::string out;
    for (const BackendInfo& b : available_backends()) {
        const std::string inference = joined(b.inference_layers, " "), training = joined(b.training_layers, " ");
        out += b.name + ": " + b.summary + "\n  precisions: " + joined(b.precisions, ", ") +
               "; devices: " + joined(b.devices, ", ") +
               "\n  own inference kernels: " + (inference.empty() ? "none" : inference) +
               "\n  own training kernels: " + (!b.can_train ? "cannot train" : training.empty() ? "none" : training) +
               "\n";
    }
    return out + "(other layer types run each layer's reference code on the shared host path)\n";
}

}  // namespace

Action add_info_command(CLI::App& app) {
    struct Opts {
        std::string cfg, weights, backend, precision = "f32", calibration;
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
    add_precision_option(sub, o->precision)->description("with --backend: the arithmetic to show the kernels for");
    add_calibration_option(sub, o->calibration);
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
        Model model(o->cfg, o->size);
        std::cout << model.describe();
        if (!o->weights.empty()) {
            // A published partial file (darknet19_448.conv.23) holds only the first layers.
            const bool partial = published && published->layers > 0;
            const int loaded = model.load_weights(o->weights, partial);
            const WeightsVersion v = model.weights_version();
            std::cout << "weights: " << o->weights << " (version " << v.major << "." << v.minor << "." << v.revision
                      << ", seen " << v.images_seen << ") matches "
                      << (partial ? "the first " + std::to_string(loaded) + " layers of the cfg" : std::string("the cfg")) << "\n";
        }
        if (!o->calibration.empty() && o->precision != "int8")
            throw Error(o->calibration + ": --calibration is for --precision int8");
        if (o->backend.empty() && o->precision != "f32") o->backend = "onednn";
        if (!o->backend.empty()) std::cout << model.describe_execution(o->backend, o->precision, o->calibration);
        return kExitOk;
    };
}

}  // namespace yolo9k::cli
