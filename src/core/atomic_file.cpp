#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace yolo9k {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    tmp_ = path_ + kTempInfix + std::to_string(::getpid());
    f_ = std::fopen(tmp_.c_str(), "wb");
    if (!f_) throw Error(tmp_ + ": cannot open for writing: " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
    if (f_) std::fclose(f_);
    if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
    if (bytes && std::fwrite(data, 1, bytes, f_) != bytes)
        throw Error(tmp_ + ": write failed (" + std::strerror(errno) + "; disk full?)");
}

void AtomicFile::commit() {
    if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0)
        throw Error(tmp_ + ": flush to disk failed: " + std::strerror(errno));
    int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) throw Error(tmp_ + ": close failed: " + std::strerror(errno));
    rename_durably(tmp_, path_);
    committed_ = true;
}

void rename_durably(const std::string& from, const std::string& to) {
    if (std::rename(from.c_str(), to.c_str()) != 0)
        throw Error(to + ": cannot rename " + from + " into place: " + std::strerror(errno));
    // The rename itself must reach the disk for the new file to survive a power cut.
    std::string dir = std::filesystem::path(to).parent_path().string();
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

void write_file_atomically(const std::string& path, const std::string& contents) {
    AtomicFile f(path);
    f.write(contents);
    f.commit();
}

}  // namespace yolo9k
