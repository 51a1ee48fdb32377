// Expanding what a user names (images, folders, list files, videos, cameras) into a list of
// sources, as `yolo9k detect` and `classifier predict` do:
//
//   for (const yolo9k::InputSource& s : yolo9k::expand_inputs({"photos/", "more.txt"})) ...
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace yolo9k {

enum class SourceKind { Image, Video, Camera };

struct InputSource {
    SourceKind kind = SourceKind::Image;
    std::string path;  // file path (Image, Video); the argument as given (Camera)
    int camera = -1;   // device index (Camera)
};

// Extension checks, case-insensitive: .jpg .jpeg .png .bmp .tif .tiff .webp / .mp4 .avi .mkv
// .mov .webm / .txt .list.
bool is_image_path(const std::filesystem::path& path);
bool is_video_path(const std::filesystem::path& path);
bool is_list_path(const std::filesystem::path& path);

// One argument: "cam:N" or a bare integer (when no such file exists) is a camera; a directory
// gives its images (not recursive, hidden files skipped, sorted by name); a .txt/.list file gives
// its entries (one per line, relative to the list's folder, blank lines and # comments
// skipped); a video extension gives a video; any other existing file is taken as an image.
// Throws Error naming the path (and list line) on anything missing or empty.
std::vector<InputSource> expand_input(const std::string& arg);

// All arguments in order.
std::vector<InputSource> expand_inputs(const std::vector<std::string>& args);

}  // namespace yolo9k
