// JSON from user files with a nesting bound: nlohmann's parser copes with any depth, but
// printing or walking a value a million levels deep recurses off the stack.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace yolo9k {

constexpr int kMaxJsonDepth = 128;

// Parses `text` (read from `path`). Throws Error "PATH:LINE: malformed JSON: ..." or
// "PATH: JSON nested deeper than N levels".
nlohmann::json parse_json_file_text(const std::string& text, const std::string& path);

// A short description of a value for messages: scalars as JSON (cut to 60 characters),
// arrays and objects by their type, so a message never dumps a whole document.
std::string brief_json(const nlohmann::json& value);

}  // namespace yolo9k

namespace yolo9k {

// value.dump(indent), with bytes that are not UTF-8 (e.g. a class name in Latin-1) written as
// U+FFFD instead of throwing after the work is done.
std::string dump_json(const nlohmann::json& value, int indent = -1);

}  // namespace yolo9k
