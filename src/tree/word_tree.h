// WordTree: YOLO9000's label hierarchy, read from darknet's tree format
// (`9k.tree`: one line per node, "<name> <parent index>", -1 for a root).
//
// Darknet's hierarchical softmax needs two properties of the file, which load_word_tree
// checks (a file without them is an error naming the line):
//  * a node's parent comes before it (parent index < node index), so one pass computes
//    depths and paths, and the tree has no cycles;
//  * the children of one parent are contiguous lines, so each sibling set ("group") is a
//    contiguous index range [group_offset, group_offset + group_size) and a softmax over a
//    group is a softmax over a slice. The roots (parent -1) form group 0 and must be the
//    first lines.
//
// Predictions for the nodes are laid out with `stride` floats between consecutive nodes:
// 1 for a classifier's [softmax], grid_w*grid_h for a [region]'s class entries.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace yolo9k {

struct WordTree {
    std::string source;               // the file it came from (for messages)
    std::vector<std::string> ids;     // the .tree's first column (e.g. WordNet ids "n02084071")
    std::vector<int> parent;          // -1 for roots
    std::vector<int> group;           // the sibling group of each node
    std::vector<int> child_group;     // the group of the node's children, -1 for a leaf
    std::vector<int> depth;           // 0 for roots
    std::vector<int> group_offset;    // first node of each group
    std::vector<int> group_size;      // nodes in each group

    int size() const { return static_cast<int>(parent.size()); }
    int groups() const { return static_cast<int>(group_offset.size()); }
    bool is_leaf(int node) const { return child_group[node] < 0; }
    // The node and its ancestors, from the node up to its root.
    std::vector<int> path_to_root(int node) const;
};

// Throws Error("file:line: ...") for an unreadable file, a malformed line, a parent index
// out of range or not before the node, or non-contiguous siblings.
WordTree parse_word_tree(std::string_view text, const std::string& source);
WordTree load_word_tree(const std::string& path);

// Display names (darknet's 9k.names): one line per node. Throws Error when the count
// differs from the tree's size (naming both files and both counts).
std::vector<std::string> load_tree_names(const std::string& path, const WordTree& tree);

// A map file (coco9k.map, inet9k.map): line k holds the tree node of dataset class k.
// Throws Error naming the line for a non-integer or a node outside [0, tree.size()).
std::vector<int> load_class_map(const std::string& path, const WordTree& tree);

// A tree=/map= path from a cfg: as given (darknet opens it relative to the working
// directory), else relative to the cfg's folder, else to the folder above it (darknet's
// layout: cfg/ beside data/). Throws Error listing every path tried when none exists.
std::string resolve_cfg_relative_path(const std::string& given, const std::string& cfg_path);

// --- Hierarchical softmax over sibling groups -------------------------------------
// output[i] = Pr(node i | its parent): a softmax (with temperature) over each group.
void tree_softmax(const WordTree& tree, const float* input, float* output, int stride, float temperature = 1);
// tree_softmax over `lanes` interleaved node sets at once (node j of lane l at
// j*lanes + l, a [region]'s class entries of all cells): the same result as one
// tree_softmax(stride = lanes) per lane, with the inner loops over contiguous lanes.
void tree_softmax_lanes(const WordTree& tree, const float* input, float* output, int lanes, float temperature = 1);
// Backward of tree_softmax: ADDS dL/dinput given the forward output and dL/doutput.
void tree_softmax_backward(const WordTree& tree, const float* output, const float* output_grad, float* input_grad,
                           int stride, float temperature = 1);

// tree_softmax_backward over `lanes` interleaved node sets (the layout of tree_softmax_lanes).
void tree_softmax_backward_lanes(const WordTree& tree, const float* output, const float* output_grad, float* input_grad,
                                 int lanes, float temperature = 1);

// Pr(node) = the product of the conditional probabilities on its path to the root.
float hierarchy_probability(const WordTree& tree, const float* conditional, int node, int stride);
// In place: conditional -> absolute probabilities for every node (parents before
// children, so one forward pass). darknet's hierarchy_predictions with only_leaves = 0.
void hierarchy_products(const WordTree& tree, float* probs, int stride);

// Top-down prediction (darknet's hierarchy_top_prediction, `-hier` threshold): from the
// roots, take the most probable child while the running product stays above `threshold`;
// return the most specific node reached (a root when even the best root is below it).
// `probs` are what darknet passes it; the implementation documents which.
int top_down_prediction(const WordTree& tree, const float* probs, float threshold, int stride);

}  // namespace yolo9k
