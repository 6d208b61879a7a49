"""Turns the load generator's JSON lines into the benchmark table (or checks them).

usage: bench_report.py RESULTS                 the table, with ratios and the machine
       bench_report.py --check RESULTS         exit 1 unless every phase had no errors and
                                               Kafka holds exactly the acked messages
       bench_report.py --max LABEL C B RESULTS  messages/s of that phase
"""

import json
import os
import platform
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def find(results, label, connections, batch):
    for r in results:
        if r["label"] == label and r["connections"] == connections and r["batch"] == batch:
            return r
    return None


def check(results):
    failed = [r for r in results if r["mode"] == "ws" and (r["errors"] or not r["records_match"] or not r["acked_messages"])]
    for r in failed:
        print(f"FAILED {r['label']} c={r['connections']} b={r['batch']}: errors={r['errors']} acked={r['acked_messages']} in_kafka={r['records_in_kafka']}")
    print(f"bench smoke: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {model}, Linux {platform.release()}; broker (Tansu, memory), gateway and load generator on the same machine"


def table(results):
    print(f"Machine: {machine()}\n")
    print("| connections | msgs/frame | codec | ours msgs/s | reference msgs/s | ceiling msgs/s | ours/reference | ours/ceiling | ours p50 / p99 / p99.9 ms | ours CPU cores | errors | Kafka == acked |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    # The default (uncompressed) rows, then the opt-in lz4 row; the reference never compresses.
    for r in results:
        codec = {"ours": "none", "ours-lz4": "lz4"}.get(r["label"])
        if codec is None or r["mode"] != "ws":
            continue
        c, b = r["connections"], r["batch"]
        ref = find(results, "reference", c, b)
        ceiling = find(results, f"raw rdkafka {codec}", c, b)
        ours = r["messages_per_second"]
        ratio = lambda other: f"{ours / other['messages_per_second']:.1f}x" if other and other["messages_per_second"] else "n/a"
        share = f"{100 * ours / ceiling['messages_per_second']:.0f} %" if ceiling and ceiling["messages_per_second"] else "n/a"
        lat = r["latency_ms"]
        errors = r["errors"] + (ref["errors"] if ref else 0)
        match = "yes" if r["records_match"] and (ref is None or ref["records_match"]) else "NO"
        print(f"| {c} | {b} | {codec} | {ours:,.0f} | {ref['messages_per_second'] if ref else 0:,.0f} | {ceiling['messages_per_second'] if ceiling else 0:,.0f} | {ratio(ref)} | {share} | "
              f"{lat['p50']:.1f} / {lat['p99']:.1f} / {lat['p999']:.1f} | {r['server']['cpu_cores_used']:.2f} | {errors} | {match} |")
    for r in results:
        if r["label"] == "ours-half-load":
            lat = r["latency_ms"]
            print(f"\nHalf load (64 connections, 100-message frames, {r['pause_ms']:.1f} ms pause): {r['messages_per_second']:,.0f} msgs/s, "
                  f"latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, p99.9 {lat['p999']:.1f} ms, errors {r['errors']}, Kafka == acked: {r['records_match']}")
        if r["mode"] == "idle":
            print(f"\nIdle: {r['connections']} connections open in {r['seconds_to_open']:.1f} s, server RSS {r['rss_kib_before']:,} KiB -> {r['rss_kib_after']:,} KiB, "
                  f"{r['rss_kib_per_connection']:.1f} KiB per connection")


def main(argv):
    if argv[1] == "--check":
        return check(load(argv[2]))
    if argv[1] == "--max":
        r = find(load(argv[5]), argv[2], int(argv[3]), int(argv[4]))
        print(r["messages_per_second"])
        return 0
    table(load(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
