// PASCAL VOC annotations: a VOC folder (Annotations/, JPEGImages/, ImageSets/Main/) or a
// plain folder of VOC XMLs beside their images (raccoon-style).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include <pugixml.hpp>

#include "core/error.h"
#include "data/dataset_readers.h"
#include "io/image_reader.h"

namespace yolo9k::data_detail {
namespace fs = std::filesystem;

namespace {

struct XmlFile {
    std::string path, text;
    pugi::xml_document doc;
};

void parse_xml(XmlFile& xml, const std::string& path) {
    xml.path = path;
    xml.text = read_text_file(path);
    const pugi::xml_parse_result result =
        xml.doc.load_buffer(xml.text.data(), xml.text.size(), pugi::parse_default);
    if (!result)
        throw Error(where_in(path, xml.text, static_cast<size_t>(std::max<ptrdiff_t>(result.offset, 0))) +
                    ": malformed XML: " + result.description());
    if (!xml.doc.child("annotation"))
        throw Error(path + ":1: expected a VOC <annotation> root element");
}

std::string where_node(const XmlFile& xml, const pugi::xml_node& node) {
    return where_in(xml.path, xml.text, static_cast<size_t>(std::max<ptrdiff_t>(node.offset_debug(), 0)));
}

// The number inside <parent><name>...</name></parent>; Error naming the line when absent or not a number.
double number_child(const XmlFile& xml, const pugi::xml_node& parent, const char* name) {
    const pugi::xml_node node = parent.child(name);
    if (!node) throw Error(where_node(xml, parent) + ": <" + parent.name() + "> has no <" + name + ">");
    const std::string text = node.text().as_string();
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end == text.c_str() || std::string(end).find_first_not_of(" \t\r\n") != std::string::npos ||
        !std::isfinite(value))
        throw Error(where_node(xml, node) + ": <" + name + "> expected a number, got '" + text + "'");
    return value;
}

std::vector<std::string> object_names(const std::string& path) {
    XmlFile xml;
    parse_xml(xml, path);
    std::vector<std::string> names;
    for (pugi::xml_node obj : xml.doc.child("annotation").children("object"))
        names.emplace_back(obj.child("name").text().as_string());
    return names;
}

// Sorted class names of all the annotation files (so splits of one folder agree on ids).
std::vector<std::string> discover_names(const std::vector<std::string>& xml_paths) {
    std::set<std::string> names;
    for (const std::string& p : xml_paths)
        for (std::string& n : object_names(p))
            if (!n.empty()) names.insert(std::move(n));
    return {names.begin(), names.end()};
}

// Reads one VOC XML. `find_image` maps the XML's <filename> (may be empty) to an image path.
template <typename FindImage>
LabeledImage read_voc_xml(const std::string& path, const ClassIndex& classes, ReportBuilder& report,
                          FindImage find_image) {
    XmlFile xml;
    parse_xml(xml, path);
    const pugi::xml_node ann = xml.doc.child("annotation");
    LabeledImage image;
    image.id = fs::path(path).stem().string();
    image.image_path = find_image(std::string(ann.child("filename").text().as_string()), image.id);
    if (!fs::exists(image.image_path))
        report.note(ReportBuilder::MissingImage, path, "image " + image.image_path + " not found");
    if (const pugi::xml_node size = ann.child("size")) {
        // 0 means "unknown" to some tools; anything else must be a plausible pixel count.
        auto side = [&](const char* name) {
            const double v = number_child(xml, size, name);
            if (v < 0 || v > 1e6 || v != std::floor(v))
                throw Error(where_node(xml, size.child(name)) + ": <" + name + "> expected a whole number of pixels from 0 to "
                            "1000000, got " + size.child(name).text().as_string());
            return static_cast<int>(v);
        };
        image.width = side("width");
        image.height = side("height");
    }
    if (image.width <= 0 || image.height <= 0) {
        // Some tools write <size> 0 0: the image itself knows.
        if (!fs::exists(image.image_path))
            throw Error(where_node(xml, ann) + ": no usable <size> and image " + image.image_path + " not found");
        const cv::Mat pixels = load_image(image.image_path);
        image.width = pixels.cols;
        image.height = pixels.rows;
    }
    const double w = image.width, h = image.height;
    for (pugi::xml_node obj : ann.children("object")) {
        const std::string where = where_node(xml, obj);
        const int id = classes.find(obj.child("name").text().as_string(), where, report);
        if (id < 0) continue;
        const pugi::xml_node bb = obj.child("bndbox");
        if (!bb) throw Error(where + ": <object> has no <bndbox>");
        const double xmin = number_child(xml, bb, "xmin"), xmax = number_child(xml, bb, "xmax");
        const double ymin = number_child(xml, bb, "ymin"), ymax = number_child(xml, bb, "ymax");
        // voc_label.py: centre ((min + max) / 2 - 1) / size (1-based pixels), size (max - min) / size.
        const double cx = ((xmin + xmax) / 2 - 1) / w, cy = ((ymin + ymax) / 2 - 1) / h;
        const double bw = (xmax - xmin) / w, bh = (ymax - ymin) / h;
        TruthBox box;
        box.class_id = id;
        box.difficult = obj.child("difficult").text().as_int(0) != 0;
        if (!accept_box(static_cast<float>(cx - bw / 2), static_cast<float>(cy - bh / 2),
                        static_cast<float>(cx + bw / 2), static_cast<float>(cy + bh / 2),
                        static_cast<float>(1.5 / w), static_cast<float>(1.5 / h), where, report, box))
            continue;
        image.boxes.push_back(box);
    }
    if (image.boxes.empty() && !ann.child("object"))
        report.note(ReportBuilder::MissingLabels, path, "no <object> in the annotation");
    return image;
}

std::vector<std::string> xml_files_in(const fs::path& dir) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".xml") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<std::string> split_ids(const std::string& path) {
    std::istringstream in(read_text_file(path));
    std::vector<std::string> ids;
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);  // class files carry "id  1": the id is the first field
        if (std::string id; fields >> id) ids.push_back(id);
    }
    return ids;
}

Dataset read_xml_files(const std::vector<std::string>& xml_paths, const std::vector<std::string>& names_scope,
                       const DatasetOptions& options, const auto& find_image) {
    Dataset dataset;
    dataset.class_names = options.class_names.empty() ? discover_names(names_scope) : options.class_names;
    ReportBuilder report(dataset.report, options.quiet);
    const ClassIndex classes(dataset.class_names, options.skip_unknown_classes);
    for (const std::string& p : xml_paths) {
        dataset.images.push_back(read_voc_xml(p, classes, report, find_image));
        dataset.report.boxes += dataset.images.back().boxes.size();
    }
    dataset.report.images = dataset.images.size();
    return dataset;
}

}  // namespace

Dataset read_voc_folder(const std::string& dir, const DatasetOptions& options) {
    const fs::path root(dir);
    const std::vector<std::string> all = xml_files_in(root / "Annotations");
    std::vector<std::string> selected = all;
    if (!options.split.empty()) {
        const fs::path split_file = root / "ImageSets" / "Main" / (options.split + ".txt");
        if (!fs::exists(split_file))
            throw Error(split_file.string() + ": no such split file (split '" + options.split + "')");
        selected.clear();
        for (const std::string& id : split_ids(split_file.string())) {
            const fs::path xml = root / "Annotations" / (id + ".xml");
            if (!fs::exists(xml)) throw Error(split_file.string() + ": " + xml.string() + " not found");
            selected.push_back(xml.string());
        }
    }
    const fs::path images = root / "JPEGImages";
    auto find_image = [&](const std::string& filename, const std::string& id) {
        if (!filename.empty() && fs::exists(images / filename)) return (images / filename).string();
        return (images / (id + ".jpg")).string();
    };
    return read_xml_files(selected, all, options, find_image);
}

Dataset read_voc_xml_folder(const std::string& dir, const DatasetOptions& options) {
    const fs::path root(dir);
    // The XMLs are in the folder itself, or in its one subfolder that holds any (annotations/,
    // annots/, labels_xml/ ...).
    fs::path xml_dir = root;
    if (xml_files_in(root).empty()) {
        const std::vector<fs::path> subs = xml_subfolders(root);
        if (subs.size() > 1) {
            std::string names;
            for (const fs::path& s : subs) names += (names.empty() ? "" : ", ") + s.filename().string() + "/";
            throw Error(dir + ": several subfolders hold .xml annotations (" + names + "); name the one to read");
        }
        if (subs.size() == 1) xml_dir = subs.front();
    }
    const std::vector<std::string> files = xml_files_in(xml_dir);
    // Images beside the XMLs, in a sibling images/ or JPEGImages/, in the folder itself, or in
    // any other subfolder of it (imgs/, photos/ ...).
    std::vector<fs::path> candidates = {xml_dir, root / "images", root / "JPEGImages", root,
                                        xml_dir.parent_path() / "images"};
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
        if (e.is_directory(ec) && e.path() != xml_dir) candidates.push_back(e.path());
    auto find_image = [&](const std::string& filename, const std::string& id) {
        const std::string name = filename.empty() ? id + ".jpg" : filename;
        for (const fs::path& c : candidates)
            if (fs::exists(c / name)) return (c / name).string();
        return (root / "images" / name).string();
    };
    return read_xml_files(files, files, options, find_image);
}

}  // namespace yolo9k::data_detail
