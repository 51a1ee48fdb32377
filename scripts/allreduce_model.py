#!/usr/bin/env python3
"""The cost model of data-parallel training's gradient all-reduce (README: "Training on
several processes and machines").

A ring all-reduce of S bytes over N nodes sends and receives 2 (N-1)/N * S per node, in
2 (N-1) latency-bound rounds:   T_comm(N) = 2 (N-1)/N * S / B + 2 (N-1) * a
Each node computes batch/N images of a step at r images/s:   T_step(N) = batch / (N r)
Communication dominates past the N where T_comm > T_step (without overlap with the backward).

Usage: scripts/allreduce_model.py [--params 50.6e6] [--batch 64] [--node-img-s 2.0 100]
                                   [--gbps 10 25 100] [--latency-us 30]
                                   [--check SMALL_PARAMS SMALL_S LARGE_PARAMS LARGE_S]
--check compares the model's linearity in S with two measured exchange times (s per step).
"""
import argparse


def comm_seconds(nodes, size_bytes, bytes_per_s, latency_s):
    return 2 * (nodes - 1) / nodes * size_bytes / bytes_per_s + 2 * (nodes - 1) * latency_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", type=float, default=50.6e6, help="gradient floats (yolov2-voc: 50.6 M)")
    ap.add_argument("--batch", type=int, default=64, help="global batch (YOLOv2's recipe: 64)")
    ap.add_argument("--node-img-s", type=float, nargs="+", default=[2.0, 100.0],
                    help="training images/s of one node (2.0: a 2-core CPU node, measured; 100: a GPU-class node)")
    ap.add_argument("--gbps", type=float, nargs="+", default=[10, 25, 100])
    ap.add_argument("--latency-us", type=float, default=30.0, help="per-round latency (TCP: ~30 us)")
    ap.add_argument("--nodes", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    ap.add_argument("--check", type=float, nargs=4, metavar=("P1", "T1", "P2", "T2"))
    a = ap.parse_args()
    size = 4 * a.params
    lat = a.latency_us * 1e-6
    print(f"gradient: {a.params / 1e6:.1f} M floats = {size / 1e6:.0f} MB per step; global batch {a.batch}")
    for r in a.node_img_s:
        print(f"\nnode computes {r:g} img/s: step compute time batch/(N r); ring all-reduce time per step (s)")
        print("%6s %12s" % ("nodes", "compute") + "".join("%14s" % f"{g:g} Gb/s" for g in a.gbps))
        for n in a.nodes:
            if n > a.batch:
                continue
            step = a.batch / (n * r)
            row = "%6d %12.3f" % (n, step)
            for g in a.gbps:
                t = comm_seconds(n, size, g * 1e9 / 8, lat)
                row += "%14s" % (f"{t:.3f}" + ("*" if t > step else ""))
            print(row)
        for g in a.gbps:
            cross = next((n for n in range(2, a.batch + 1) if comm_seconds(n, size, g * 1e9 / 8, lat) > a.batch / (n * r)), None)
            print(f"  {g:g} Gb/s: communication dominates from {cross} nodes" if cross else
                  f"  {g:g} Gb/s: compute dominates up to {a.batch} nodes (one image each)")
    print("\n* communication exceeds the step's compute")
    if a.check:
        p1, t1, p2, t2 = a.check
        bw = 2 * 0.5 * 4 * p1 / t1  # N = 2: one S each way
        predicted = 2 * 0.5 * 4 * p2 / bw
        print(f"\ncheck (2 ranks): {p1 / 1e6:.1f} M floats took {t1:.3f} s -> {bw / 1e9:.2f} GB/s; "
              f"predicts {predicted:.3f} s for {p2 / 1e6:.1f} M floats, measured {t2:.3f} s ({t2 / predicted:.2f}x)")


if __name__ == "__main__":
    main()
