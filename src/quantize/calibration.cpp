#include "quantize/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cctype>
#include <cstring>
#include <limits>
#include <sstream>

#include "backend/backend.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_read.h"
#include "network/network.h"

namespace yolo9k {
namespace {

constexpr const char* kMagic = "yolo9k-calibration";
// Histogram resolution for the percentile method: the clipping point lands within 1/2048
// of a layer's largest magnitude, far finer than the 1/127 step it sets.
constexpr int kBins = 2048;
constexpr size_t kMaxLayers = 100000;  // far above any darknet network; bounds what a file can make us hold

std::string shape_text(Shape s) {
    return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

std::string hex(std::uint64_t v) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

// Values in the order the layer writes them, whatever the backend's layout.
void widen(ActivationRange& r, const float* v, size_t n) {
    for (size_t k = 0; k < n; ++k) {
        r.min = std::min(r.min, v[k]);
        r.max = std::max(r.max, v[k]);
    }
}

struct Histogram {
    float top = 0;  // |value| the last bin ends at
    std::vector<std::uint64_t> bins = std::vector<std::uint64_t>(kBins, 0);
    void add(const float* v, size_t n) {
        if (!(top >= std::numeric_limits<float>::min())) return;  // a dead layer: nothing to resolve
        const double per_bin = kBins / double(top);
        for (size_t k = 0; k < n; ++k) ++bins[size_t(std::min(double(kBins - 1), std::fabs(double(v[k])) * per_bin))];
    }
    // The |value| below which `percent` % of the samples lie (a bin's upper edge).
    float quantile(double percent) const {
        std::uint64_t total = 0;
        for (auto b : bins) total += b;
        if (total == 0) return top;
        const double want = total * percent / 100.0;
        std::uint64_t seen = 0;
        for (int b = 0; b < kBins; ++b) {
            seen += bins[b];
            if (double(seen) >= want) return top * float(b + 1) / kBins;
        }
        return top;
    }
};

[[noreturn]] void fail(const std::string& path, int line, const std::string& what) {
    throw Error(path + ":" + std::to_string(line) + ": " + what);
}

}  // namespace

CalibrationMethod parse_calibration_method(const std::string& text) {
    if (text == "minmax") return CalibrationMethod::minmax;
    if (text == "percentile") return CalibrationMethod::percentile;
    throw Error("unknown calibration method '" + text + "'; expected minmax or percentile");
}

const char* calibration_method_name(CalibrationMethod m) {
    return m == CalibrationMethod::minmax ? "minmax" : "percentile";
}

std::uint64_t weights_fingerprint(const Network& constant_net) {
    // weight_blobs() hands out writable arrays; only reading them here.
    Network& net = const_cast<Network&>(constant_net);
    // FNV-1a over 64-bit words of the parameter bytes: fast enough for yolov2-voc's 200 MB.
    std::uint64_t h = 1469598103934665603ull;
    const auto mix = [&h](std::uint64_t word) { h = (h ^ word) * 1099511628211ull; };
    for (int i = 0; i < net.size(); ++i)
        for (const WeightBlob& blob : net.layer(i).weight_blobs()) {
            mix(blob.data->size());
            const auto* bytes = reinterpret_cast<const unsigned char*>(blob.data->data());
            const size_t n = blob.data->size() * sizeof(float);
            size_t k = 0;
            for (; k + 8 <= n; k += 8) {
                std::uint64_t w;
                std::memcpy(&w, bytes + k, 8);
                mix(w);
            }
            for (; k < n; ++k) mix(bytes[k]);
        }
    return h;
}

Calibration calibrate_network(Network& net, int images, const std::function<void(int, float*)>& fill_input,
                              CalibrationMethod method, double percentile, int threads,
                              const std::function<void(const CalibrationProgress&)>& progress) {
    if (images < 1) throw Error("calibration needs at least one image");
    if (method == CalibrationMethod::percentile && !(percentile > 0 && percentile <= 100))
        throw Error("calibration percentile " + std::to_string(percentile) + ": expected a value in (0, 100]");
    const int n = net.size();
    Calibration c{.method = method, .percentile = method == CalibrationMethod::minmax ? 100 : percentile,
                  .images = images, .weights = weights_fingerprint(net), .input_shape = net.input_shape()};
    for (int i = 0; i < n; ++i) {
        c.layer_types.emplace_back(net.layer(i).type());
        c.layer_shapes.push_back(net.layer(i).output_shape());
    }
    constexpr float kInf = std::numeric_limits<float>::infinity();
    c.ranges.input = {kInf, -kInf};
    c.ranges.layers.assign(n, {kInf, -kInf});
    auto ex = make_executor(net, kDefaultBackend, {.batch = 1, .threads = threads, .keep_outputs = true});
    std::vector<float> input(net.input_shape().size());
    const int passes = method == CalibrationMethod::percentile ? 2 : 1;
    std::vector<Histogram> histograms;
    for (int pass = 1; pass <= passes; ++pass) {
        if (pass == 2) {
            histograms.resize(n);
            for (int i = 0; i < n; ++i) histograms[i].top = c.ranges.layers[i].absmax();
        }
        for (int k = 0; k < images; ++k) {
            fill_input(k, input.data());
            ex->forward(input.data());
            if (pass == 1) widen(c.ranges.input, input.data(), input.size());
            for (int i = 0; i < n; ++i) {
                const std::vector<float> out = ex->layer_output(i);
                for (float v : out)
                    if (!std::isfinite(v))
                        throw Error("calibration image " + std::to_string(k + 1) + ": layer " + std::to_string(i) +
                                    " (" + c.layer_types[i] + ") output is not finite; are the weights trained?");
                if (pass == 1)
                    widen(c.ranges.layers[i], out.data(), out.size());
                else
                    histograms[i].add(out.data(), out.size());
            }
            if (progress) progress({.pass = pass, .passes = passes, .images_done = k + 1, .images = images});
        }
    }
    if (method == CalibrationMethod::percentile)
        for (int i = 0; i < n; ++i) {
            ActivationRange& r = c.ranges.layers[i];
            const float clip = histograms[i].quantile(percentile);
            r.min = std::max(r.min, -clip);
            r.max = std::min(r.max, clip);
        }
    return c;
}

void save_calibration(const Calibration& c, const std::string& path) {
    std::ostringstream out;
    out.precision(9);
    out << kMagic << " " << Calibration::kVersion << "\n";
    out << "weights " << hex(c.weights) << "\n";
    out << "method " << calibration_method_name(c.method);
    if (c.method == CalibrationMethod::percentile) out << " " << c.percentile;
    out << "\nimages " << c.images << "\n";
    out << "input " << shape_text(c.input_shape) << " " << c.ranges.input.min << " " << c.ranges.input.max << "\n";
    for (size_t i = 0; i < c.ranges.layers.size(); ++i)
        out << "layer " << i << " " << c.layer_types[i] << " " << shape_text(c.layer_shapes[i]) << " "
            << c.ranges.layers[i].min << " " << c.ranges.layers[i].max << "\n";
    out << "end " << c.ranges.layers.size() << "\n";
    AtomicFile f(path);
    f.write(out.str());
    f.commit();
}

Calibration load_calibration(const std::string& path) {
    const std::string text = read_text_file_bounded(path, "calibration file");
    std::istringstream lines(text);
    Calibration c;
    int line_no = 0;
    std::string line;
    // The next line, split into words; `expect` is what a missing line should have been.
    const auto next = [&](const char* expect) {
        if (!std::getline(lines, line)) fail(path, line_no + 1, std::string("file ends early: expected ") + expect);
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string s; words >> s;) w.push_back(s);
        return w;
    };
    const auto number = [&](const std::string& s, const char* what) {
        try {
            size_t used = 0;
            const double v = std::stod(s, &used);
            if (used == s.size() && std::isfinite(v)) return v;
        } catch (const std::exception&) {
        }
        fail(path, line_no, std::string("expected ") + what + " (a finite number), got '" + s + "'");
    };
    const auto shape = [&](const std::string& s) {
        // Three positive whole numbers joined by 'x', each below 2^24 (no network is wider).
        int dims[3] = {0, 0, 0};
        size_t at = 0;
        for (int k = 0; k < 3; ++k) {
            size_t end = at;
            while (end < s.size() && end - at < 9 && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
            const bool separator_ok = k < 2 ? end < s.size() && s[end] == 'x' : end == s.size();
            if (end == at || !separator_ok) fail(path, line_no, "expected a shape CxHxW (e.g. 16x416x416), got '" + s + "'");
            dims[k] = std::stoi(s.substr(at, end - at));
            if (dims[k] <= 0 || dims[k] >= (1 << 24))
                fail(path, line_no, "expected a shape CxHxW (e.g. 16x416x416), got '" + s + "'");
            at = end + 1;
        }
        return Shape{dims[0], dims[1], dims[2]};
    };
    const auto value = [&](const std::string& s, const char* what) {
        const double v = number(s, what);
        if (std::fabs(v) > std::numeric_limits<float>::max())
            fail(path, line_no, std::string("expected ") + what + " within float's range, got '" + s + "'");
        return float(v);
    };
    const auto range = [&](const std::string& lo, const std::string& hi) {
        const ActivationRange r{value(lo, "the smallest value"), value(hi, "the largest value")};
        if (r.min > r.max) fail(path, line_no, "the smallest value " + lo + " is above the largest " + hi);
        return r;
    };

    auto w = next("the header 'yolo9k-calibration 1'");
    if (w.size() != 2 || w[0] != kMagic)
        fail(path, line_no, std::string("not a yolo9k calibration file (expected the header '") + kMagic + " " +
                                std::to_string(Calibration::kVersion) + "'; make one with `yolo9k calibrate`)");
    if (w[1] != std::to_string(Calibration::kVersion))
        fail(path, line_no, "calibration format version " + w[1] + "; this yolo9k reads version " +
                                std::to_string(Calibration::kVersion) + " (recalibrate with this version's `yolo9k calibrate`)");
    w = next("'weights <fingerprint>'");
    if (w.size() != 2 || w[0] != "weights" || w[1].size() != 16 || w[1].find_first_not_of("0123456789abcdef") != std::string::npos)
        fail(path, line_no, "expected 'weights <16 hex digits>', got '" + line + "'");
    c.weights = std::stoull(w[1], nullptr, 16);
    w = next("'method minmax' or 'method percentile P'");
    if (w.size() == 2 && w[0] == "method" && w[1] == "minmax") {
        c.method = CalibrationMethod::minmax;
    } else if (w.size() == 3 && w[0] == "method" && w[1] == "percentile") {
        c.method = CalibrationMethod::percentile;
        c.percentile = number(w[2], "a percentile");
        if (!(c.percentile > 0 && c.percentile <= 100)) fail(path, line_no, "the percentile must be in (0, 100]");
    } else {
        fail(path, line_no, "expected 'method minmax' or 'method percentile P', got '" + line + "'");
    }
    w = next("'images N'");
    if (w.size() != 2 || w[0] != "images") fail(path, line_no, "expected 'images N', got '" + line + "'");
    const double images = number(w[1], "an image count");
    if (images < 1 || images > 1e9 || images != std::floor(images))
        fail(path, line_no, "expected a whole number of images from 1 to 1e9, got '" + w[1] + "'");
    c.images = int(images);
    w = next("'input CxHxW MIN MAX'");
    if (w.size() != 4 || w[0] != "input") fail(path, line_no, "expected 'input CxHxW MIN MAX', got '" + line + "'");
    c.input_shape = shape(w[1]);
    c.ranges.input = range(w[2], w[3]);
    for (;;) {
        w = next("'layer N TYPE CxHxW MIN MAX' or 'end N'");
        if (w.size() == 2 && w[0] == "end") {
            if (w[1] != std::to_string(c.ranges.layers.size()))
                fail(path, line_no, "'end " + w[1] + "' after " + std::to_string(c.ranges.layers.size()) + " layers");
            for (std::string rest; std::getline(lines, rest);) {
                ++line_no;
                if (rest.find_first_not_of(" \t\r") != std::string::npos)
                    fail(path, line_no, "text after 'end " + w[1] + "' (two files joined?)");
            }
            break;
        }
        if (c.ranges.layers.size() >= kMaxLayers)
            fail(path, line_no, "more than " + std::to_string(kMaxLayers) + " layers");
        if (w.size() != 6 || w[0] != "layer")
            fail(path, line_no, "expected 'layer N TYPE CxHxW MIN MAX' or 'end N', got '" + line + "'");
        if (w[1] != std::to_string(c.ranges.layers.size()))
            fail(path, line_no, "expected layer " + std::to_string(c.ranges.layers.size()) + ", got layer " + w[1]);
        c.layer_types.push_back(w[2]);
        c.layer_shapes.push_back(shape(w[3]));
        c.ranges.layers.push_back(range(w[4], w[5]));
        c.layer_lines.push_back(line_no);
    }
    return c;
}

std::shared_ptr<const ActivationRanges> activation_ranges_for(const std::string& precision, const std::string& path,
                                                              const Network& net) {
    if (parse_precision(precision) != Precision::int8) {
        if (!path.empty())
            throw Error(path + ": a calibration file is for --precision int8 (this run computes in " + precision + ")");
        return nullptr;
    }
    if (path.empty())
        throw Error("--precision int8 needs a calibration file (--calibration FILE): make one with "
                    "`yolo9k calibrate --cfg CFG --weights WEIGHTS --images DIR --out FILE`");
    return std::make_shared<const ActivationRanges>(check_calibration(load_calibration(path), net, path));
}

ActivationRanges check_calibration(const Calibration& c, const Network& net, const std::string& path) {
    const int n = net.size();
    const auto layer_line = [&](int i) { return i < int(c.layer_lines.size()) ? c.layer_lines[i] : 0; };
    for (int i = 0; i < std::min(n, int(c.ranges.layers.size())); ++i) {
        const Layer& l = net.layer(i);
        if (c.layer_types[i] != l.type() || c.layer_shapes[i].c != l.output_shape().c)
            fail(path, layer_line(i),
                 "layer " + std::to_string(i) + " was calibrated as " + c.layer_types[i] + " with " +
                     std::to_string(c.layer_shapes[i].c) + " channels, but " + net.cfg_path() + " has " +
                     std::string(l.type()) + " with " + std::to_string(l.output_shape().c) +
                     ": this calibration is for another network");
    }
    if (int(c.ranges.layers.size()) != n)
        fail(path, c.layer_lines.empty() ? 0 : c.layer_lines.back() + 1,
             std::to_string(c.ranges.layers.size()) + " layers calibrated, but " + net.cfg_path() + " has " +
                 std::to_string(n) + ": this calibration is for another network");
    if (c.input_shape.c != net.input_shape().c)
        fail(path, 5, "the input has " + std::to_string(c.input_shape.c) + " channels here, " +
                          std::to_string(net.input_shape().c) + " in " + net.cfg_path());
    if (c.weights != weights_fingerprint(net))
        fail(path, 2, "recorded with other weights (fingerprint " + hex(c.weights) + ", these weights give " +
                          hex(weights_fingerprint(net)) + "): the ranges are stale; recalibrate with `yolo9k calibrate`");
    return c.ranges;
}

}  // namespace yolo9k
