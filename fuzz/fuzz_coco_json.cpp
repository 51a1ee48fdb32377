// COCO-style JSON (images, annotations, categories), with discovered and with fixed names.
#include <cstddef>
#include <cstdint>

#include "data/dataset.h"
#include "data_fixture.h"
#include "fuzz_support.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)yolo9k_fuzz::data_fixture();
    const std::string path = yolo9k_fuzz::write_scratch("fuzz.json", data, size);
    DatasetOptions options;
    options.quiet = true;
    expect_errors([&] { (void)load_dataset(path, options); });
    options.class_names = {"a", "dog", "person"};
    options.skip_unknown_classes = false;
    expect_errors([&] { (void)load_dataset(path, options); });
    return 0;
}
