// Helpers the fuzz targets share: a per-process scratch folder for readers that only take
// paths, and the rule that a yolo9k::Error (or any std::exception) is an expected outcome.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace yolo9k_fuzz {

// A folder of this process's own (/tmp/yolo9k-fuzz-<target>-<pid>), created once and
// removed at exit. TMPDIR overrides /tmp.
const std::string& scratch_dir();

// scratch_dir()/relative, with parent folders created. Written whole and closed, so a reader
// sees exactly `size` bytes.
std::string write_scratch(const std::string& relative, const std::uint8_t* data, std::size_t size);
std::string write_scratch(const std::string& relative, std::string_view text);

// The input split on a separator line ("\n%%\n"): lets one input carry several files
// (e.g. a tree and a map). Always returns at least one part.
std::vector<std::string_view> split_parts(const std::uint8_t* data, std::size_t size, std::size_t max_parts);

// The text with every path that could leave the scratch folder made relative: ".." becomes
// "_." and a '/' at the start of a line or of a value (after '=', blanks skipped) becomes
// '_'. Targets whose input is a list of paths use it, so that what they read (and any
// crash) depends on the input alone, not on what lies in /tmp or elsewhere on the machine.
std::string confine_paths(std::string_view text);

// Runs `body`; yolo9k::Error and std::exception are expected (malformed input must be
// reported, not crash). Anything else escaping is a bug and aborts, so libFuzzer records it.
template <typename F>
void expect_errors(F&& body);

[[noreturn]] void unexpected_exception(const char* what);

}  // namespace yolo9k_fuzz

#include <exception>

#include "core/error.h"

template <typename F>
void yolo9k_fuzz::expect_errors(F&& body) {
    try {
        body();
    } catch (const yolo9k::Error&) {
        // expected: malformed input reported with a message
    } catch (const std::exception&) {
        // expected too (the brief's contract); a bad_alloc here is still caught by
        // -rss_limit_mb / -malloc_limit_mb before it is thrown
    } catch (...) {
        unexpected_exception("an exception not derived from std::exception");
    }
}
