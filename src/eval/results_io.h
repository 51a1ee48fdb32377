// Detection results files, written for other tools and read back for offline scoring:
//  * darknet / VOC devkit `comp4_det_test_<class>.txt`: one file per class, lines
//    `<image_id> <score> <xmin> <ymin> <xmax> <ymax>` in 1-based pixels (darknet's
//    validate_detector writes x1 + 1 ... and clamps to [1, width] x [1, height]);
//  * COCO results JSON: [{image_id, category_id, bbox: [x, y, w, h], score}], 0-based pixels.
//    image_id: the image id as a number when it is all digits (VOC "000005" -> 5, COCO's
//    numeric file names), else the id string; category_id: class index + 1.
// Readers map ids back through Truth's image ids and class names and reject anything
// unknown with the file and line (comp4) or entry index (JSON).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/metrics.h"

namespace yolo9k::eval {

inline const char* kComp4Prefix = "comp4_det_test_";

// Writes DIR/comp4_det_test_<class>.txt for every class (empty files for classes without
// detections, as darknet does). Returns the paths written.
std::vector<std::string> write_comp4(const std::string& dir, const Truth& truth, const std::vector<ScoredBox>& detections);

// Reads one comp4 file (class from its name) or every `*_det_test_<class>.txt` in a directory.
std::vector<ScoredBox> read_comp4(const std::string& path, const Truth& truth);

// "comp4_det_test_aeroplane.txt" -> "aeroplane"; "" when the name has no "_det_test_".
std::string class_from_comp4_name(const std::string& filename);

void write_coco_results(const std::string& path, const Truth& truth, const std::vector<ScoredBox>& detections);
std::vector<ScoredBox> read_coco_results(const std::string& path, const Truth& truth);

// Any of the above by form: a directory or .txt -> comp4, .json -> COCO results.
std::vector<ScoredBox> read_detections(const std::string& path, const Truth& truth);

// {map50_voc07, map50, map_coco, ap50, ap75, images, classes_with_truth, per_class: [{name,
// truth, difficult, detections, ap50_voc07, ap50, ap_coco, ap50_coco, ap75_coco}]}: map50 and
// ap50 are VOC all-point at IoU > .5; ap50/ap75 top-level are COCO's. No AP (no GT): null.
nlohmann::json to_json(const EvalResult& result);

}  // namespace yolo9k::eval
