// Writing result files so that no reader, and no crash, ever sees half of one.
#pragma once

#include <string>

namespace yolo9k {

// Writes `contents` to "<path>.tmp.<pid>", flushes and fsyncs it, then renames it over `path`
// (and fsyncs the folder): a reader, or a run killed mid-write, sees the old file or the
// whole new one. Throws yolo9k::Error naming the file.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace yolo9k
