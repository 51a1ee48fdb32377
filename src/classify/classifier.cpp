#include "classify/classifier.h"

#include "backend/backend.h"
#include "core/error.h"
#include "data/classification_augment.h"
#include "detect/letterbox.h"
#include "io/image_reader.h"
#include "layer/softmax.h"

namespace yolo9k {

Classifier::Classifier(const ClassifierOptions& o) {
    if (o.cfg.empty()) throw Error("classifier: a .cfg is required");
    NetworkOptions no;
    if (o.size > 0) no.width = no.height = o.size;
    owned_ = std::make_unique<Network>(Network::from_cfg_file(o.cfg, no));
    if (!o.weights.empty()) owned_->load_weights(o.weights);
    net_ = owned_.get();
    init(o.backend, o.threads);
}

Classifier::Classifier(const Network& network, int threads, const std::string& backend) : net_(&network) {
    init(backend, threads);
}

Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;

void Classifier::init(const std::string& backend, int threads) {
    net_->require_rgb_input();
    if (!dynamic_cast<const SoftmaxLayer*>(&net_->layer(net_->output_layer())))
        throw Error(net_->cfg_path() + ": not a classifier: the output layer is [" +
                    std::string(net_->layer(net_->output_layer()).type()) + "], expected [softmax]");
    executor_ = make_executor(*net_, backend, {.batch = 1, .threads = threads});
    input_.resize(net_->input_shape().size());
}

int Classifier::classes() const { return int(net_->layer(net_->output_layer()).output_shape().size()); }
int Classifier::width() const { return net_->input_shape().w; }
int Classifier::height() const { return net_->input_shape().h; }

std::vector<float> Classifier::predict(const cv::Mat& bgr) {
    prepare_network_input(bgr, width(), height(), ResizeMode::Letterbox, input_.data());
    return predict_input(input_.data());
}

std::vector<float> Classifier::predict_input(const float* input) {
    executor_->forward(input);
    const float* out = executor_->output();
    return std::vector<float>(out, out + classes());
}

ClassifierValidation validate_classifier(Classifier& classifier, const ClassificationDataset& data, int k) {
    if (classifier.width() != classifier.height())
        throw Error("classifier valid: the centre crop needs a square network input, got " +
                    std::to_string(classifier.width()) + "x" + std::to_string(classifier.height()));
    if (int(data.class_names.size()) != classifier.classes())
        throw Error("classifier valid: the network has " + std::to_string(classifier.classes()) +
                    " outputs but the data has " + std::to_string(data.class_names.size()) + " classes");
    ClassifierValidation v{ClassificationMetrics(classifier.classes(), k), {}};
    std::vector<float> input(size_t(3) * classifier.width() * classifier.height());
    for (size_t i = 0; i < data.images.size(); ++i) {
        try {
            center_crop_input(load_image(data.images[i].path), classifier.width(), input.data());
        } catch (const Error& e) {
            v.unreadable.push_back(e.what());
            continue;
        }
        const std::vector<float> p = classifier.predict_input(input.data());
        v.metrics.add(p.data(), data.images[i].label);
    }
    return v;
}

}  // namespace yolo9k
