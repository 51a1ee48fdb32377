// ONNX Runtime as a benchmark baseline: the network exported by yolo9k (yolo9k/onnx_export.h)
// and timed by ONNX Runtime's CPU provider in a node process (npm onnxruntime-node, which
// bundles the runtime; scripts/onnxruntime.sh installs it), through scripts/onnxruntime_run.js.
#pragma once

#include <string>

#include "perf/baselines.h"

namespace yolo9k::perf {

// NODE_PATH holding onnxruntime-node: $YOLO9K_ONNXRUNTIME_NODE_PATH, else the cache that
// scripts/onnxruntime.sh fills; empty when neither has it.
std::string onnxruntime_node_path();

// Exports cfg + weights at options.width x options.height for options.batch images, then times
// options.timing.iterations runs after two warm-up runs, with options.threads intra-op threads
// (0: ONNX Runtime's default). Never throws: a failure is the run's `why`.
BaselineRun run_onnxruntime_baseline(const std::string& cfg, const std::string& weights,
                                     const BaselineRunOptions& options);

}  // namespace yolo9k::perf
