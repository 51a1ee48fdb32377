#include "yolo9k/inputs.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/error.h"
#include "core/file_read.h"
#include "core/text.h"

namespace yolo9k {

namespace fs = std::filesystem;

namespace {

const char* const kImageExts[] = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"};
const char* const kVideoExts[] = {".mp4", ".avi", ".mkv", ".mov", ".webm"};
const char* const kListExts[] = {".txt", ".list"};

std::string lower_ext(const fs::path& p) {
    std::string e = p.extension().string();
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
    return e;
}

template <std::size_t N>
bool has_ext(const fs::path& p, const char* const (&exts)[N]) {
    const std::string e = lower_ext(p);
    return std::any_of(std::begin(exts), std::end(exts), [&](const char* x) { return e == x; });
}

std::string image_ext_list() {
    std::string s;
    for (const char* e : kImageExts) s += (s.empty() ? "" : ", ") + std::string(e);
    return s;
}

bool all_digits(const std::string& s) {
    return !s.empty() && s.size() <= 9 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::vector<InputSource> list_directory(const fs::path& dir) {
    std::vector<std::string> files;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot list directory (" + ec.message() + ")");
    for (const fs::directory_entry& entry : it) {
        const fs::path& p = entry.path();
        const std::string name = p.filename().string();
        // Dotfiles include macOS "._x.jpg" resource forks, which are not images.
        if (name.empty() || name[0] == '.') continue;
        std::error_code fec;
        if (!entry.is_regular_file(fec) || !is_image_path(p)) continue;
        files.push_back(p.string());
    }
    if (files.empty())
        throw Error(dir.string() + ": no images found (looked for " + image_ext_list() + ")");
    std::sort(files.begin(), files.end());
    std::vector<InputSource> out;
    out.reserve(files.size());
    for (auto& f : files) out.push_back({SourceKind::Image, std::move(f), -1});
    return out;
}

std::vector<InputSource> read_list(const fs::path& list) {
    std::istringstream in(read_text_file_bounded(list.string(), "list file"));
    const fs::path base = list.parent_path();
    std::vector<InputSource> out;
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        const std::string entry = trim(line);
        if (entry.empty() || entry[0] == '#') continue;
        fs::path p(entry);
        if (p.is_relative()) p = base / p;
        std::error_code ec;
        const fs::file_status st = fs::status(p, ec);
        if (!fs::exists(st))
            throw error_at(list.string(), line_no, "no such file: " + entry +
                                                       (entry != p.string() ? " (looked at " + p.string() + ")" : ""));
        if (fs::is_directory(st)) {
            for (auto& s : list_directory(p)) out.push_back(std::move(s));
        } else if (is_list_path(p)) {
            throw error_at(list.string(), line_no, "nested list file " + entry + " is not supported");
        } else if (is_video_path(p)) {
            out.push_back({SourceKind::Video, p.string(), -1});
        } else {
            out.push_back({SourceKind::Image, p.string(), -1});
        }
    }
    if (in.bad()) throw Error(list.string() + ": read error");
    if (out.empty()) throw Error(list.string() + ": list file has no entries");
    return out;
}

}  // namespace

bool is_image_path(const fs::path& path) { return has_ext(path, kImageExts); }
bool is_video_path(const fs::path& path) { return has_ext(path, kVideoExts); }
bool is_list_path(const fs::path& path) { return has_ext(path, kListExts); }

std::vector<InputSource> expand_input(const std::string& arg) {
    if (arg.empty()) throw Error("empty input path");
    if (arg.rfind("cam:", 0) == 0) {
        const std::string n = arg.substr(4);
        if (!all_digits(n)) throw Error(arg + ": expected a camera as cam:N with N a device number");
        return {{SourceKind::Camera, arg, std::stoi(n)}};
    }
    const fs::path p(arg);
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (!fs::exists(st)) {
        if (all_digits(arg)) return {{SourceKind::Camera, arg, std::stoi(arg)}};
        throw Error(arg + ": no such file or directory");
    }
    if (fs::is_directory(st)) return list_directory(p);
    if (is_list_path(p)) return read_list(p);
    if (is_video_path(p)) return {{SourceKind::Video, arg, -1}};
    return {{SourceKind::Image, arg, -1}};
}

std::vector<InputSource> expand_inputs(const std::vector<std::string>& args) {
    std::vector<InputSource> out;
    for (const std::string& a : args)
        for (auto& s : expand_input(a)) out.push_back(std::move(s));
    return out;
}

}  // namespace yolo9k
