// Darknet .cfg text: the section/option parser and every typed getter on every option.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "parse/cfg.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    expect_errors([&] {
        const CfgFile cfg = parse_cfg_text(text, "fuzz.cfg");
        for (const CfgSection& section : cfg.sections) {
            const SectionReader r(cfg, section);
            for (const CfgOption& o : section.options) {
                // Each getter on its own: one rejecting the value must not hide the others.
                expect_errors([&] { (void)r.get_int(o.key, 0); });
                expect_errors([&] { (void)r.get_int_in(o.key, 0, -5, 5); });
                expect_errors([&] { (void)r.get_float(o.key, 0); });
                expect_errors([&] { (void)r.get_float_in(o.key, 0, 0.f, 1.f); });
                expect_errors([&] { (void)r.get_bool(o.key, false); });
                expect_errors([&] { (void)r.get_string(o.key, ""); });
                expect_errors([&] { (void)r.get_ints(o.key); });
                expect_errors([&] { (void)r.get_floats(o.key); });
            }
            expect_errors([&] { (void)r.require_int("filters"); });
            expect_errors([&] { r.finish(); });
        }
    });
    return 0;
}
