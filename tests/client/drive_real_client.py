"""Drives a short run with the real `matyan-client` 0.3.0 against a frontier.

usage: python drive_real_client.py FRONTIER_URL

Creates a run, sets hyper-parameters, tracks metrics (a NaN among them), adds
a tag, logs an image (presign + upload + blob_ref), closes the run, and prints
one JSON line describing what it sent; tests/real_client.rs checks what landed
in Kafka and S3.
"""

import json
import struct
import sys
import zlib

from matyan_client import Run
from matyan_client.objects import Image


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG, built without Pillow."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(c for x in range(width) for c in (x * 80, y * 120, 200)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main() -> None:
    frontier = sys.argv[1]
    run = Run(frontier_url=frontier, experiment="e2e", capture_terminal_logs=False, system_tracking_interval=None)
    run["hparams"] = {"lr": 0.01, "batch_size": 32}
    losses = [1.0, 0.5, 0.25, float("nan")]
    for step, loss in enumerate(losses):
        run.track(loss, name="loss", step=step, context={"subset": "train"})
    run.add_tag("e2e")
    png = tiny_png()
    run.track(Image(png), name="sample", step=0)
    run.close()
    print(json.dumps({
        "run_id": run.hash,
        "metric_steps": len(losses),
        "image_bytes": list(png),
    }))


if __name__ == "__main__":
    main()
