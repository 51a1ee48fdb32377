#include "yolo9k/model.h"

#include "api/model_access.h"
#include "backend/backend.h"
#include "core/error.h"
#include "network/initialize.h"
#include "quantize/calibration.h"

namespace yolo9k {

Model::Model(const std::string& cfg, int size) : impl_(std::make_shared<Impl>()) {
    NetworkOptions options;
    if (size != 0) {
        if (size < 32 || size % 32)
            throw Error("size " + std::to_string(size) + ": expected a multiple of 32 (e.g. 320, 416, 608)");
        options.width = options.height = size;
    }
    impl_->owned.emplace(Network::from_cfg_file(cfg, options));
    impl_->net = &*impl_->owned;
}

Model::Model(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

int Model::load_weights(const std::string& path, bool partial) { return impl_->net->load_weights(path, partial); }
void Model::initialize_weights(uint32_t seed, float head_scale) {
    yolo9k::initialize_weights(*impl_->net, seed, head_scale);
}

static int layer_limit(int layers, const Network& net, const std::string& what) {
    if (layers < 0 || layers > net.size())
        throw Error(net.cfg_path() + ": " + what + " " + std::to_string(layers) + " layers, but the network has " +
                    std::to_string(net.size()));
    return layers == 0 ? -1 : layers;
}

void Model::save_weights(const std::string& path, int layers) const {
    impl_->net->save_weights(path, layer_limit(layers, *impl_->net, "cannot save the first"));
}
uint64_t Model::weights_file_bytes(int layers) const {
    return impl_->net->weights_file_bytes(layer_limit(layers, *impl_->net, "cannot size the first"));
}

WeightsVersion Model::weights_version() const {
    const WeightsHeader& h = impl_->net->header();
    return {h.major, h.minor, h.revision, h.seen};
}
void Model::set_images_seen(uint64_t images) { impl_->net->header().seen = images; }

const std::string& Model::cfg_path() const { return impl_->net->cfg_path(); }
int Model::input_width() const { return impl_->net->input_shape().w; }
int Model::input_height() const { return impl_->net->input_shape().h; }
int Model::input_channels() const { return impl_->net->input_shape().c; }
int Model::layer_count() const { return impl_->net->size(); }
double Model::total_flops() const { return impl_->net->total_flops(); }
std::string Model::describe() const { return impl_->net->describe(); }

std::vector<LayerSummary> Model::layers() const {
    Network& net = *impl_->net;
    std::vector<LayerSummary> out;
    for (int i = 0; i < net.size(); ++i) {
        Layer& l = net.layer(i);
        const Shape in = l.input_shapes().empty() ? net.input_shape() : l.input_shapes().front();
        const Shape o = l.output_shape();
        out.push_back({.index = i, .type = std::string(l.type()), .in_channels = in.c, .in_height = in.h,
                       .in_width = in.w, .out_channels = o.c, .out_height = o.h, .out_width = o.w,
                       .flops = l.flops(), .parameters = int64_t(l.trainable_floats())});
    }
    return out;
}

std::string Model::describe_execution(const std::string& backend, const std::string& precision,
                                      const std::string& calibration) const {
    Network& net = *impl_->net;
    // Kernels are built from the weights; a model that has none yet still has its shapes.
    std::shared_ptr<const ActivationRanges> ranges;
    if (parse_precision(precision) == Precision::int8 && calibration.empty()) {
        // Which kernel runs each layer, and in what type, does not depend on the ranges' values.
        auto placeholder = std::make_shared<ActivationRanges>();
        placeholder->input = {0, 1};
        placeholder->layers.assign(size_t(net.size()), {-1, 1});
        ranges = placeholder;
    } else {
        ranges = activation_ranges_for(precision, calibration, net);
    }
    return make_executor(net, backend, {.precision = parse_precision(precision), .activation_ranges = ranges})->describe();
}

std::vector<BackendInfo> available_backends() {
    std::vector<BackendInfo> out;
    for (const std::string& name : user_backends()) {
        const Backend& b = find_backend(name);
        BackendInfo info{.name = b.name, .summary = b.summary, .can_train = bool(b.make_train_executor)};
        for (Precision p : b.precisions) info.precisions.push_back(precision_name(p));
        info.devices = b.devices;
        for (const std::string& type : registered_layers()) {
            if (b.supports && b.supports(type)) info.inference_layers.push_back(type);
            if (info.can_train && b.supports_training && b.supports_training(type)) info.training_layers.push_back(type);
        }
        if (name == kDefaultBackend) out.insert(out.begin(), std::move(info));
        else out.push_back(std::move(info));
    }
    return out;
}

}  // namespace yolo9k
