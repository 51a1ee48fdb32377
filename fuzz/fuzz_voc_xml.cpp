// One PASCAL VOC annotation XML in a raccoon-style folder (XML beside its image a.jpg),
// read with discovered class names and with fixed names that make unknown ones an error.
#include <cstddef>
#include <cstdint>

#include "data/dataset.h"
#include "data_fixture.h"
#include "fuzz_support.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& dir = yolo9k_fuzz::data_fixture();
    yolo9k_fuzz::write_scratch("vocxml/a.xml", data, size);
    DatasetOptions options;
    options.quiet = true;
    expect_errors([&] { (void)load_dataset(dir + "/vocxml", options); });
    options.class_names = {"a", "dog", "RBC"};
    options.skip_unknown_classes = false;
    expect_errors([&] { (void)load_dataset(dir + "/vocxml", options); });
    return 0;
}
