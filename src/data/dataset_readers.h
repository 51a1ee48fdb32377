// Internal pieces shared by the dataset readers (one unit per format): the bad-data
// bookkeeping, the box checks every format applies, class-name lookup, and the readers.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace yolo9k::data_detail {

// darknet resolves .data and list entries from the working directory; this accepts the
// referring file's folder too (anchor_file's), so a dataset can be moved as a whole.
std::string resolve_beside(const std::string& path, const std::string& anchor_file);

// Counts what was wrong with the data and keeps the first few warnings of each kind.
class ReportBuilder {
public:
    enum Kind { BadSize, Outside, Clipped, UnknownClass, MissingLabels, MissingImage, KindCount };

    ReportBuilder(DataReport& report, bool quiet) : report_(report), quiet_(quiet) {}
    void note(Kind kind, const std::string& where, const std::string& what);

private:
    static constexpr int kWarningsPerKind = 5;
    DataReport& report_;
    bool quiet_;
    int shown_[KindCount] = {};
};

// Accepts a box given by its edges relative to the image: clips it to [0, 1] and fills
// `out` (centre form), or returns false when it is dropped. `tol_x`/`tol_y`: how far an
// edge may stick out before it counts as clipped (~a pixel: VOC files mix 0- and 1-based corners).
bool accept_box(float left, float top, float right, float bottom, float tol_x, float tol_y,
                const std::string& where, ReportBuilder& report, TruthBox& out);

// Class-name → id for formats that name their classes.
class ClassIndex {
public:
    ClassIndex(const std::vector<std::string>& names, bool skip_unknown);
    // -1 (after noting it) when the name is unknown and skipping is allowed.
    int find(const std::string& name, const std::string& where, ReportBuilder& report) const;

private:
    std::map<std::string, int> ids_;
    bool skip_unknown_;
};

// "file:line" for `offset` bytes into `text`.
std::string where_in(const std::string& file, const std::string& text, size_t offset);
std::string read_text_file(const std::string& path);  // Error when unreadable

// Immediate subfolders of `dir` that hold .xml files (e.g. annots/ beside images/), sorted.
std::vector<std::filesystem::path> xml_subfolders(const std::filesystem::path& dir);

Dataset read_darknet_list(const std::string& path, const DatasetOptions& options);
Dataset read_voc_folder(const std::string& dir, const DatasetOptions& options);
Dataset read_voc_xml_folder(const std::string& dir, const DatasetOptions& options);
Dataset read_coco_json(const std::string& path, const DatasetOptions& options);

}  // namespace yolo9k::data_detail
