// A darknet list file (one image path per line; labels found beside them), in the scratch
// folder next to images/ and labels/ (relative entries resolve there). Absolute paths and
// ".." are made relative (confine_paths): the run reads only the fixture.
#include <cstddef>
#include <cstdint>

#include "data/dataset.h"
#include "data_fixture.h"
#include "fuzz_support.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)yolo9k_fuzz::data_fixture();
    const std::string list = yolo9k_fuzz::write_scratch(
        "fuzz-list.txt", yolo9k_fuzz::confine_paths({reinterpret_cast<const char*>(data), size}));
    DatasetOptions options;
    options.quiet = true;
    expect_errors([&] {
        const Dataset d = load_dataset(list, options);
        (void)count_boxes_per_class(d);
    });
    return 0;
}
