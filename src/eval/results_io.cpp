#include "eval/results_io.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_read.h"
#include "core/json_read.h"

namespace yolo9k::eval {
namespace {

namespace fs = std::filesystem;

bool all_digits(const std::string& s) {
    return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class ImageIndex {
public:
    explicit ImageIndex(const Truth& truth) {
        for (int i = 0; i < int(truth.image_ids.size()); ++i) {
            by_name_.emplace(truth.image_ids[i], i);  // first wins on duplicate ids
            if (all_digits(truth.image_ids[i])) by_number_.emplace(std::stoll(truth.image_ids[i]), i);
        }
    }
    int find(const std::string& id) const {
        auto it = by_name_.find(id);
        return it == by_name_.end() ? -1 : it->second;
    }
    int find(long long id) const {
        auto it = by_number_.find(id);
        return it == by_number_.end() ? -1 : it->second;
    }

private:
    std::unordered_map<std::string, int> by_name_;
    std::unordered_map<long long, int> by_number_;
};

int class_index(const Truth& truth, const std::string& name) {
    auto it = std::find(truth.class_names.begin(), truth.class_names.end(), name);
    return it == truth.class_names.end() ? -1 : int(it - truth.class_names.begin());
}

std::vector<ScoredBox> read_comp4_file(const std::string& path, const Truth& truth, const ImageIndex& images) {
    const std::string name = class_from_comp4_name(fs::path(path).filename().string());
    if (name.empty())
        throw Error(path + ": not a comp4 detections file (expected a name like comp4_det_test_<class>.txt)");
    const int cls = class_index(truth, name);
    if (cls < 0) throw Error(path + ": class '" + name + "' (from the file name) is not in the class names");
    std::istringstream f(read_text_file_bounded(path, "comp4 detections file"));
    std::vector<ScoredBox> out;
    std::string line;
    for (int n = 1; std::getline(f, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        std::istringstream s(line);
        std::string id, extra;
        double score, x1, y1, x2, y2;
        if (!(s >> id >> score >> x1 >> y1 >> x2 >> y2) || (s >> extra))
            throw error_at(path, n, "expected '<image_id> <score> <xmin> <ymin> <xmax> <ymax>'");
        if (!std::isfinite(score) || !std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2))
            throw error_at(path, n, "non-finite number");
        const int img = images.find(id);
        if (img < 0) throw error_at(path, n, "image '" + id + "' is not in the evaluated set");
        // 1-based inclusive pixels back to the detector's 0-based edges.
        out.push_back({img, cls, float(score), Box{float(x1 - 1), float(y1 - 1), float(x2 - 1), float(y2 - 1)}});
    }
    return out;
}

// Darknet clamps written boxes to the image; we do too when the size is known.
Box clamped(const Box& b, const Truth& truth, int image) {
    Box c = b;
    const int w = image < int(truth.widths.size()) ? truth.widths[image] : 0;
    const int h = image < int(truth.heights.size()) ? truth.heights[image] : 0;
    c.x1 = std::max(c.x1, 0.f), c.y1 = std::max(c.y1, 0.f);
    if (w > 0) c.x2 = std::min(c.x2, float(w - 1));
    if (h > 0) c.y2 = std::min(c.y2, float(h - 1));
    return c;
}

}  // namespace

std::string class_from_comp4_name(const std::string& filename) {
    const std::string marker = "_det_test_";
    const size_t at = filename.find(marker);
    if (at == std::string::npos || filename.size() < 4 || filename.substr(filename.size() - 4) != ".txt") return "";
    return filename.substr(at + marker.size(), filename.size() - 4 - at - marker.size());
}

std::vector<std::string> write_comp4(const std::string& dir, const Truth& truth, const std::vector<ScoredBox>& detections) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir + ": cannot create directory: " + ec.message());
    std::vector<std::string> paths;
    std::vector<FILE*> files;
    struct Closer {
        std::vector<FILE*>& f;
        ~Closer() {
            for (FILE* p : f) std::fclose(p);
        }
    } closer{files};
    for (const auto& name : truth.class_names) {
        paths.push_back((fs::path(dir) / (kComp4Prefix + name + ".txt")).string());
        FILE* f = std::fopen(paths.back().c_str(), "w");
        if (!f) throw Error(paths.back() + ": cannot open for writing");
        files.push_back(f);
    }
    for (const auto& d : detections) {
        if (d.class_id < 0 || d.class_id >= truth.classes() || d.image < 0 || d.image >= int(truth.image_ids.size()))
            throw Error("write_comp4: detection with class " + std::to_string(d.class_id) + " / image " +
                        std::to_string(d.image) + " outside the set");
        const Box b = clamped(d.box, truth, d.image);
        std::fprintf(files[d.class_id], "%s %f %f %f %f %f\n", truth.image_ids[d.image].c_str(), d.score, b.x1 + 1,
                     b.y1 + 1, b.x2 + 1, b.y2 + 1);
    }
    for (size_t i = 0; i < files.size(); ++i)
        if (std::ferror(files[i])) throw Error(paths[i] + ": write failed");
    return paths;
}

std::vector<ScoredBox> read_comp4(const std::string& path, const Truth& truth) {
    const ImageIndex images(truth);
    if (!fs::is_directory(path)) {
        if (!fs::exists(path)) throw Error(path + ": no such detections file or directory");
        return read_comp4_file(path, truth, images);
    }
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(path))
        if (e.is_regular_file() && !class_from_comp4_name(e.path().filename().string()).empty())
            files.push_back(e.path().string());
    if (files.empty()) throw Error(path + ": no *_det_test_<class>.txt files in this directory");
    std::sort(files.begin(), files.end());  // a fixed order keeps tie ranking reproducible
    std::vector<ScoredBox> all;
    for (const auto& f : files) {
        auto part = read_comp4_file(f, truth, images);
        all.insert(all.end(), part.begin(), part.end());
    }
    return all;
}

void write_coco_results(const std::string& path, const Truth& truth, const std::vector<ScoredBox>& detections) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : detections) {
        if (d.class_id < 0 || d.class_id >= truth.classes() || d.image < 0 || d.image >= int(truth.image_ids.size()))
            throw Error("write_coco_results: detection outside the set");
        const std::string& id = truth.image_ids[d.image];
        const Box b = clamped(d.box, truth, d.image);
        nlohmann::json entry;
        entry["image_id"] = all_digits(id) ? nlohmann::json(std::stoll(id)) : nlohmann::json(id);
        entry["category_id"] = d.class_id + 1;
        entry["bbox"] = {b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1};
        entry["score"] = d.score;
        out.push_back(std::move(entry));
    }
    std::ofstream f(path);
    if (!f) throw Error(path + ": cannot open for writing");
    f << dump_json(out) << "\n";
    if (!f) throw Error(path + ": write failed");
}

std::vector<ScoredBox> read_coco_results(const std::string& path, const Truth& truth) {
    const std::string text = read_text_file_bounded(path, "COCO results file");
    const nlohmann::json j = parse_json_file_text(text, path);
    if (!j.is_array()) throw Error(path + ": expected a JSON array of {image_id, category_id, bbox, score}");
    const ImageIndex images(truth);
    std::vector<ScoredBox> out;
    for (size_t n = 0; n < j.size(); ++n) {
        const auto& e = j[n];
        const std::string where = path + ": entry " + std::to_string(n) + ": ";
        if (!e.is_object() || !e.contains("image_id") || !e.contains("category_id") || !e.contains("bbox") ||
            !e.contains("score"))
            throw Error(where + "expected an object with image_id, category_id, bbox and score");
        const auto& id = e["image_id"];
        int img = -1;
        if (id.is_number_integer()) {
            const std::optional<long long> n = json_number<long long>(id);
            if (!n) throw Error(where + "image_id " + brief_json(id) + " is out of range");
            img = images.find(*n);
        }
        else if (id.is_string()) img = images.find(id.get<std::string>());
        else throw Error(where + "image_id must be a number or a string");
        if (img < 0) throw Error(where + "image " + brief_json(id) + " is not in the evaluated set");
        const std::optional<long long> cat_id = json_number<long long>(e["category_id"]);
        if (!e["category_id"].is_number_integer() || !cat_id) throw Error(where + "category_id must be an integer");
        const long long cat = *cat_id;
        if (cat < 1 || cat > truth.classes())
            throw Error(where + "category_id " + std::to_string(cat) + " is not a known class (expected 1.." +
                        std::to_string(truth.classes()) + ", class index + 1)");
        const auto& bb = e["bbox"];
        if (!bb.is_array() || bb.size() != 4 ||
            !std::all_of(bb.begin(), bb.end(), [](auto& v) { return json_number<float>(v).has_value(); }))
            throw Error(where + "bbox must be [x, y, width, height], finite numbers");
        const std::optional<float> score = json_number<float>(e["score"]);
        if (!score) throw Error(where + "score must be a finite number");
        const float x = *json_number<float>(bb[0]), y = *json_number<float>(bb[1]), w = *json_number<float>(bb[2]),
                    h = *json_number<float>(bb[3]);
        out.push_back({img, int(cat - 1), *score, Box{x, y, x + w, y + h}});
    }
    return out;
}

nlohmann::json to_json(const EvalResult& r) {
    auto value = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
    nlohmann::json j = {{"map50_voc07", value(r.map_voc07)}, {"map50", value(r.map_voc)},
                        {"map_coco", value(r.map_coco)},     {"ap50", value(r.ap50)},
                        {"ap75", value(r.ap75)},             {"images", r.images},
                        {"classes_with_truth", r.classes_with_truth}, {"skipped_images", r.skipped},
                        {"per_class", nlohmann::json::array()}};
    for (const auto& c : r.per_class)
        j["per_class"].push_back({{"name", c.name},
                                  {"truth", c.truth},
                                  {"difficult", c.difficult},
                                  {"detections", c.detections},
                                  {"ap50_voc07", value(c.ap_voc07)},
                                  {"ap50", value(c.ap_voc)},
                                  {"ap_coco", value(c.ap_coco)},
                                  {"ap50_coco", value(c.ap50)},
                                  {"ap75_coco", value(c.ap75)}});
    return j;
}

std::vector<ScoredBox> read_detections(const std::string& path, const Truth& truth) {
    if (fs::is_directory(path) || fs::path(path).extension() == ".txt") return read_comp4(path, truth);
    if (fs::path(path).extension() == ".json") return read_coco_results(path, truth);
    throw Error(path + ": unknown detections format (expected a comp4 directory or .txt file, or COCO results .json)");
}

}  // namespace yolo9k::eval
