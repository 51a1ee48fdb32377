// Command-line number checks beyond CLI11's own: a value the library would silently replace
// (0 meaning "the cfg's"), or that is not finite, is a usage error naming the option.
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <string>

#include "yolo9k/model.h"

namespace yolo9k::cli {

namespace detail {
inline bool parse_double(const std::string& s, double& v) {
    try {
        size_t used = 0;
        v = std::stod(s, &used);
        return used == s.size();
    } catch (const std::exception&) {
        return false;
    }
}
inline std::string fmt(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}
}  // namespace detail

// A finite number > 0 (learning rates, scales): rejects 0, negatives, nan and inf.
inline CLI::Validator finite_positive() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            double v = 0;
            if (!detail::parse_double(s, v) || !std::isfinite(v) || v <= 0)
                return "expected a finite number > 0, got '" + s + "'";
            return {};
        },
        "POSITIVE");
}

// A finite number in [lo, hi] (thresholds, fractions).
inline CLI::Validator finite_range(double lo, double hi) {
    return CLI::Validator(
        [lo, hi](std::string& s) -> std::string {
            double v = 0;
            if (!detail::parse_double(s, v) || !std::isfinite(v) || v < lo || v > hi)
                return "expected a number from " + detail::fmt(lo) + " to " + detail::fmt(hi) +
                       ", got '" + s + "'";
            return {};
        },
        "[" + detail::fmt(lo) + " - " + detail::fmt(hi) + "]");
}

// A network input side: a multiple of 32 (five 2x2 pools) from 32 to 8192.
inline CLI::Validator input_side() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            double v = 0;
            if (!detail::parse_double(s, v) || v != std::floor(v) || v < 32 || v > 8192 || std::fmod(v, 32) != 0)
                return "expected a multiple of 32 from 32 to 8192, got '" + s + "'";
            return {};
        },
        "SIDE");
}

// A darknet .data file: the library tells it from other dataset paths by the extension.
inline CLI::Validator darknet_data_file() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            if (s.size() > 5 && s.compare(s.size() - 5, 5, ".data") == 0) return {};
            return "expected a darknet .data file (NAME.data), got '" + s + "'; other datasets go to --dataset";
        },
        "FILE.data");
}

// A backend users can choose (`training`: one that can train), from the registry.
inline CLI::Validator backend_name(bool training = false) {
    std::vector<std::string> names;
    for (const BackendInfo& b : available_backends())
        if (!training || b.can_train) names.push_back(b.name);
    return CLI::IsMember(names);
}

// --precision f32|bf16|int8 on the commands that run a network forward.
inline CLI::Option* add_precision_option(CLI::App* sub, std::string& precision) {
    return sub
        ->add_option("--precision", precision,
                     "arithmetic: f32 (darknet-exact), bf16 (needs AVX512-BF16: 8-bit mantissa, f32 accumulation) or "
                     "int8 (needs VNNI and --calibration)")
        ->capture_default_str()
        ->check(CLI::IsMember({"f32", "bf16", "int8"}));
}

// --calibration FILE: the activation ranges --precision int8 scales by (`yolo9k calibrate`).
inline CLI::Option* add_calibration_option(CLI::App* sub, std::string& calibration) {
    return sub->add_option("--calibration", calibration,
                           "with --precision int8: the file `yolo9k calibrate` wrote for this cfg and weights")
        ->check(CLI::ExistingFile);
}

}  // namespace yolo9k::cli
