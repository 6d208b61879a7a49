"""Streams metric points with the real `matyan-client` 0.3.0, unmodified.

usage: python stream_points.py FRONTIER_URL POINTS INTERVAL_MS

Tracks POINTS values of `loss` with steps 0..POINTS-1, INTERVAL_MS apart, then
closes the run and prints one JSON line: the run id, the transport's own
counts (sent, dropped), and when tracking began and the close returned (epoch
seconds) with how long `run.close()` took. The caller counts what reached Kafka.
"""

import json
import sys
import time

from matyan_client import Run


def main() -> None:
    frontier, points, interval_ms = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    run = Run(frontier_url=frontier, experiment="stall", capture_terminal_logs=False, system_tracking_interval=None)
    first_track_at = time.time()
    started = time.monotonic()
    for step in range(points):
        run.track(1.0 / (step + 1), name="loss", step=step)
        # Paced from the start, so a stalled send does not stretch the schedule.
        pause = started + (step + 1) * interval_ms / 1000 - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    transport = run._ws  # read only, for the report: the client's own count of dropped messages
    closing = time.monotonic()
    run.close()
    close_seconds = time.monotonic() - closing
    report = {"run_id": run.hash, "tracked": points, "transport": transport.stats}
    report.update(first_track_at=first_track_at, closed_at=time.time(), close_seconds=close_seconds)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
