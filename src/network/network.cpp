#include "network/network.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_read.h"
#include "core/limits.h"

namespace yolo9k {
namespace {

NetParams parse_net_section(const SectionReader& r) {
    NetParams p;
    p.batch = r.get_int_in("batch", 1, 1, 1 << 20);
    p.subdivisions = r.get_int_in("subdivisions", 1, 1, 1 << 20);
    p.width = r.get_int_in("width", 0, 1, 1 << 16);
    p.height = r.get_int_in("height", 0, 1, 1 << 16);
    p.channels = r.get_int_in("channels", 0, 1, 4096);
    p.momentum = r.get_float_in("momentum", 0.9f, 0.f, 1.f);
    p.decay = r.get_float_in("decay", 0.0001f, 0.f, 1.f);
    p.adam = r.get_int_in("adam", 0, 0, 1) != 0;
    p.adam_b1 = r.get_float_in("B1", 0.9f, 0.f, 0.999999f);
    p.adam_b2 = r.get_float_in("B2", 0.999f, 0.f, 0.999999f);
    p.adam_eps = r.get_float_in("eps", 1e-7f, 1e-12f, 1.f);
    p.angle = r.get_float("angle", 0);
    p.saturation = r.get_float_in("saturation", 1, 0.f, 100.f);
    p.exposure = r.get_float_in("exposure", 1, 0.f, 100.f);
    p.hue = r.get_float_in("hue", 0, 0.f, 1.f);
    p.aspect = r.get_float_in("aspect", 1, 0.f, 100.f);
    p.max_crop = r.get_int_in("max_crop", 0, 0, 1 << 16);
    p.min_crop = r.get_int_in("min_crop", 0, 0, 1 << 16);
    p.learning_rate = r.get_float_in("learning_rate", 0.001f, 0.f, 1e6f);
    p.burn_in = r.get_int_in("burn_in", 0, 0, 1 << 30);
    p.power = r.get_float("power", 4);
    p.max_batches = r.get_int_in("max_batches", 0, 0, 1 << 30);
    p.policy = r.get_string("policy", "constant");
    static const char* policies[] = {"constant", "step", "steps", "poly", "exp", "sig", "random"};
    bool known = false;
    for (auto* name : policies) known |= p.policy == name;
    if (!known) r.fail("policy", "expected one of constant, step, steps, poly, exp, sig, random; got '" + p.policy + "'");
    p.steps = r.get_ints("steps");
    p.scales = r.get_floats("scales");
    if (p.steps.size() != p.scales.size())
        r.fail("scales", "expected as many scales as steps (" + std::to_string(p.steps.size()) + "), got " +
                             std::to_string(p.scales.size()));
    p.gamma = r.get_float("gamma", 1);
    p.step = r.get_int_in("step", 1, 1, 1 << 30);
    p.scale = r.get_float("scale", 1);
    return p;
}

}  // namespace

void Network::require_rgb_input() const {
    if (net_.channels != 3)
        throw error_at(cfg_path_, net_.channels_line,
                       "channels=" + std::to_string(net_.channels) +
                           ": yolo9k feeds images to a network as 3 planes (RGB), as darknet's detector and "
                           "classifier do; a network that reads images needs channels=3");
}

Network Network::from_cfg_file(const std::string& path, const NetworkOptions& opts) {
    return from_cfg(read_cfg_file(path), opts);
}

namespace {

// Weights plus one image's output of a layer: what inference at batch 1 holds for it.
uint64_t inference_bytes(Layer& l) {
    uint64_t bytes = uint64_t(l.output_shape().size()) * sizeof(float);
    for (const auto& b : l.weight_blobs()) bytes += uint64_t(b.data->size()) * sizeof(float);
    return bytes;
}

}  // namespace

Network Network::from_cfg(const CfgFile& cfg, const NetworkOptions& opts) {
    Network net;
    net.cfg_path_ = cfg.path;
    const CfgSection& head = cfg.sections.front();
    if (head.type != "net" && head.type != "network")
        throw error_at(cfg.path, head.line, "first section is [" + head.type + "]; expected [net]");
    {
        SectionReader r(cfg, head);
        if (!r.has("width") || !r.has("height") || !r.has("channels"))
            r.fail_section("expected width, height and channels");
        net.net_ = parse_net_section(r);
        if (const CfgOption* c = head.find("channels")) net.net_.channels_line = c->line;
        r.finish();
    }
    if (opts.width) net.net_.width = *opts.width;
    if (opts.height) net.net_.height = *opts.height;
    if (cfg.sections.size() < 2) throw error_at(cfg.path, head.line, "the network has no layers after [net]");

    std::vector<Shape> outputs;
    uint64_t running_bytes = uint64_t(net.input_shape().size()) * sizeof(float);
    for (size_t s = 1; s < cfg.sections.size(); ++s) {
        const CfgSection& section = cfg.sections[s];
        int index = int(s) - 1;
        const LayerFactory* factory = find_layer_factory(section.type);
        if (!factory) {
            std::string known;
            for (const auto& n : registered_layers()) known += (known.empty() ? "" : ", ") + n;
            throw error_at(cfg.path, section.line, "unknown section [" + section.type + "]; expected one of " + known);
        }
        SectionReader r(cfg, section);
        LayerBuildContext ctx{index, &outputs, index == 0 ? net.input_shape() : outputs.back(), &net.net_};
        std::unique_ptr<Layer> layer = (*factory)(r, ctx);
        r.finish();
        layer->index_ = index;
        layer->cfg_line_ = section.line;
        layer->cfg_path_ = cfg.path;
        if (layer->sources_.empty()) layer->sources_ = {index - 1};
        std::vector<Shape> in;
        for (int src : layer->sources_) in.push_back(src < 0 ? net.input_shape() : outputs.at(src));
        layer->reshape(in);
        outputs.push_back(layer->output_shape());
        net.layers_.push_back(std::move(layer));
        // Checked as layers are made: the next conv's weights are only allocated if this passes.
        net.check_memory_at(*net.layers_.back(), running_bytes += inference_bytes(*net.layers_.back()));
    }
    return net;
}

int Network::output_layer() const {
    for (int i = size() - 1; i > 0; --i)
        if (!layers_[i]->is_identity()) return i;
    return 0;
}

void Network::resize(int width, int height) {
    net_.width = width;
    net_.height = height;
    std::vector<Shape> outputs;
    for (auto& layer : layers_) {
        std::vector<Shape> in;
        for (int src : layer->sources_) in.push_back(src < 0 ? input_shape() : outputs.at(src));
        layer->reshape(in);
        outputs.push_back(layer->output_shape());
    }
    check_memory();
}

void Network::check_memory() const {
    uint64_t bytes = uint64_t(input_shape().size()) * sizeof(float);
    for (const auto& l : layers_) check_memory_at(*l, bytes += inference_bytes(*l));
}

void Network::check_memory_at(const Layer& layer, uint64_t bytes) const {
    if (!over_network_limit(bytes)) return;
    throw error_at(cfg_path_, layer.cfg_line(),
                   "[" + std::string(layer.type()) + "]: " +
                       network_limit_message(bytes, "the weights and outputs up to this layer at " +
                                                        std::to_string(net_.width) + "x" + std::to_string(net_.height)));
}

double Network::total_flops() const {
    double total = 0;
    for (const auto& l : layers_) total += l->flops();
    return total;
}

size_t Network::weights_file_bytes(int upto) const {
    if (upto < 0 || upto > size()) upto = size();
    size_t bytes = header_.bytes();
    for (int i = 0; i < upto; ++i)
        for (const auto& blob : layers_[i]->weight_blobs()) bytes += blob.data->size() * sizeof(float);
    return bytes;
}

namespace {

// Weights that would run but compute garbage: NaN or infinite values anywhere, or a negative
// batch-norm variance (its square root is NaN). Refused with the byte offset of the first one.
void check_weight_values(const WeightBlob& b, const Layer& layer, const std::string& path, size_t offset,
                         const std::string& cfg_path) {
    const bool variance = std::string_view(b.name) == "rolling_variance";
    const std::vector<float>& v = *b.data;
    for (size_t i = 0; i < v.size(); ++i) {
        const float x = v[i];
        if (std::isfinite(x) && !(variance && x < 0)) continue;
        throw Error(path + ": byte " + std::to_string(offset + i * sizeof(float)) + ": " + b.name + "[" +
                    std::to_string(i) + "] of layer " + std::to_string(layer.index()) + " (" +
                    std::string(layer.type()) + ", " + cfg_path + ":" + std::to_string(layer.cfg_line()) + ") is " +
                    std::to_string(x) + "; expected " + (variance ? "a finite value >= 0" : "a finite value") +
                    " (a damaged or diverged weights file)");
    }
}

}  // namespace

int Network::load_weights(const std::string& path, bool allow_prefix) {
    // The size must match the cfg exactly (checked below), so no separate byte limit here.
    const uintmax_t actual = check_regular_file(path, "weights file", UINTMAX_MAX);
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(path + ": cannot open weights file");

    auto read_exact = [&](void* dst, size_t n) { return bool(f.read(static_cast<char*>(dst), std::streamsize(n))); };
    WeightsHeader h;
    if (actual < 12 || !read_exact(&h.major, 4) || !read_exact(&h.minor, 4) || !read_exact(&h.revision, 4))
        throw Error(path + ": too short for a .weights header (" + std::to_string(actual) + " bytes, expected at least 16)");
    if (h.wide_seen()) {
        if (!read_exact(&h.seen, 8))
            throw Error(path + ": too short for a .weights header (" + std::to_string(actual) + " bytes, expected 20)");
    } else {
        int32_t seen32 = 0;
        if (!read_exact(&seen32, 4))
            throw Error(path + ": too short for a .weights header (" + std::to_string(actual) + " bytes, expected 16)");
        h.seen = uint32_t(seen32);
    }
    if (h.major < 0 || h.minor < 0 || h.major > 1000 || h.minor > 1000)
        throw Error(path + ": header version " + std::to_string(h.major) + "." + std::to_string(h.minor) +
                    " is not a darknet .weights file (expected small major/minor, e.g. 0.2)");
    // What the cfg expects, with layer boundaries so a short file can say where it ends.
    header_ = h;
    const size_t expected = weights_file_bytes();
    size_t offset = h.bytes();
    int loaded = 0;
    if (actual > expected)
        throw Error(path + ": " + std::to_string(actual) + " bytes, but " + cfg_path_ + " needs exactly " +
                    std::to_string(expected) + " (" + std::to_string(actual - expected) +
                    " bytes too many: do the cfg and the weights belong together?)");
    for (auto& layer : layers_) {
        auto blobs = layer->weight_blobs();
        size_t layer_bytes = 0;
        for (const auto& b : blobs) layer_bytes += b.data->size() * sizeof(float);
        if (layer_bytes == 0) {
            ++loaded;
            continue;
        }
        if (offset == actual && allow_prefix) break;
        if (offset + layer_bytes > actual) {
            throw Error(path + ": file ends at byte " + std::to_string(actual) + " inside the weights of layer " +
                        std::to_string(layer->index()) + " (" + std::string(layer->type()) + ", " + cfg_path_ + ":" +
                        std::to_string(layer->cfg_line()) + "), which need bytes " + std::to_string(offset) + ".." +
                        std::to_string(offset + layer_bytes) + "; the whole file should be " +
                        std::to_string(expected) + " bytes");
        }
        for (const auto& b : blobs) {
            if (!read_exact(b.data->data(), b.data->size() * sizeof(float)))
                throw Error(path + ": read error at byte " + std::to_string(offset));
            check_weight_values(b, *layer, path, offset, cfg_path_);
            offset += b.data->size() * sizeof(float);
        }
        ++loaded;
    }
    weights_released_ = false;
    return loaded;
}

void Network::save_weights(const std::string& path, int upto) const {
    if (weights_released_) throw Error(path + ": cannot save: this network's host weights were released");
    if (batch_norm_folded_) throw Error(path + ": cannot save: batch norm was folded into this network's weights for inference");
    if (upto < 0 || upto > size()) upto = size();
    // Temp file + fsync + rename: a crash or kill never leaves a truncated .weights.
    AtomicFile f(path);
    f.write(&header_.major, 4);
    f.write(&header_.minor, 4);
    f.write(&header_.revision, 4);
    if (header_.wide_seen()) {
        f.write(&header_.seen, 8);
    } else {
        int32_t seen32 = int32_t(header_.seen);
        f.write(&seen32, 4);
    }
    for (int i = 0; i < upto; ++i)
        for (const auto& b : const_cast<Layer&>(*layers_[i]).weight_blobs())
            f.write(b.data->data(), b.data->size() * sizeof(float));
    f.commit();
}

void Network::fold_batch_norm() {
    for (auto& l : layers_) l->fold_batch_norm();
    batch_norm_folded_ = true;
}

void Network::release_weights() {
    for (auto& l : layers_) l->release_weights();
    weights_released_ = true;
}

std::string Network::describe() const {
    std::ostringstream out;
    out << "layer     filters    size              input                output\n";
    char buf[64];
    for (int i = 0; i < size(); ++i) {
        std::snprintf(buf, sizeof buf, "%5d ", i);
        out << buf << layers_[i]->describe() << "\n";
    }
    std::snprintf(buf, sizeof buf, "Total BFLOPs: %.2f\n", total_flops() / 1e9);
    out << buf;
    return out.str();
}

}  // namespace yolo9k
