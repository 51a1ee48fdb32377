// Dataset entry points: format dispatch, merging, .data/.names files, and the bad-data
// bookkeeping every reader shares.
#include "data/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "core/file_read.h"
#include "core/text.h"
#include "data/dataset_readers.h"
#include "yolo9k/detector.h"  // read_names_file

namespace yolo9k {
namespace fs = std::filesystem;

namespace data_detail {

void ReportBuilder::note(Kind kind, const std::string& where, const std::string& what) {
    switch (kind) {
        case BadSize: case Outside: case UnknownClass: ++report_.skipped_boxes; break;
        case Clipped: ++report_.clipped_boxes; break;
        case MissingLabels: ++report_.images_without_labels; break;
        case MissingImage: ++report_.missing_images; break;
        case KindCount: break;
    }
    if (shown_[kind]++ >= kWarningsPerKind) return;
    std::string message = where + ": " + what;
    if (shown_[kind] == kWarningsPerKind) message += " (further ones of this kind are only counted)";
    if (!quiet_) log_message(LogLevel::warning, message);
    report_.warnings.push_back(std::move(message));
}

bool accept_box(float left, float top, float right, float bottom, float tol_x, float tol_y,
                const std::string& where, ReportBuilder& report, TruthBox& out) {
    if (!(right > left) || !(bottom > top)) {  // also catches NaN
        report.note(ReportBuilder::BadSize, where, "box has zero or negative size, skipped");
        return false;
    }
    const float cl = std::clamp(left, 0.f, 1.f), ct = std::clamp(top, 0.f, 1.f);
    const float cr = std::clamp(right, 0.f, 1.f), cb = std::clamp(bottom, 0.f, 1.f);
    if (!(cr > cl) || !(cb > ct)) {
        report.note(ReportBuilder::Outside, where, "box lies outside the image, skipped");
        return false;
    }
    if (cl - left > tol_x || right - cr > tol_x || ct - top > tol_y || bottom - cb > tol_y)
        report.note(ReportBuilder::Clipped, where, "box reaches outside the image, clipped");
    out.x = (cl + cr) / 2;
    out.y = (ct + cb) / 2;
    out.w = cr - cl;
    out.h = cb - ct;
    return true;
}

ClassIndex::ClassIndex(const std::vector<std::string>& names, bool skip_unknown)
    : skip_unknown_(skip_unknown) {
    for (size_t i = 0; i < names.size(); ++i) ids_.emplace(names[i], static_cast<int>(i));
}

int ClassIndex::find(const std::string& name, const std::string& where, ReportBuilder& report) const {
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    if (!skip_unknown_) throw Error(where + ": unknown class name '" + name + "'");
    report.note(ReportBuilder::UnknownClass, where, "unknown class name '" + name + "', box skipped");
    return -1;
}

std::string where_in(const std::string& file, const std::string& text, size_t offset) {
    offset = std::min(offset, text.size());
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n');
    return file + ":" + std::to_string(line);
}

std::string read_text_file(const std::string& path) {
    return read_text_file_bounded(path, "file");
}

std::string resolve_beside(const std::string& path, const std::string& anchor_file) {
    if (path.empty() || fs::exists(path) || fs::path(path).is_absolute()) return path;
    const fs::path beside = fs::path(anchor_file).parent_path() / path;
    return fs::exists(beside) ? beside.string() : path;
}

}  // namespace data_detail

using namespace data_detail;

namespace {

bool has_xml_files(const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".xml") return true;
    return false;
}

}  // namespace

namespace data_detail {

std::vector<fs::path> xml_subfolders(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory(ec) && has_xml_files(e.path())) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace data_detail

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

Dataset load_dataset(const std::string& path, const DatasetOptions& options) {
    const fs::path p(path);
    std::error_code ec;
    if (!fs::exists(p, ec))
        throw Error(path + ": no such file or directory (expected a .data file, an image list, a "
                           "VOC folder, a folder of VOC XMLs or a COCO JSON file)");
    // Only VOC folders and .data files have splits: anywhere else a --split would be silently
    // ignored, and the user would train and validate on the same images.
    auto refuse_split = [&](const std::string& form) {
        if (!options.split.empty())
            throw Error(path + ": split '" + options.split + "' given, but " + form +
                        " has no splits (splits come from a VOC folder's ImageSets/Main or a .data file's "
                        "train/valid lists; write list files for a hold-out)");
    };
    if (fs::is_directory(p)) {
        if (fs::is_directory(p / "Annotations")) return read_voc_folder(path, options);
        refuse_split("a folder of VOC XMLs");
        if (has_xml_files(p) || !xml_subfolders(p).empty()) return read_voc_xml_folder(path, options);
        std::string found;
        std::error_code dir_ec;
        for (const auto& e : fs::directory_iterator(p, dir_ec))
            if (e.is_directory()) found += (found.empty() ? "" : ", ") + e.path().filename().string() + "/";
        throw Error(path + ": directory holds no Annotations/ folder and no .xml annotations, here or one level down "
                           "(expected a VOC folder or a folder of VOC XMLs" +
                    (found.empty() ? std::string(")") : "; subfolders: " + found + ")"));
    }
    const std::string ext = lower(p.extension().string());
    if (ext == ".data") {
        return load_dataset_split(read_data_file(path), options.split.empty() ? "train" : options.split,
                                  options);
    }
    if (ext == ".json") {
        refuse_split("a COCO JSON file");
        return read_coco_json(path, options);
    }
    refuse_split("an image list");
    return read_darknet_list(path, options);
}

Dataset load_dataset_split(const DataFile& data, const std::string& split, const DatasetOptions& options) {
    if (split != "train" && split != "valid")
        throw Error(data.path + ": split '" + split + "' is not one of train, valid");
    const std::string list = resolve_beside(split == "train" ? data.train : data.valid, data.path);
    if (list.empty()) throw Error(data.path + ": has no '" + split + "' entry");
    // A .data naming a .data (itself, or one naming it back) would recurse without end.
    if (lower(fs::path(list).extension().string()) == ".data")
        throw Error(data.path + ": " + split + " = " + list +
                    " is another .data file; expected an image list, a VOC folder or a COCO JSON file");
    DatasetOptions inner = options;
    inner.split.clear();  // the list itself is the split
    if (inner.class_names.empty() && !data.names.empty())
        inner.class_names = read_names_file(resolve_beside(data.names, data.path));
    if (!inner.class_names.empty() && data.classes > 0 &&
        static_cast<int>(inner.class_names.size()) != data.classes)
        throw Error(data.path + ": classes = " + std::to_string(data.classes) + " but " + data.names +
                    " names " + std::to_string(inner.class_names.size()));
    return load_dataset(list, inner);
}

Dataset load_datasets(const std::vector<std::string>& paths, const DatasetOptions& options) {
    Dataset merged;
    merged.class_names = options.class_names;
    std::unordered_map<std::string, int> merged_id;  // name -> merged index (first one wins, as before)
    for (size_t i = 0; i < merged.class_names.size(); ++i)
        merged_id.emplace(merged.class_names[i], static_cast<int>(i));
    for (const std::string& path : paths) {
        Dataset part = load_dataset(path, options);
        // Remap this part's ids onto the merged names (new names appended).
        std::vector<int> remap(part.class_names.size());
        for (size_t i = 0; i < part.class_names.size(); ++i) {
            const auto [it, added] = merged_id.emplace(part.class_names[i], static_cast<int>(merged.class_names.size()));
            if (added) merged.class_names.push_back(part.class_names[i]);
            remap[i] = it->second;
        }
        for (LabeledImage& image : part.images) {
            for (TruthBox& box : image.boxes) box.class_id = remap.at(static_cast<size_t>(box.class_id));
            merged.images.push_back(std::move(image));
        }
        DataReport& r = merged.report;
        r.images += part.report.images;
        r.boxes += part.report.boxes;
        r.skipped_boxes += part.report.skipped_boxes;
        r.images_without_labels += part.report.images_without_labels;
        r.clipped_boxes += part.report.clipped_boxes;
        r.missing_images += part.report.missing_images;
        r.warnings.insert(r.warnings.end(), part.report.warnings.begin(), part.report.warnings.end());
    }
    return merged;
}

std::string darknet_label_path(const std::string& image_path) {
    std::string s = image_path;
    auto replace_dir = [&s](const std::string& from) {
        const std::string needle = "/" + from + "/";
        if (auto pos = s.find(needle); pos != std::string::npos) {
            s.replace(pos, needle.size(), "/labels/");
        } else if (s.rfind(from + "/", 0) == 0) {  // a relative path starting with the folder
            s.replace(0, from.size(), "labels");
        }
    };
    replace_dir("images");
    replace_dir("JPEGImages");
    return fs::path(s).replace_extension(".txt").string();
}

std::vector<size_t> count_boxes_per_class(const Dataset& dataset) {
    std::vector<size_t> counts(dataset.class_names.size());
    for (const LabeledImage& image : dataset.images)
        for (const TruthBox& box : image.boxes)
            if (box.class_id >= 0 && static_cast<size_t>(box.class_id) < counts.size()) ++counts[box.class_id];
    return counts;
}

std::string DataFile::get(const std::string& key) const {
    for (const auto& [k, v] : entries)
        if (k == key) return v;
    return "";
}

DataFile read_data_file(const std::string& path) {
    DataFile data;
    data.path = path;
    std::istringstream in(read_text_file(path));
    int line_no = 0;
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        const std::string line = trim(raw);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) throw error_at(path, line_no, "expected 'key = value', got '" + line + "'");
        std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
        if (key.empty()) throw error_at(path, line_no, "missing key before '='");
        auto to_int = [&](const std::string& v) {
            try {
                size_t used = 0;
                const int n = std::stoi(v, &used);
                if (used == v.size() && n >= 0) return n;
            } catch (const std::exception&) {
            }
            throw error_at(path, line_no, key + ": expected a non-negative integer, got '" + v + "'");
        };
        if (key == "classes") data.classes = to_int(value);
        else if (key == "top") data.top = to_int(value);
        else if (key == "train") data.train = value;
        else if (key == "valid") data.valid = value;
        else if (key == "names") data.names = value;
        else if (key == "backup") data.backup = value;
        else if (key == "labels") data.labels = value;
        else if (key == "map") data.map = value;
        else if (key == "eval") data.eval = value;
        data.entries.emplace_back(std::move(key), std::move(value));
    }
    return data;
}

}  // namespace yolo9k
