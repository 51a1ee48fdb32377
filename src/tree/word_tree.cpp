#include "tree/word_tree.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/file_read.h"

namespace yolo9k {

namespace {

// The file's lines without their '\r\n' / '\n'; a final newline does not start a line.
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        start = end + 1;
    }
    return lines;
}

std::string_view trim(std::string_view s) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

bool parse_int(std::string_view s, int& value) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::vector<int> WordTree::path_to_root(int node) const {
    std::vector<int> path;
    for (; node >= 0; node = parent[node]) path.push_back(node);
    return path;
}

WordTree parse_word_tree(std::string_view text, const std::string& source) {
    WordTree t;
    t.source = source;
    const std::vector<std::string_view> lines = split_lines(text);
    // The line where each parent's children start, to name it when they reappear later.
    std::vector<int> first_child_line;
    int roots_line = 0;
    for (size_t k = 0; k < lines.size(); ++k) {
        const int line = int(k) + 1;
        const int node = t.size();
        const std::string_view content = trim(lines[k]);
        const size_t space = content.find_first_of(" \t");
        if (content.empty() || space == std::string_view::npos)
            throw error_at(source, line, "expected \"<name> <parent index>\" (-1 for a root), got \"" +
                                             std::string(content) + "\"");
        const std::string_view name = content.substr(0, space);
        int parent = 0;
        if (!parse_int(trim(content.substr(space)), parent))
            throw error_at(source, line, "the parent index \"" + std::string(trim(content.substr(space))) +
                                             "\" is not an integer");
        // Parents must precede children: this is what makes one forward pass compute
        // products and depths, and it rules out cycles.
        if (parent < -1 || parent >= node)
            throw error_at(source, line, "node " + std::to_string(node) + " (" + std::string(name) + ") has parent " +
                                             std::to_string(parent) + "; expected -1 (a root) or an earlier node 0.." +
                                             std::to_string(node - 1) + " (parents must precede children, no cycles)");
        const bool new_group = node == 0 || parent != t.parent.back();
        if (new_group) {
            // Each sibling set must be one contiguous run of lines, the roots first, so that
            // a group is an index range and its softmax a softmax over a slice.
            if (parent < 0 && node > 0)
                throw error_at(source, line, "root " + std::string(name) +
                                                 " (parent -1) after non-root lines; the roots must be the first lines "
                                                 "(they started at line " + std::to_string(roots_line) + ")");
            if (parent >= 0 && t.child_group[parent] >= 0)
                throw error_at(source, line, "the children of node " + std::to_string(parent) + " (" + t.ids[parent] +
                                                 ") are not contiguous: they started at line " +
                                                 std::to_string(first_child_line[parent]) +
                                                 " and were interrupted; siblings must be consecutive lines");
            t.group_offset.push_back(node);
            t.group_size.push_back(0);
            if (parent >= 0) {
                t.child_group[parent] = t.groups() - 1;
                first_child_line[parent] = line;
            } else {
                roots_line = line;
            }
        }
        t.ids.emplace_back(name);
        t.parent.push_back(parent);
        t.group.push_back(t.groups() - 1);
        t.child_group.push_back(-1);
        t.depth.push_back(parent < 0 ? 0 : t.depth[parent] + 1);
        first_child_line.push_back(0);
        ++t.group_size.back();
    }
    if (t.size() == 0) throw Error(source + ": the tree is empty; expected lines \"<name> <parent index>\"");
    return t;
}

std::string resolve_cfg_relative_path(const std::string& given, const std::string& cfg_path) {
    namespace fs = std::filesystem;
    std::vector<fs::path> tried = {fs::path(given)};
    if (fs::path(given).is_relative()) {
        const fs::path cfg_dir = fs::path(cfg_path).parent_path();
        for (const fs::path& p : {cfg_dir / given, (cfg_dir.empty() ? fs::path("..") : cfg_dir / "..") / given})
            if (p.lexically_normal() != tried.front().lexically_normal()) tried.push_back(p);
    }
    std::error_code ec;
    for (const fs::path& p : tried)
        if (fs::is_regular_file(p, ec)) return p.lexically_normal().string();
    std::string list;
    for (const fs::path& p : tried) list += (list.empty() ? "" : ", ") + p.lexically_normal().string();
    throw Error("cannot find \"" + given + "\" (tried " + list + ")");
}

WordTree load_word_tree(const std::string& path) { return parse_word_tree(read_text_file_bounded(path, "tree file"), path); }

std::vector<std::string> load_tree_names(const std::string& path, const WordTree& tree) {
    std::vector<std::string> names;
    const std::string text = read_text_file_bounded(path, "names file");
    for (std::string_view line : split_lines(text)) names.emplace_back(trim(line));
    if (int(names.size()) != tree.size())
        throw Error(path + ": " + std::to_string(names.size()) + " names, but the tree " + tree.source + " has " +
                    std::to_string(tree.size()) + " nodes; expected one name per tree line");
    return names;
}

std::vector<int> load_class_map(const std::string& path, const WordTree& tree) {
    std::vector<int> map;
    const std::string text = read_text_file_bounded(path, "map file");
    const std::vector<std::string_view> lines = split_lines(text);
    for (size_t k = 0; k < lines.size(); ++k) {
        int node = 0;
        if (!parse_int(trim(lines[k]), node))
            throw error_at(path, int(k) + 1, "expected a tree node index, got \"" + std::string(trim(lines[k])) + "\"");
        if (node < 0 || node >= tree.size())
            throw error_at(path, int(k) + 1, "node " + std::to_string(node) + " is outside the tree " + tree.source +
                                                 " (nodes 0.." + std::to_string(tree.size() - 1) + ")");
        map.push_back(node);
    }
    if (map.empty()) throw Error(path + ": the map file is empty; expected one tree node index per class");
    return map;
}

void tree_softmax(const WordTree& tree, const float* input, float* output, int stride, float temperature) {
    for (int g = 0; g < tree.groups(); ++g) {
        const size_t first = size_t(tree.group_offset[g]) * stride;
        const int n = tree.group_size[g];
        float largest = -INFINITY;
        for (int i = 0; i < n; ++i) largest = std::max(largest, input[first + size_t(i) * stride]);
        float sum = 0;
        for (int i = 0; i < n; ++i) {
            const size_t at = first + size_t(i) * stride;
            // darknet's form: exp(x/T - max/T)
            output[at] = std::exp(input[at] / temperature - largest / temperature);
            sum += output[at];
        }
        for (int i = 0; i < n; ++i) output[first + size_t(i) * stride] /= sum;
    }
}

void tree_softmax_lanes(const WordTree& tree, const float* input, float* output, int lanes, float temperature) {
    std::vector<float> largest(lanes), sum(lanes);
    for (int g = 0; g < tree.groups(); ++g) {
        const size_t first = size_t(tree.group_offset[g]) * lanes;
        const int n = tree.group_size[g];
        std::fill(largest.begin(), largest.end(), -INFINITY);
        std::fill(sum.begin(), sum.end(), 0.f);
        for (int i = 0; i < n; ++i) {
            const float* x = input + first + size_t(i) * lanes;
            for (int l = 0; l < lanes; ++l) largest[l] = std::max(largest[l], x[l]);
        }
        for (int i = 0; i < n; ++i) {
            const float* x = input + first + size_t(i) * lanes;
            float* y = output + first + size_t(i) * lanes;
            for (int l = 0; l < lanes; ++l) {
                y[l] = std::exp(x[l] / temperature - largest[l] / temperature);
                sum[l] += y[l];
            }
        }
        for (int i = 0; i < n; ++i) {  // divided, not multiplied by 1/sum: bit-identical to tree_softmax
            float* y = output + first + size_t(i) * lanes;
            for (int l = 0; l < lanes; ++l) y[l] /= sum[l];
        }
    }
}

void tree_softmax_backward(const WordTree& tree, const float* output, const float* output_grad, float* input_grad,
                           int stride, float temperature) {
    // Each group is an independent softmax: dx_i = y_i (g_i - Σ_j g_j y_j) / T.
    for (int g = 0; g < tree.groups(); ++g) {
        const size_t first = size_t(tree.group_offset[g]) * stride;
        const int n = tree.group_size[g];
        double dot = 0;
        for (int i = 0; i < n; ++i) {
            const size_t at = first + size_t(i) * stride;
            dot += double(output_grad[at]) * output[at];
        }
        for (int i = 0; i < n; ++i) {
            const size_t at = first + size_t(i) * stride;
            input_grad[at] += float(output[at] * (output_grad[at] - dot) / temperature);
        }
    }
}

void tree_softmax_backward_lanes(const WordTree& tree, const float* output, const float* output_grad, float* input_grad,
                                 int lanes, float temperature) {
    std::vector<double> dot(lanes);
    for (int g = 0; g < tree.groups(); ++g) {
        const size_t first = size_t(tree.group_offset[g]) * lanes;
        const int n = tree.group_size[g];
        std::fill(dot.begin(), dot.end(), 0.0);
        for (int i = 0; i < n; ++i) {
            const size_t at = first + size_t(i) * lanes;
            for (int l = 0; l < lanes; ++l) dot[l] += double(output_grad[at + l]) * output[at + l];
        }
        for (int i = 0; i < n; ++i) {
            const size_t at = first + size_t(i) * lanes;
            for (int l = 0; l < lanes; ++l)
                input_grad[at + l] += float(output[at + l] * (output_grad[at + l] - dot[l]) / temperature);
        }
    }
}

float hierarchy_probability(const WordTree& tree, const float* conditional, int node, int stride) {
    float p = 1;
    for (; node >= 0; node = tree.parent[node]) p *= conditional[size_t(node) * stride];
    return p;
}

void hierarchy_products(const WordTree& tree, float* probs, int stride) {
    for (int j = 0; j < tree.size(); ++j)
        if (tree.parent[j] >= 0) probs[size_t(j) * stride] *= probs[size_t(tree.parent[j]) * stride];
}

// darknet's hierarchy_top_prediction, reproduced for parity. Its caller
// (get_region_detections) has already turned the conditionals into absolute
// probabilities (hierarchy_products), and the descent multiplies those again:
// p ← p · Pr(child) where Pr(child) is already the product down to the child, so the
// quantity compared with `threshold` is a product of absolute probabilities — stricter
// than Pr(node) as the paper describes it. `probs` are therefore the PRODUCTS.
// At each group it takes the child with the largest value (first on ties); if p·max
// exceeds the threshold it descends (returning at a leaf); otherwise it stops at the
// group's parent — except in group 0 (the roots), where it returns the best root anyway,
// so every box gets a class.
int top_down_prediction(const WordTree& tree, const float* probs, float threshold, int stride) {
    float p = 1;
    int group = 0;
    while (true) {
        float best = 0;
        int best_node = tree.group_offset[group];
        for (int i = 0; i < tree.group_size[group]; ++i) {
            const int node = tree.group_offset[group] + i;
            const float value = probs[size_t(node) * stride];
            if (value > best) {
                best = value;
                best_node = node;
            }
        }
        if (p * best > threshold) {
            p *= best;
            if (tree.is_leaf(best_node)) return best_node;
            group = tree.child_group[best_node];
        } else if (group == 0) {
            return best_node;
        } else {
            return tree.parent[tree.group_offset[group]];
        }
    }
}

}  // namespace yolo9k
