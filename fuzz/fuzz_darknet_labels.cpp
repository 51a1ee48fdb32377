// A darknet YOLO label file ("class x y w h" lines), read through a one-entry list file
// (read_darknet_list finds it by darknet's images/ -> labels/ rule), with and without names.
#include <cstddef>
#include <cstdint>

#include "data/dataset.h"
#include "data_fixture.h"
#include "fuzz_support.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& dir = yolo9k_fuzz::data_fixture();
    static const std::string list = yolo9k_fuzz::write_scratch("fuzz-list.txt", dir + "/images/f.jpg\n");
    yolo9k_fuzz::write_scratch("labels/f.txt", data, size);
    DatasetOptions options;
    options.quiet = true;
    expect_errors([&] { (void)load_dataset(list, options); });  // ids name themselves
    options.class_names = {"a", "b", "c"};
    expect_errors([&] { (void)load_dataset(list, options); });
    return 0;
}
