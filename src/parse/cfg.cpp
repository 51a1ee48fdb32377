#include "parse/cfg.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/file_read.h"
namespace yolo9k {
namespace {

// Darknet strips every blank from a line (so "anchors = 1, 2" reads as "anchors=1,2");
// we do the same, which keeps every cfg darknet accepts acceptable here.
std::string strip_blanks(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\v' && c != '\f') out.push_back(c);
    return out;
}

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> parts;
    std::string cur;
    for (char c : s) {
        if (c == ',') {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    parts.push_back(cur);
    // darknet tolerates a trailing comma ("1,2,"), so do we
    if (parts.size() > 1 && parts.back().empty()) parts.pop_back();
    return parts;
}

std::optional<long> to_long(const std::string& s) {
    if (s.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return std::nullopt;
    return v;
}

std::optional<float> to_float(const std::string& s) {
    if (s.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    float v = std::strtof(s.c_str(), &end);
    if (errno != 0 || *end != '\0' || !std::isfinite(v)) return std::nullopt;
    return v;
}

}  // namespace

const CfgOption* CfgSection::find(std::string_view key) const {
    // the last occurrence wins, as in darknet's option list lookup order
    const CfgOption* hit = nullptr;
    for (const auto& o : options)
        if (o.key == key) hit = &o;
    return hit;
}

CfgFile parse_cfg_text(std::string_view text, const std::string& path) {
    CfgFile file;
    file.path = path;
    std::istringstream in{std::string(text)};
    std::string raw;
    int line_no = 0;
    while (std::getline(in, raw)) {
        ++line_no;
        std::string line = strip_blanks(raw);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line[0] == '[') {
            if (line.back() != ']' || line.size() < 3)
                throw error_at(path, line_no, "malformed section header '" + line + "': expected [name]");
            file.sections.push_back({line.substr(1, line.size() - 2), line_no, {}});
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0)
            throw error_at(path, line_no, "expected key=value, got '" + line + "'");
        if (file.sections.empty())
            throw error_at(path, line_no, "option '" + line.substr(0, eq) + "' before any [section]");
        file.sections.back().options.push_back({line.substr(0, eq), line.substr(eq + 1), line_no});
    }
    if (file.sections.empty()) throw Error(path + ": no sections found (expected a darknet .cfg starting with [net])");
    return file;
}

CfgFile read_cfg_file(const std::string& path) {
    return parse_cfg_text(read_text_file_bounded(path, "cfg file"), path);
}

const CfgOption* SectionReader::lookup(std::string_view key) const {
    const CfgOption* o = section_.find(key);
    if (o)
        for (const auto& each : section_.options)
            if (each.key == key) each.used = true;  // duplicates count as read too
    return o;
}

void SectionReader::fail(std::string_view key, const std::string& message) const {
    const CfgOption* o = section_.find(key);
    int line = o ? o->line : section_.line;
    throw error_at(file_.path, line, "[" + section_.type + "] " + std::string(key) + ": " + message);
}

void SectionReader::fail_section(const std::string& message) const {
    throw error_at(file_.path, section_.line, "[" + section_.type + "]: " + message);
}

int SectionReader::get_int(std::string_view key, int fallback) const {
    const CfgOption* o = lookup(key);
    if (!o) return fallback;
    auto v = to_long(o->value);
    if (!v || *v < INT32_MIN || *v > INT32_MAX) fail(key, "expected an integer, got '" + o->value + "'");
    return static_cast<int>(*v);
}

int SectionReader::require_int(std::string_view key) const {
    if (!has(key)) fail_section("missing required option '" + std::string(key) + "'");
    return get_int(key, 0);
}

float SectionReader::get_float(std::string_view key, float fallback) const {
    const CfgOption* o = lookup(key);
    if (!o) return fallback;
    auto v = to_float(o->value);
    if (!v) fail(key, "expected a number, got '" + o->value + "'");
    return *v;
}

bool SectionReader::get_bool(std::string_view key, bool fallback) const {
    const CfgOption* o = lookup(key);
    if (!o) return fallback;
    if (o->value == "0") return false;
    if (o->value == "1") return true;
    fail(key, "expected 0 or 1, got '" + o->value + "'");
}

std::string SectionReader::get_string(std::string_view key, const std::string& fallback) const {
    const CfgOption* o = lookup(key);
    if (!o) return fallback;
    if (o->value.empty()) fail(key, "expected a value, got nothing");
    return o->value;
}

std::vector<float> SectionReader::get_floats(std::string_view key) const {
    const CfgOption* o = lookup(key);
    std::vector<float> out;
    if (!o) return out;
    for (const auto& part : split_commas(o->value)) {
        auto v = to_float(part);
        if (!v) fail(key, "expected a comma-separated list of numbers, got '" + o->value + "'");
        out.push_back(*v);
    }
    return out;
}

std::vector<int> SectionReader::get_ints(std::string_view key) const {
    const CfgOption* o = lookup(key);
    std::vector<int> out;
    if (!o) return out;
    for (const auto& part : split_commas(o->value)) {
        auto v = to_long(part);
        if (!v) fail(key, "expected a comma-separated list of integers, got '" + o->value + "'");
        out.push_back(static_cast<int>(*v));
    }
    return out;
}

int SectionReader::get_int_in(std::string_view key, int fallback, int lo, int hi) const {
    int v = get_int(key, fallback);
    if (v < lo || v > hi)
        fail(key, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                      std::to_string(v));
    return v;
}

float SectionReader::get_float_in(std::string_view key, float fallback, float lo, float hi) const {
    float v = get_float(key, fallback);
    if (!(v >= lo && v <= hi)) {
        std::ostringstream m;
        m << "expected a number in [" << lo << ", " << hi << "], got " << v;
        fail(key, m.str());
    }
    return v;
}

void SectionReader::finish() const {
    for (const auto& o : section_.options)
        if (!o.used)
            throw error_at(file_.path, o.line,
                           "[" + section_.type + "]: unknown option '" + o.key + "' (not a key this section takes)");
}

}  // namespace yolo9k
