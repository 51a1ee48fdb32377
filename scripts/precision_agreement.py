#!/usr/bin/env python3
"""Share of one run's detections that another run reproduces: same class, IoU above a bound.

Usage: scripts/precision_agreement.py REFERENCE.json OTHER.json [--iou 0.9]

Both files are `yolo9k detect --json` output on the same images (an f32 run and a bf16 run,
say). Each reference box is matched to at most one unused box of the other run, the one of
its class with the highest IoU; it counts as reproduced when that IoU exceeds --iou.
"""
import argparse
import json
import sys


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def by_file(path):
    with open(path) as f:
        items = json.load(f)
    return {item["file"]: item["detections"] for item in items}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reference")
    p.add_argument("other")
    p.add_argument("--iou", type=float, default=0.9)
    a = p.parse_args()
    ref, other = by_file(a.reference), by_file(a.other)
    missing = sorted(set(ref) - set(other))
    if missing:
        sys.exit(f"{a.other}: no result for {len(missing)} image(s) of {a.reference}, e.g. {missing[0]}")
    total = reproduced = 0
    for name, dets in ref.items():
        unused = list(other[name])
        for d in sorted(dets, key=lambda d: -d["score"]):
            total += 1
            same = [(iou(d["box"], o["box"]), i) for i, o in enumerate(unused) if o["class_id"] == d["class_id"]]
            if not same:
                continue
            best, i = max(same)
            if best > a.iou:
                reproduced += 1
                unused.pop(i)
    extra = sum(len(v) for v in other.values()) - reproduced
    share = reproduced / total if total else 1.0
    print(f"{reproduced} of {total} reference detections reproduced ({100 * share:.1f}%, same class, IoU > {a.iou}); "
          f"{extra} other detection(s) unmatched, over {len(ref)} images")


if __name__ == "__main__":
    main()
