// Anchors in darknet cfg files: reading a [region]'s anchors and writing a copy of a cfg
// with new ones, every other line kept byte for byte.
#pragma once

#include <string>
#include <vector>

#include "anchors/dimension_clusters.h"

namespace yolo9k {

// darknet's style, two decimals: "1.08,1.19,  3.42,4.41,  6.63,11.38".
std::string format_box_sizes(const std::vector<BoxSize>& anchors);

// "w,h, w,h, …" (blanks anywhere) → sizes. Throws yolo9k::Error on an odd count,
// a non-number or a size that is not positive; `what` names the source in messages.
std::vector<BoxSize> parse_box_sizes(const std::string& text, const std::string& what);

// The [region] anchors of a cfg, in grid cells as written. Throws yolo9k::Error naming
// file:line when there is no single [region] or its anchors are missing or malformed.
std::vector<BoxSize> read_region_box_sizes(const std::string& cfg_path);

// The cfg text with its single [region]'s `anchors` and `num` replaced and the
// [convolutional] right before it given filters = num·(coords + 1 + classes) (coords and
// classes read from the [region], darknet's defaults 4 and 20). Keys that are absent are
// added below the section header. `path` is for messages.
std::string replace_region_anchors(const std::string& cfg_text, const std::string& path,
                                   const std::vector<BoxSize>& anchors);
void write_cfg_with_box_sizes(const std::string& in_path, const std::string& out_path,
                              const std::vector<BoxSize>& anchors);

}  // namespace yolo9k
