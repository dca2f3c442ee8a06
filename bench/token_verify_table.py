"""Joins the criterion results of crates/token's `verify` bench with PyJWT's medians and prints
one table with the ratio. Called by bench/token-verify.sh after both benches ran.

Criterion writes <target>/criterion/<group>/<bench>/new/{benchmark,estimates}.json; only
results written after --since (a file touched before the run) are read, so stale figures from
an earlier run never appear in the table.
"""

import argparse
import json
import os
import re
import sys

ALGS = ("HS256", "RS256", "ES256", "EdDSA")


def criterion_medians(root: str, since: float) -> dict:
    """{full_id: median ns} for every benchmark criterion finished after `since`."""
    found = {}
    for directory, _, files in os.walk(root):
        if os.path.basename(directory) != "new" or "estimates.json" not in files:
            continue
        estimates = os.path.join(directory, "estimates.json")
        if os.path.getmtime(estimates) < since:
            continue
        with open(os.path.join(directory, "benchmark.json"), encoding="utf-8") as f:
            full_id = json.load(f)["full_id"]
        with open(estimates, encoding="utf-8") as f:
            found[full_id] = json.load(f)["median"]["point_estimate"]
    return found


def pick(medians: dict, alg: str):
    """The verify bench for `alg`: ids naming the algorithm, preferring ones that say verify."""
    pattern = re.compile(rf"(?<![a-z0-9]){alg}(?![0-9])", re.IGNORECASE)
    matches = sorted(full_id for full_id in medians if pattern.search(full_id))
    verifying = [full_id for full_id in matches if "verif" in full_id.lower()]
    return (verifying or matches or [None])[0]


def fmt(ns) -> str:
    return "—" if ns is None else f"{ns / 1000:.2f} µs"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--criterion", required=True, help="the criterion output directory")
    parser.add_argument("--since", required=True, help="a file touched before the run")
    parser.add_argument("--pyjwt", required=True, help="JSON written by pyjwt_verify.py --json")
    args = parser.parse_args()
    medians = criterion_medians(args.criterion, os.path.getmtime(args.since))
    with open(args.pyjwt, encoding="utf-8") as f:
        pyjwt = json.load(f)
    if not medians:
        sys.exit(f"no criterion results newer than this run under {args.criterion}")

    print()
    print("| alg   | Gatehouse median | PyJWT median | PyJWT / Gatehouse | criterion bench |")
    print("|-------|-----------------:|-------------:|------------------:|-----------------|")
    used = set()
    for alg in ALGS:
        full_id = pick(medians, alg)
        ours = medians.get(full_id)
        used.add(full_id)
        theirs = pyjwt.get(alg)
        ratio = f"{theirs / ours:.1f}×" if ours and theirs else "—"
        print(f"| {alg:<5} | {fmt(ours):>16} | {fmt(theirs):>12} | {ratio:>17} | {full_id or 'not found'} |")
    others = sorted(set(medians) - used)
    if others:
        print("\nother criterion results from this run:")
        for full_id in others:
            print(f"  {full_id}: {fmt(medians[full_id])}")


if __name__ == "__main__":
    main()
