// Crash-safe file replacement: data goes to "<path>.tmp.<pid>", is flushed and fsync'd,
// then renamed over <path> (and the directory fsync'd), so a reader - or a run killed
// with SIGKILL mid-write - only ever sees the old file or the complete new one.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

#include "yolo9k/files.h"  // write_file_atomically, the whole-file form

namespace yolo9k {

class AtomicFile {
public:
    static constexpr const char* kTempInfix = ".tmp.";  // "<path>.tmp.<pid>": what a killed writer leaves
    explicit AtomicFile(std::string path);
    ~AtomicFile();  // discards the temporary file unless commit() succeeded
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, size_t bytes);
    void write(const std::string& s) { write(s.data(), s.size()); }
    // Flush, fsync, rename into place, fsync the directory. Throws Error naming the file.
    void commit();
    const std::string& path() const { return path_; }

private:
    std::string path_, tmp_;
    std::FILE* f_ = nullptr;
    bool committed_ = false;
};

// rename(2), then fsync of the directory so that the rename survives a power cut.
// `from` must already be flushed to disk. Throws Error naming both files.
void rename_durably(const std::string& from, const std::string& to);

}  // namespace yolo9k
