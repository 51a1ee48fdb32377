#include "fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace yolo9k_fuzz {
namespace fs = std::filesystem;

namespace {

std::string program_name() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("target") : exe.filename().string();
}

struct Scratch {
    std::string dir;
    Scratch() {
        const char* tmp = std::getenv("TMPDIR");
        fs::path base = tmp && *tmp ? fs::path(tmp) : fs::path("/tmp");
        dir = (base / ("yolo9k-fuzz-" + program_name() + "-" + std::to_string(::getpid()))).string();
        std::error_code ec;
        fs::remove_all(dir, ec);
        fs::create_directories(dir);
    }
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

}  // namespace

const std::string& scratch_dir() {
    static Scratch scratch;
    return scratch.dir;
}

std::string write_scratch(const std::string& relative, const std::uint8_t* data, std::size_t size) {
    const fs::path path = fs::path(scratch_dir()) / relative;
    fs::create_directories(path.parent_path());
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) {
        std::perror(path.c_str());
        std::abort();  // the harness itself is broken, not the library
    }
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    return path.string();
}

std::string write_scratch(const std::string& relative, std::string_view text) {
    return write_scratch(relative, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

std::vector<std::string_view> split_parts(const std::uint8_t* data, std::size_t size, std::size_t max_parts) {
    std::string_view all(reinterpret_cast<const char*>(data), size);
    std::vector<std::string_view> parts;
    constexpr std::string_view sep = "\n%%\n";
    while (parts.size() + 1 < max_parts) {
        const std::size_t at = all.find(sep);
        if (at == std::string_view::npos) break;
        parts.push_back(all.substr(0, at + 1));  // keep the part's final newline
        all.remove_prefix(at + sep.size());
    }
    parts.push_back(all);
    return parts;
}

std::string confine_paths(std::string_view text) {
    std::string out(text);
    for (std::size_t at = out.find(".."); at != std::string::npos; at = out.find("..", at)) out[at] = '_';
    bool at_start = true;  // of a line or of a value
    for (char& ch : out) {
        if (ch == '/' && at_start) ch = '_';
        if (ch == '\n' || ch == '\r' || ch == '=') at_start = true;
        else if (ch != ' ' && ch != '\t' && ch != '\v' && ch != '\f') at_start = false;
    }
    return out;
}

void unexpected_exception(const char* what) {
    std::fprintf(stderr, "yolo9k fuzz: %s escaped the library\n", what);
    std::abort();
}

}  // namespace yolo9k_fuzz
