#include "yolo9k/calibration.h"

#include <opencv2/core.hpp>

#include "core/error.h"
#include "detect/letterbox.h"
#include "network/network.h"
#include "quantize/calibration.h"
#include "yolo9k/image.h"
#include "yolo9k/inputs.h"

namespace yolo9k {

CalibrationSummary calibrate(const CalibrationOptions& o, const std::string& out) {
    if (o.count < 1) throw Error("calibrate: --count must be at least 1");
    const CalibrationMethod method = parse_calibration_method(o.method);
    NetworkOptions no;
    if (o.size) {
        if (o.size < 32 || o.size % 32)
            throw Error("size " + std::to_string(o.size) + ": expected a multiple of 32 (e.g. 320, 416, 608)");
        no.width = no.height = o.size;
    }
    Network net = Network::from_cfg_file(o.cfg, no);
    if (o.weights.empty()) throw Error("calibrate: a --weights file is required (the ranges belong to trained weights)");
    net.load_weights(o.weights);
    net.require_rgb_input();

    std::vector<std::string> paths;
    for (const InputSource& s : expand_inputs(o.images)) {
        if (s.kind != SourceKind::Image) throw Error(s.path + ": calibrate reads images, not videos or cameras");
        paths.push_back(s.path);
    }
    if (paths.empty()) throw Error("calibrate: no images given (--images DIR|LIST|FILE)");
    // An even spread over the list, so a sorted folder is sampled from end to end.
    const int used = std::min<int>(o.count, int(paths.size()));
    std::vector<std::string> chosen;
    for (int k = 0; k < used; ++k) chosen.push_back(paths[size_t(k) * paths.size() / size_t(used)]);

    const Shape in = net.input_shape();
    const auto fill = [&](int k, float* dst) {
        // As Detector and Classifier::predict prepare images: darknet's letterbox.
        prepare_network_input(load_image(chosen[size_t(k)]), in.w, in.h, ResizeMode::Letterbox, dst);
    };
    std::function<void(const CalibrationProgress&)> progress;
    if (o.on_progress)
        progress = [&](const CalibrationProgress& p) { o.on_progress(p.pass, p.passes, p.images_done, p.images); };
    const Calibration c = calibrate_network(net, used, fill, method, o.percentile, o.threads, progress);
    save_calibration(c, out);

    CalibrationSummary s{.images = used, .method = calibration_method_name(method)};
    for (size_t i = 0; i < c.ranges.layers.size(); ++i)
        if (c.ranges.layers[i].absmax() > s.widest_range) {
            s.widest_range = c.ranges.layers[i].absmax();
            s.widest_layer = int(i);
        }
    return s;
}

}  // namespace yolo9k
