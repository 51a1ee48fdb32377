#include "yolo9k/classifier.h"

#include <algorithm>
#include <mutex>
#include <numeric>

#include "api/model_access.h"
#include "backend/backend.h"
#include "core/error.h"
#include "core/json_read.h"
#include "detect/letterbox.h"
#include "layer/softmax.h"
#include "network/network.h"
#include "quantize/calibration.h"

namespace yolo9k {

struct Classifier::Impl {
    std::unique_ptr<Network> owned;
    std::shared_ptr<const Model::Impl> model;  // keeps a Model's network alive
    const Network* net = nullptr;
    std::unique_ptr<Executor> executor;
    std::vector<float> input;
    std::mutex mutex;  // one pass at a time: the executor's buffers and the input are shared

    void init(const std::string& backend, int threads, const std::string& precision, const std::string& calibration) {
        net->require_rgb_input();
        if (!dynamic_cast<const SoftmaxLayer*>(&net->layer(net->output_layer())))
            throw Error(net->cfg_path() + ": not a classifier: the output layer is [" +
                        std::string(net->layer(net->output_layer()).type()) + "], expected [softmax]");
        executor = make_executor(*net, backend,
                                 {.batch = 1, .threads = threads, .precision = parse_precision(precision),
                                  .activation_ranges = activation_ranges_for(precision, calibration, *net)});
        input.resize(net->input_shape().size());
    }
    int classes() const { return int(net->layer(net->output_layer()).output_shape().size()); }
    std::vector<float> run(const float* prepared) {
        executor->forward(prepared);
        const float* out = executor->output();
        return std::vector<float>(out, out + classes());
    }
};

Classifier::Classifier(const ClassifierOptions& o) : impl_(std::make_unique<Impl>()) {
    if (o.cfg.empty()) throw Error("classifier: a .cfg is required");
    NetworkOptions no;
    if (o.size > 0) no.width = no.height = o.size;
    impl_->owned = std::make_unique<Network>(Network::from_cfg_file(o.cfg, no));
    if (!o.weights.empty()) impl_->owned->load_weights(o.weights);
    impl_->net = impl_->owned.get();
    impl_->init(o.backend, o.threads, o.precision, o.calibration);
}

Classifier::Classifier(const Model& model, const ClassifierOptions& options) : impl_(std::make_unique<Impl>()) {
    impl_->model = ModelAccess::share(model);
    impl_->net = &ModelAccess::network(model);
    impl_->init(options.backend, options.threads, options.precision, options.calibration);
}

Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;

int Classifier::classes() const { return impl_->classes(); }
int Classifier::width() const { return impl_->net->input_shape().w; }
int Classifier::height() const { return impl_->net->input_shape().h; }

std::vector<float> Classifier::predict(const cv::Mat& bgr) {
    std::lock_guard lock(impl_->mutex);
    prepare_network_input(bgr, width(), height(), ResizeMode::Letterbox, impl_->input.data());
    return impl_->run(impl_->input.data());
}

std::vector<float> Classifier::predict_input(const float* input) {
    std::lock_guard lock(impl_->mutex);
    return impl_->run(input);
}

std::vector<int> top_classes(const float* scores, int n, int k) {
    k = std::clamp(k, 0, n);
    std::vector<int> idx(size_t(std::max(n, 0)));
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
        return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    });
    idx.resize(size_t(k));
    return idx;
}

std::string to_json_text(const std::vector<ImageClassification>& images, int indent) {
    nlohmann::json out = nlohmann::json::array();
    for (const ImageClassification& image : images) {
        nlohmann::json predictions = nlohmann::json::array();
        for (const ClassScore& p : image.predictions)
            predictions.push_back({{"class_id", p.class_id}, {"name", p.name}, {"score", p.score}});
        out.push_back({{"file", image.file}, {"width", image.width}, {"height", image.height}, {"predictions", predictions}});
    }
    return dump_json(out, indent);
}

}  // namespace yolo9k
