// WordTree files: the input is up to three parts separated by a "%%" line: a .tree
// ("<name> <parent>" lines), a class map (one node per line) and a names file. The tree is
// parsed from memory, then exercised (hierarchical softmax, products, top-down prediction,
// paths); the map and names go through their path-only loaders against it.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "tree/word_tree.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

namespace {

void exercise(const WordTree& t) {
    const int n = t.size();
    std::vector<float> x(std::size_t(n) * 2), y(x.size()), g(x.size(), 0.f);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i));
    tree_softmax(t, x.data(), y.data(), 1);
    tree_softmax_lanes(t, x.data(), y.data(), 2);
    tree_softmax_backward(t, y.data(), x.data(), g.data(), 1);
    tree_softmax_backward_lanes(t, y.data(), x.data(), g.data(), 2);
    (void)hierarchy_probability(t, y.data(), n - 1, 1);
    hierarchy_products(t, y.data(), 1);
    (void)top_down_prediction(t, y.data(), 0.5f, 1);
    (void)top_down_prediction(t, y.data(), 0.f, 2);
    (void)t.path_to_root(n - 1);
    for (int i = 0; i < n; ++i) (void)t.is_leaf(i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::string_view> parts = yolo9k_fuzz::split_parts(data, size, 3);
    expect_errors([&] {
        const WordTree tree = parse_word_tree(parts[0], "fuzz.tree");
        exercise(tree);
        if (parts.size() > 1) {
            const std::string map = yolo9k_fuzz::write_scratch("fuzz.map", parts[1]);
            expect_errors([&] { (void)load_class_map(map, tree); });
        }
        if (parts.size() > 2) {
            const std::string names = yolo9k_fuzz::write_scratch("fuzz.names", parts[2]);
            expect_errors([&] { (void)load_tree_names(names, tree); });
        }
    });
    return 0;
}
