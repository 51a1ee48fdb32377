#include "core/json_read.h"

#include <algorithm>

#include "core/error.h"

namespace yolo9k {

namespace {
struct TooDeep {};
}  // namespace

nlohmann::json parse_json_file_text(const std::string& text, const std::string& path) {
    const auto bound = [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > kMaxJsonDepth) throw TooDeep{};
        return true;
    };
    try {
        return nlohmann::json::parse(text, bound);
    } catch (const TooDeep&) {
        throw Error(path + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    } catch (const nlohmann::json::parse_error& e) {
        const size_t offset = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
        const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n');
        throw Error(path + ":" + std::to_string(line) + ": malformed JSON: " + e.what());
    }
}

std::string brief_json(const nlohmann::json& value) {
    if (value.is_structured()) return std::string("an ") + (value.is_array() ? "array" : "object");
    std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

}  // namespace yolo9k

namespace yolo9k {

std::string dump_json(const nlohmann::json& value, int indent) {
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace yolo9k
