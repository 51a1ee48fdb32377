// Darknet list files (one image path per line) with YOLO label files ("class x y w h",
// relative) found by darknet's images → labels path rule.
#include <charconv>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/limits.h"
#include "core/text.h"
#include "data/dataset_readers.h"

namespace yolo9k::data_detail {
namespace fs = std::filesystem;

namespace {

// Relative edge tolerance for labels without a pixel size.
constexpr float kRelativeTolerance = 1e-3f;

// Splits on blanks; darknet's labels are space separated, some tools write tabs.
std::vector<std::string> fields_of(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    return fields;
}

template <typename T>
bool parse_number(const std::string& text, T& value) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end;
}

// Reads one YOLO label file; ids >= class_count (when known) are skipped.
void read_label_file(const std::string& path, int class_count, ReportBuilder& report, LabeledImage& image,
                     int& max_class_id) {
    std::istringstream in(read_text_file(path));
    int line_no = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (trim(line).empty()) continue;
        const std::string where = path + ":" + std::to_string(line_no);
        const std::vector<std::string> f = fields_of(line);
        int id = 0;
        float v[4];
        if (f.size() != 5 || !parse_number(f[0], id) || !parse_number(f[1], v[0]) ||
            !parse_number(f[2], v[1]) || !parse_number(f[3], v[2]) || !parse_number(f[4], v[3]))
            throw Error(where + ": expected 'class x y w h' (an integer and four numbers), got '" +
                        trim(line) + "'");
        if (id < 0 || (class_count > 0 && id >= class_count)) {
            report.note(ReportBuilder::UnknownClass, where,
                        "class id " + std::to_string(id) + " out of range [0, " +
                            (class_count > 0 ? std::to_string(class_count) : std::string("inf")) +
                            "), box skipped");
            continue;
        }
        if (class_count == 0 && id >= limits().max_class_id)  // without names, ids name classes one by one
            throw Error(where + ": class id " + std::to_string(id) + " is over the limit of " +
                        std::to_string(limits().max_class_id) +
                        " classes (give the .names file, or raise the bound with --max-classes)");
        TruthBox box;
        box.class_id = id;
        const float half_w = v[2] / 2, half_h = v[3] / 2;
        if (!accept_box(v[0] - half_w, v[1] - half_h, v[0] + half_w, v[1] + half_h, kRelativeTolerance,
                        kRelativeTolerance, where, report, box))
            continue;
        max_class_id = std::max(max_class_id, id);
        image.boxes.push_back(box);
    }
}

}  // namespace

Dataset read_darknet_list(const std::string& path, const DatasetOptions& options) {
    Dataset dataset;
    dataset.class_names = options.class_names;
    ReportBuilder report(dataset.report, options.quiet);
    const int class_count = static_cast<int>(options.class_names.size());
    const fs::path list_dir = fs::path(path).parent_path();
    int max_class_id = -1;

    std::istringstream in(read_text_file(path));
    int line_no = 0;
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        const std::string entry = trim(raw);
        if (entry.empty()) continue;
        LabeledImage image;
        image.image_path = entry;
        if (!fs::exists(entry) && fs::path(entry).is_relative() && fs::exists(list_dir / entry))
            image.image_path = (list_dir / entry).string();
        image.id = fs::path(entry).stem().string();
        const std::string where = path + ":" + std::to_string(line_no);
        if (!fs::exists(image.image_path))
            report.note(ReportBuilder::MissingImage, where, "image " + image.image_path + " not found");
        const std::string labels = darknet_label_path(image.image_path);
        if (fs::is_regular_file(labels)) {
            read_label_file(labels, class_count, report, image, max_class_id);
        } else {
            report.note(ReportBuilder::MissingLabels, where,
                        "no label file " + labels + " for " + image.image_path + ", kept without boxes");
        }
        dataset.report.boxes += image.boxes.size();
        dataset.images.push_back(std::move(image));
    }
    dataset.report.images = dataset.images.size();
    // Without a .names file the ids name themselves.
    for (int id = static_cast<int>(dataset.class_names.size()); id <= max_class_id; ++id)
        dataset.class_names.push_back(std::to_string(id));
    return dataset;
}

}  // namespace yolo9k::data_detail
