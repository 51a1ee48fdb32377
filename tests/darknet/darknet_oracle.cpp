#include "darknet_oracle.h"

#include <darknet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace yolo9k::test {

namespace {

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

}  // namespace

void write_darknet_cfg(const std::string& src, const std::string& dst, int width, int height, int batch) {
    std::ifstream in(src);
    if (!in) throw std::runtime_error("cannot read " + src);
    std::ostringstream out;
    bool in_net = false, saw_net = false;
    std::string line;
    while (std::getline(in, line)) {
        const std::string t = trim(line);
        if (!t.empty() && t.front() == '[') {
            const std::string section = lower(t);
            in_net = section == "[net]" || section == "[network]";
            out << line << '\n';
            if (in_net) {
                saw_net = true;
                out << "batch=" << batch << "\nsubdivisions=1\nwidth=" << width << "\nheight=" << height << '\n';
            }
            continue;
        }
        if (in_net) {
            const auto eq = t.find('=');
            if (eq != std::string::npos && t.front() != '#' && t.front() != ';') {
                const std::string key = lower(trim(t.substr(0, eq)));
                if (key == "width" || key == "height" || key == "batch" || key == "subdivisions") continue;
            }
        }
        out << line << '\n';
    }
    if (!saw_net) throw std::runtime_error(src + ": no [net] section");
    std::ofstream o(dst, std::ios::binary);
    o << out.str();
    if (!o) throw std::runtime_error("cannot write " + dst);
}

std::string test_name(std::string s) {
    for (char& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return s;
}

DarknetNet::DarknetNet(const std::string& cfg, const std::string& weights, int batch) {
    std::string c = cfg, w = weights;
    net_ = load_network(c.data(), w.empty() ? nullptr : w.data(), 0);
    if (!net_) throw std::runtime_error("libdarknet could not load " + cfg);
    if (net_->batch < batch) {
        free_network(net_);
        net_ = nullptr;
        throw std::runtime_error(cfg + ": [net] batch is smaller than the batch asked for");
    }
    set_batch_network(net_, batch);
}

DarknetNet::~DarknetNet() {
    if (net_) free_network(net_);
}

int DarknetNet::batch() const { return net_->batch; }
int DarknetNet::layers() const { return net_->n; }
int DarknetNet::width() const { return net_->w; }
int DarknetNet::height() const { return net_->h; }
int DarknetNet::channels() const { return net_->c; }
size_t DarknetNet::input_size() const { return size_t(net_->inputs); }

int DarknetNet::output_layer() const {
    // As darknet's get_network_output_layer: the last layer that is not a cost layer.
    int i = net_->n - 1;
    while (i > 0 && net_->layers[i].type == COST) --i;
    return i;
}

size_t DarknetNet::output_size() const { return layer_output_size(output_layer()); }

size_t DarknetNet::layer_output_size(int i) const {
    if (i < 0 || i >= net_->n) throw std::out_of_range("darknet layer index");
    return size_t(net_->layers[i].outputs);
}
int DarknetNet::layer_out_c(int i) const { return net_->layers[i].out_c; }
int DarknetNet::layer_out_h(int i) const { return net_->layers[i].out_h; }
int DarknetNet::layer_out_w(int i) const { return net_->layers[i].out_w; }

std::vector<float> DarknetNet::predict(const float* input) {
    // network_predict keeps a pointer to its input (non-const), so hand it a copy.
    std::vector<float> in(input, input + size_t(batch()) * input_size());
    const float* out = network_predict(net_, in.data());
    return std::vector<float>(out, out + size_t(batch()) * output_size());
}

std::vector<float> DarknetNet::layer_output(int i) const {
    const float* p = net_->layers[i].output;
    return std::vector<float>(p, p + size_t(batch()) * layer_output_size(i));
}

void DarknetNet::save_weights(const std::string& path) const {
    std::string p = path;
    ::save_weights(net_, p.data());
}

std::vector<DarknetFound> darknet_reported_boxes(const detection* dets, int nboxes, int classes, float thresh,
                                                 int image_w, int image_h) {
    std::vector<DarknetFound> out;
    for (int i = 0; i < nboxes; ++i)
        for (int j = 0; j < classes; ++j) {
            if (!(dets[i].prob[j] > thresh)) continue;
            const box b = dets[i].bbox;
            const int left = std::clamp(int((b.x - b.w / 2.) * image_w), 0, image_w - 1);
            const int right = std::clamp(int((b.x + b.w / 2.) * image_w), 0, image_w - 1);
            const int top = std::clamp(int((b.y - b.h / 2.) * image_h), 0, image_h - 1);
            const int bot = std::clamp(int((b.y + b.h / 2.) * image_h), 0, image_h - 1);
            out.push_back({j, dets[i].prob[j], float(left), float(top), float(right), float(bot)});
        }
    return out;
}

void expect_same_detections(const std::vector<DarknetFound>& theirs, const std::vector<Detection>& ours,
                            const std::string& label) {
    ASSERT_GT(theirs.size(), 0u) << label << ": threshold too high for a meaningful comparison";
    ASSERT_EQ(ours.size(), theirs.size()) << label;
    std::vector<bool> used(ours.size(), false);
    float worst_score = 0, worst_px = 0;
    for (const DarknetFound& t : theirs) {
        int best = -1;
        float best_d = 1e9f;
        for (size_t k = 0; k < ours.size(); ++k) {
            if (used[k] || ours[k].class_id != t.cls) continue;
            const auto& b = ours[k].box;
            const float px = std::max({std::fabs(b.x1 - t.x1), std::fabs(b.y1 - t.y1), std::fabs(b.x2 - t.x2), std::fabs(b.y2 - t.y2)});
            // clamped boxes can coincide, so the score disambiguates
            const float d = px + 1000 * std::fabs(ours[k].score - t.score);
            if (d < best_d) best_d = d, best = int(k);
        }
        ASSERT_GE(best, 0) << label << ": darknet's class " << t.cls << " detection has no counterpart";
        used[best] = true;
        // darknet prints whole pixels (truncated); compare ours truncated the same way
        const auto& b = ours[best].box;
        auto px = [](float v) { return std::trunc(v); };
        worst_px = std::max({worst_px, std::fabs(px(b.x1) - t.x1), std::fabs(px(b.y1) - t.y1), std::fabs(px(b.x2) - t.x2),
                             std::fabs(px(b.y2) - t.y2)});
        worst_score = std::max(worst_score, std::fabs(ours[best].score - t.score));
    }
    std::cout << label << ": " << theirs.size() << " detections, worst score diff " << worst_score << ", worst box diff "
              << worst_px << " px" << std::endl;
    EXPECT_LE(worst_score, 1e-3f) << label;
    EXPECT_LE(worst_px, 1.f) << label;
}

}  // namespace yolo9k::test
