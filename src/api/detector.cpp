#include "yolo9k/detector.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>
#include <mutex>
#include <optional>

#include "api/model_access.h"
#include "backend/backend.h"
#include "backend/onednn/settings.h"
#include "backend/shared_workspace.h"
#include "core/error.h"
#include "core/file_read.h"
#include "detect/letterbox.h"
#include "detect/region_decode.h"
#include "layer/region.h"
#include "network/network.h"
#include "quantize/calibration.h"

namespace yolo9k {

std::vector<std::string> read_names_file(const std::string& path) {
    std::istringstream f(read_text_file_bounded(path, "names file"));
    std::vector<std::string> names;
    std::string line;
    while (std::getline(f, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        names.push_back(line);
    }
    while (!names.empty() && names.back().empty()) names.pop_back();
    if (names.empty()) throw Error(path + ": names file is empty (expected one class name per line)");
    return names;
}

struct SharedDetectorMemory::Impl {
    std::shared_ptr<SharedWorkspace> workspace = std::make_shared<SharedWorkspace>();
};

SharedDetectorMemory::SharedDetectorMemory() : impl_(std::make_shared<Impl>()) {}
SharedDetectorMemory::~SharedDetectorMemory() = default;
std::size_t SharedDetectorMemory::bytes() const { return impl_->workspace->bytes(); }

struct Detector::Impl {
    DetectorOptions options;
    std::optional<Network> owned;             // empty when the network is a Model's
    std::shared_ptr<const Model::Impl> model;  // keeps that Model's network alive
    const Network* net;
    std::shared_ptr<SharedWorkspace> shared;  // with shared_memory: activation memory and its lock
    std::unique_ptr<Executor> executor;
    std::shared_ptr<const ActivationRanges> ranges;  // int8
    RegionDecodeParams region;
    std::vector<std::string> names;
    std::vector<float> input;
    RegionCandidates workspace;
    // One pass at a time: the executor's buffers, the input and the workspace are shared.
    std::mutex mutex;

    explicit Impl(const DetectorOptions& o) : options(o), owned(build(o)), net(&*owned) {
        if (o.weights.empty()) throw Error("no weights file given (a detector needs --weights)");
        owned->load_weights(o.weights);
        ranges = activation_ranges_for(o.precision, o.calibration, *owned);  // fingerprints the unfolded weights
        owned->fold_batch_norm();
        // Free each layer's host weights as soon as its kernel holds folded, reordered
        // copies: peak memory stays near one copy of the weights, not two. A backend that
        // reads the host weights (the reference) never says so, and keeps them all.
        std::vector<bool> released(size_t(owned->size()), false);
        init([this, &released](int i) {
            owned->layer(i).release_weights();
            released[size_t(i)] = true;
        });
        bool all_released = true;
        for (int i = 0; i < owned->size(); ++i)
            if (!released[size_t(i)] && !owned->layer(i).weight_blobs().empty()) all_released = false;
        if (all_released) owned->release_weights();
    }

    Impl(const Model& m, const DetectorOptions& o)
        : options(o), model(ModelAccess::share(m)), net(&ModelAccess::network(m)) {
        init({});
    }

    void init(std::function<void(int)> on_layer_ready) {
        const DetectorOptions& o = options;
        const std::string source = o.cfg.empty() ? std::string("the network") : o.cfg;
        net->require_rgb_input();
        const auto* head = dynamic_cast<const RegionLayer*>(&net->layer(net->output_layer()));
        if (!head)
            throw Error(source + ": the last layer is [" + std::string(net->layer(net->output_layer()).type()) +
                        "], not [region]: this cfg is not a YOLOv2 detector");
        region.grid_w = head->output_shape().w;
        region.grid_h = head->output_shape().h;
        region.num = head->num;
        region.classes = head->classes;
        region.coords = head->coords;
        region.anchors = head->anchors;
        std::string names_file = o.names;
        if (head->tree) {
            region.tree = head->tree;
            region.hier_thresh = o.hier;
            if (o.map == "cfg") {
                if (head->class_map.empty()) throw Error(source + ": --map cfg, but the [region] has no map=");
                region.class_map = head->class_map;
            } else if (!o.map.empty()) {
                region.class_map = load_class_map(o.map, *head->tree);
            }
            // darknet's 9k.names sits beside 9k.tree: the natural default for tree classes.
            if (names_file.empty() && region.class_map.empty()) {
                std::filesystem::path beside = head->tree->source;
                beside.replace_extension(".names");
                if (std::filesystem::is_regular_file(beside)) names_file = beside.string();
            }
        } else if (!o.map.empty()) {
            throw Error(source + ": --map is for YOLO9000 networks ([region] tree=), and this one has no tree");
        }
        if (!names_file.empty()) {
            names = read_names_file(names_file);
            if (int(names.size()) < region.output_classes())
                throw Error(names_file + ": " + std::to_string(names.size()) + " names, but " + source + " has " +
                            std::to_string(region.output_classes()) +
                            (region.class_map.empty() ? " classes" : " mapped classes") + " (expected one name per class)");
        }
        if (o.batch < 1) throw Error("batch must be at least 1");
        // oneDNN's own settings; another backend ignores them.
        const auto onednn_settings = onednn::settings(
            o.direct_conv ? onednn::ConvAlgorithm::direct : onednn::ConvAlgorithm::fast,
            o.winograd_memory_mib < 0 ? onednn::Settings::kUnlimited : size_t(o.winograd_memory_mib) << 20);
        if (o.shared_memory) shared = o.shared_memory->impl()->workspace;
        if (!ranges) ranges = activation_ranges_for(o.precision, o.calibration, *net);
        executor = make_executor(*net, o.backend,
                                 {.batch = o.batch, .threads = o.threads, .precision = parse_precision(o.precision),
                                  .activation_ranges = ranges, .settings = onednn_settings,
                                  .on_layer_ready = on_layer_ready, .workspace = shared});
        input.resize(size_t(o.batch) * net->input_shape().size());
    }

    static Network build(const DetectorOptions& o) {
        NetworkOptions no;
        if (o.size) {
            if (o.size < 32 || o.size % 32)
                throw Error("size " + std::to_string(o.size) + ": expected a multiple of 32 (e.g. 320, 416, 608)");
            no.width = no.height = o.size;
        }
        return Network::from_cfg_file(o.cfg, no);
    }

    // The thresholds a call uses: its own where given, else the options'; each in [0, 1].
    struct Thresholds {
        float thresh, nms, hier;
    };
    Thresholds resolve(const DetectThresholds& t) const {
        const Thresholds r{t.thresh.value_or(options.thresh), t.nms.value_or(options.nms), t.hier.value_or(options.hier)};
        for (float v : {r.thresh, r.nms, r.hier})
            if (!(v >= 0 && v <= 1)) throw Error("thresholds must be in [0, 1], got " + std::to_string(v));
        return r;
    }

    // With shared memory: the lock every sharing Detector holds across a pass and the reading
    // of its output (after its own mutex: always in that order).
    std::unique_lock<std::mutex> shared_pass() {
        return shared ? std::unique_lock<std::mutex>(shared->pass_mutex()) : std::unique_lock<std::mutex>();
    }

    ResizeMode resize_mode() const { return options.letterbox ? ResizeMode::Letterbox : ResizeMode::Resize; }

    std::vector<std::vector<Detection>> run(const cv::Mat* images, int count, const DetectThresholds& t = {}) {
        const Thresholds th = resolve(t);
        RegionDecodeParams params = region;  // a copy: decode() may read `region` meanwhile
        params.hier_thresh = th.hier;
        const Shape in = net->input_shape();
        std::vector<LetterboxGeometry> geometry(count);
        for (int i = 0; i < count; ++i) {
            if (images[i].empty()) throw Error("empty image given to detect()");
            geometry[i] = prepare_network_input(images[i], in.w, in.h, resize_mode(), input.data() + i * in.size());
        }
        const auto pass = shared_pass();
        executor->forward(input.data());
        const Shape out = net->layer(net->output_layer()).output_shape();
        std::vector<std::vector<Detection>> result(count);
        for (int i = 0; i < count; ++i)
            result[i] = decode_region(executor->output() + i * out.size(), params, geometry[i], th.thresh, th.nms, names,
                                      &workspace);
        return result;
    }
};

Detector::Detector(const DetectorOptions& options) : impl_(std::make_unique<Impl>(options)) {}
Detector::Detector(const Model& model, const DetectorOptions& options)
    : impl_(std::make_unique<Impl>(model, options)) {}
Detector::~Detector() = default;
Detector::Detector(Detector&&) noexcept = default;
Detector& Detector::operator=(Detector&&) noexcept = default;

std::vector<Detection> Detector::detect(const cv::Mat& image, const DetectThresholds& thresholds) {
    std::lock_guard lock(impl_->mutex);
    return std::move(impl_->run(&image, 1, thresholds).front());
}

std::vector<std::vector<Detection>> Detector::detect_batch(const std::vector<cv::Mat>& images,
                                                           const DetectThresholds& thresholds) {
    std::vector<std::vector<Detection>> all;
    const int b = impl_->options.batch;
    for (size_t start = 0; start < images.size(); start += b) {
        const int count = int(std::min<size_t>(b, images.size() - start));
        std::lock_guard lock(impl_->mutex);
        for (auto& r : impl_->run(images.data() + start, count, thresholds)) all.push_back(std::move(r));
    }
    return all;
}

Detector::PreparedImage Detector::prepare(const cv::Mat& image) const {
    if (image.empty()) throw Error("empty image given to detect()");
    const Shape in = impl_->net->input_shape();
    PreparedImage p;
    p.tensor.resize(in.size());
    const LetterboxGeometry g = prepare_network_input(image, in.w, in.h, impl_->resize_mode(), p.tensor.data());
    p.image_width = g.img_w;
    p.image_height = g.img_h;
    p.fitted_width = g.new_w;
    p.fitted_height = g.new_h;
    p.letterbox = g.mode == ResizeMode::Letterbox;
    return p;
}

std::vector<std::vector<float>> Detector::infer(const std::vector<const PreparedImage*>& images) {
    const size_t in_size = impl_->net->input_shape().size();
    if (images.empty() || int(images.size()) > impl_->options.batch)
        throw Error("infer() takes 1 to " + std::to_string(impl_->options.batch) + " images (the Detector's batch), got " +
                    std::to_string(images.size()));
    for (const PreparedImage* p : images)
        if (!p || p->tensor.size() != in_size) throw Error("infer() needs images made by this Detector's prepare()");
    std::lock_guard lock(impl_->mutex);
    for (size_t i = 0; i < images.size(); ++i)
        std::copy(images[i]->tensor.begin(), images[i]->tensor.end(), impl_->input.begin() + ptrdiff_t(i * in_size));
    const auto pass = impl_->shared_pass();
    impl_->executor->forward(impl_->input.data());
    const size_t out_size = impl_->net->layer(impl_->net->output_layer()).output_shape().size();
    std::vector<std::vector<float>> outputs(images.size());
    for (size_t i = 0; i < images.size(); ++i)
        outputs[i].assign(impl_->executor->output() + i * out_size, impl_->executor->output() + (i + 1) * out_size);
    return outputs;
}

std::vector<Detection> Detector::decode(const std::vector<float>& output, const PreparedImage& image,
                                        const DetectThresholds& thresholds) const {
    const Impl::Thresholds th = impl_->resolve(thresholds);
    const Shape in = impl_->net->input_shape();
    if (output.size() != impl_->net->layer(impl_->net->output_layer()).output_shape().size())
        throw Error("decode() needs an output of this Detector's infer()");
    const LetterboxGeometry g{.net_w = in.w, .net_h = in.h, .img_w = image.image_width, .img_h = image.image_height,
                              .new_w = image.fitted_width, .new_h = image.fitted_height,
                              .mode = image.letterbox ? ResizeMode::Letterbox : ResizeMode::Resize};
    RegionDecodeParams params = impl_->region;  // a copy: hier may differ per call, and calls run at once
    params.hier_thresh = th.hier;
    return decode_region(output.data(), params, g, th.thresh, th.nms, impl_->names);
}

const std::vector<std::string>& Detector::class_names() const { return impl_->names; }
int Detector::classes() const { return impl_->region.output_classes(); }
int Detector::input_width() const { return impl_->net->input_shape().w; }
int Detector::input_height() const { return impl_->net->input_shape().h; }
const DetectorOptions& Detector::options() const { return impl_->options; }

const float* Detector::forward(const float* input) {
    const auto pass = impl_->shared_pass();
    impl_->executor->forward(input);
    return impl_->executor->output();
}

}  // namespace yolo9k
