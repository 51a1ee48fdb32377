// A darknet .data file (key = value), then its train and valid splits: the fixture folder
// has train.txt, valid.txt, obj.names, coco.json and vocxml/ for the values to name.
// Absolute paths and ".." are made relative (confine_paths): the run reads only the fixture.
#include <cstddef>
#include <cstdint>

#include "data/dataset.h"
#include "data_fixture.h"
#include "fuzz_support.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)yolo9k_fuzz::data_fixture();
    const std::string path = yolo9k_fuzz::write_scratch(
        "fuzz.data", yolo9k_fuzz::confine_paths({reinterpret_cast<const char*>(data), size}));
    DatasetOptions options;
    options.quiet = true;
    expect_errors([&] {
        const DataFile file = read_data_file(path);
        (void)file.get("results");
        expect_errors([&] { (void)load_dataset_split(file, "train", options); });
        expect_errors([&] { (void)load_dataset_split(file, "valid", options); });
    });
    return 0;
}
