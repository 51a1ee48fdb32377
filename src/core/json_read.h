// JSON from user files with a nesting bound: nlohmann's parser copes with any depth, but
// printing or walking a value a million levels deep recurses off the stack.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace yolo9k {

constexpr int kMaxJsonDepth = 128;

// `value` as T if it is a number that T holds: integers exactly (a whole-valued float such as
// 3.0 counts) and in range, floating-point values finite and in range. Empty otherwise (a
// string, 1e300 for an int, 2.5 for an id), where a plain get<T>() would convert with
// undefined behaviour.
template <typename T>
std::optional<T> json_number(const nlohmann::json& value) {
    if (!value.is_number()) return std::nullopt;
    const double d = value.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    if constexpr (std::is_integral_v<T>) {
        if (value.is_number_integer()) {  // exact, without going through double
            if (value.is_number_unsigned()) {
                const auto u = value.get<std::uint64_t>();
                if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
                return static_cast<T>(u);
            }
            const auto i = value.get<std::int64_t>();
            if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
                (i > 0 && static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
                return std::nullopt;
            return static_cast<T>(i);
        }
        // T holds [min, 2^digits): both bounds are exact in double.
        if (d != std::floor(d) || d < double(std::numeric_limits<T>::min()) ||
            d >= std::ldexp(1.0, std::numeric_limits<T>::digits))
            return std::nullopt;
        return static_cast<T>(d);
    } else {
        if (std::fabs(d) > double(std::numeric_limits<T>::max())) return std::nullopt;
        return static_cast<T>(d);
    }
}

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
