// The public API takes one `data` path: a darknet .data file or any dataset path.
#pragma once

#include <string>

namespace yolo9k {

inline bool is_darknet_data_file(const std::string& path) {
    return path.size() > 5 && path.compare(path.size() - 5, 5, ".data") == 0;
}

}  // namespace yolo9k
