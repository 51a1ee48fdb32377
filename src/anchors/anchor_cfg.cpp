#include "anchors/anchor_cfg.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/file_read.h"
#include "parse/cfg.h"

namespace yolo9k {
namespace {

const CfgSection& only_region(const CfgFile& cfg, size_t* index) {
    const CfgSection* found = nullptr;
    for (size_t i = 0; i < cfg.sections.size(); ++i) {
        if (cfg.sections[i].type != "region") continue;
        if (found)
            throw error_at(cfg.path, cfg.sections[i].line,
                           "a second [region] section; expected exactly one (the first is at line " +
                               std::to_string(found->line) + ")");
        found = &cfg.sections[i];
        *index = i;
    }
    if (!found) throw Error(cfg.path + ": no [region] section (expected a YOLOv2 cfg with one [region])");
    return *found;
}

int region_int(const CfgFile& cfg, const CfgSection& s, const char* key, int fallback) {
    const CfgOption* o = s.find(key);
    if (!o) return fallback;
    char* end = nullptr;
    const long v = std::strtol(o->value.c_str(), &end, 10);
    if (o->value.empty() || *end != '\0' || v < 1 || v > (1 << 20))
        throw error_at(cfg.path, o->line, "[region] " + std::string(key) + ": expected a positive integer, got '" +
                                              o->value + "'");
    return int(v);
}

}  // namespace

std::string format_box_sizes(const std::vector<BoxSize>& anchors) {
    std::string out;
    char buf[64];
    // Two decimals as darknet's cfgs write them, with more digits for sizes under 0.01 cells so
    // that a positive anchor never prints as 0 (which the [region] parser rightly rejects).
    auto number = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, v >= 0.01 || v <= 0 ? "%.2f" : "%.3g", v);
        return std::string(b);
    };
    for (size_t i = 0; i < anchors.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%s%s,%s", i ? ",  " : "", number(anchors[i].w).c_str(), number(anchors[i].h).c_str());
        out += buf;
    }
    return out;
}

std::vector<BoxSize> parse_box_sizes(const std::string& text, const std::string& what) {
    std::vector<double> numbers;
    std::string cleaned;
    for (char c : text)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') cleaned.push_back(c);
    if (!cleaned.empty() && cleaned.back() == ',') cleaned.pop_back();  // darknet allows "1,2,"
    std::istringstream in(cleaned);
    std::string part;
    while (std::getline(in, part, ',')) {
        char* end = nullptr;
        const double v = std::strtod(part.c_str(), &end);
        if (part.empty() || *end != '\0')
            throw Error(what + ": expected anchors as 'w,h, w,h, ...' numbers, got '" + part + "' in '" + text + "'");
        if (!(v > 0) || !std::isfinite(v)) throw Error(what + ": anchor sizes must be positive, got '" + part + "'");
        numbers.push_back(v);
    }
    if (numbers.empty()) throw Error(what + ": no anchors (expected 'w,h, w,h, ...')");
    if (numbers.size() % 2)
        throw Error(what + ": " + std::to_string(numbers.size()) + " numbers; anchors come in w,h pairs");
    std::vector<BoxSize> anchors;
    for (size_t i = 0; i < numbers.size(); i += 2) anchors.push_back({numbers[i], numbers[i + 1]});
    return anchors;
}

std::vector<BoxSize> read_region_box_sizes(const std::string& cfg_path) {
    const CfgFile cfg = read_cfg_file(cfg_path);
    size_t index = 0;
    const CfgSection& region = only_region(cfg, &index);
    const CfgOption* a = region.find("anchors");
    if (!a) throw error_at(cfg.path, region.line, "[region] has no anchors=");
    std::vector<BoxSize> anchors = parse_box_sizes(a->value, cfg.path + ":" + std::to_string(a->line));
    const int num = region_int(cfg, region, "num", 1);
    if (int(anchors.size()) != num)
        throw error_at(cfg.path, a->line, "[region] has num=" + std::to_string(num) + " but " +
                                              std::to_string(anchors.size()) + " anchor pairs");
    return anchors;
}

std::string replace_region_anchors(const std::string& cfg_text, const std::string& path,
                                   const std::vector<BoxSize>& anchors) {
    if (anchors.empty()) throw Error("no anchors to write into " + path);
    const CfgFile cfg = parse_cfg_text(cfg_text, path);
    size_t index = 0;
    const CfgSection& region = only_region(cfg, &index);
    if (index == 0 || cfg.sections[index - 1].type != "convolutional")
        throw error_at(path, region.line, "[region] must follow a [convolutional] whose filters it sets");
    const CfgSection& conv = cfg.sections[index - 1];
    const int num = int(anchors.size());
    const int filters = num * (region_int(cfg, region, "coords", 4) + 1 + region_int(cfg, region, "classes", 20));

    // Edits by 1-based line: a replaced line keeps its own line ending.
    std::map<int, std::string> replace;
    std::map<int, std::vector<std::string>> insert_after;
    auto set = [&](const CfgSection& s, const std::string& key, const std::string& line) {
        bool present = false;
        for (const CfgOption& o : s.options)
            if (o.key == key) replace[o.line] = line, present = true;
        if (!present) insert_after[s.line].push_back(line);
    };
    set(region, "anchors", "anchors = " + format_box_sizes(anchors));
    set(region, "num", "num=" + std::to_string(num));
    set(conv, "filters", "filters=" + std::to_string(filters));

    std::string out;
    std::istringstream in(cfg_text);
    std::string raw;
    int line_no = 0;
    while (std::getline(in, raw)) {
        ++line_no;
        const bool crlf = !raw.empty() && raw.back() == '\r';
        const std::string eol = crlf ? "\r\n" : "\n";
        auto r = replace.find(line_no);
        out += (r != replace.end() ? r->second + (crlf ? "\r" : "") : raw);
        if (!in.eof() || (!cfg_text.empty() && cfg_text.back() == '\n')) out += "\n";
        auto ins = insert_after.find(line_no);
        if (ins != insert_after.end()) {
            if (in.eof() && (cfg_text.empty() || cfg_text.back() != '\n')) out += eol;
            for (const std::string& l : ins->second) out += l + eol;
        }
    }
    return out;
}

void write_cfg_with_box_sizes(const std::string& in_path, const std::string& out_path,
                              const std::vector<BoxSize>& anchors) {
    const std::string text = replace_region_anchors(read_text_file_bounded(in_path, "cfg file"), in_path, anchors);
    std::ofstream f(out_path, std::ios::binary);
    if (!f) throw Error(out_path + ": cannot open for writing");
    f << text;
    if (!f.flush()) throw Error(out_path + ": write failed");
}

}  // namespace yolo9k
