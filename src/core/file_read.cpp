
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_read.h"
#include "core/limits.h"

namespace yolo9k {

namespace fs = std::filesystem;

std::uint64_t check_regular_file(const std::string& path, const std::string& what, std::uint64_t max_bytes) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st)) throw Error(path + ": no such " + what);
    if (fs::is_directory(st)) throw Error(path + ": is a directory, expected a " + what);
    if (!fs::is_regular_file(st))
        throw Error(path + ": not a regular file (a pipe, socket or device), expected a " + what);
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec) throw Error(path + ": cannot read the size of this " + what + " (" + ec.message() + ")");
    if (size > max_bytes)
        throw Error(path + ": " + std::to_string(size) + " bytes, over the " + std::to_string(max_bytes) +
                    "-byte limit for a " + what + " (raise it with --max-file-mb)");
    return size;
}

std::string read_text_file_bounded(const std::string& path, const std::string& what) {
    const std::uint64_t size = check_regular_file(path, what, limits().max_file_bytes);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open " + what + " (" + std::strerror(errno) + ")");
    std::string text(size, '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    // A file that shrank under us reads short; one that grew is cut at the size we checked.
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) throw Error(path + ": read error in " + what);
    return text;
}

}  // namespace yolo9k
