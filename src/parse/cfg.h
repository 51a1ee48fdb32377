// Darknet .cfg files: `[section]` headers followed by `key=value` lines, `#`/`;` comments.
// Parsing keeps the line of every section and option so that each error can name
// file:line, and tracks which options were read so that unknown keys are errors
// (a typo'd key silently falling back to a default is the classic darknet trap).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace yolo9k {

struct CfgOption {
    std::string key;
    std::string value;
    int line = 0;
    mutable bool used = false;
};

struct CfgSection {
    std::string type;  // the name between brackets, e.g. "convolutional"
    int line = 0;
    std::vector<CfgOption> options;

    const CfgOption* find(std::string_view key) const;
};

struct CfgFile {
    std::string path;  // for messages
    std::vector<CfgSection> sections;
};

CfgFile parse_cfg_text(std::string_view text, const std::string& path);
CfgFile read_cfg_file(const std::string& path);

// Typed, validated access to one section's options. Every getter marks the option used;
// finish() reports any option nobody asked for.
class SectionReader {
public:
    SectionReader(const CfgFile& file, const CfgSection& section) : file_(file), section_(section) {}

    bool has(std::string_view key) const { return section_.find(key) != nullptr; }
    int get_int(std::string_view key, int fallback) const;
    int require_int(std::string_view key) const;
    float get_float(std::string_view key, float fallback) const;
    bool get_bool(std::string_view key, bool fallback) const;  // 0 or 1
    std::string get_string(std::string_view key, const std::string& fallback) const;
    std::vector<float> get_floats(std::string_view key) const;  // comma separated; empty if absent
    std::vector<int> get_ints(std::string_view key) const;

    // Range checks that report with the option's line.
    int get_int_in(std::string_view key, int fallback, int lo, int hi) const;
    float get_float_in(std::string_view key, float fallback, float lo, float hi) const;

    // Error at the option's line (or the section header when the key is absent).
    [[noreturn]] void fail(std::string_view key, const std::string& message) const;
    [[noreturn]] void fail_section(const std::string& message) const;
    // Throws for the first option that no getter has read.
    void finish() const;

    const CfgSection& section() const { return section_; }
    const CfgFile& file() const { return file_; }

private:
    const CfgOption* lookup(std::string_view key) const;
    const CfgFile& file_;
    const CfgSection& section_;
};

}  // namespace yolo9k
