"""The downstream contract: what matyan-backend 0.3.0's ingestion workers can read.

usage:
  python downstream_contract.py worker FRONTIER_URL BOOTSTRAP TOPIC
  python downstream_contract.py latest FRONTIER_URL BOOTSTRAP TOPIC

`worker`: the real, unmodified `matyan-client` 0.3.0 drives one run through
every message type it can emit (see CLIENT_EMITS), then the run's records are
read exactly as the 0.3.0 ingestion worker reads them (see read_like_the_worker):
aiokafka 0.13.0 installed without compression extras, a consumer group,
`value_deserializer=lambda v: v.decode()`, `IngestionMessage.model_validate_json`
from matyan-api-models 0.2.1, then the payload keys the worker's handlers index
directly (WORKER_INDEXES). Every record batch the consumer parses must be
uncompressed. TOPIC must be new: the worker reads from the earliest offset, so
every record in it must be this run's (tests/downstream_contract.rs creates it).

`latest`: what matyan-core's own `tests/integration/test_frontier_kafka.py`
checks: an aiokafka consumer with `auto_offset_reset="latest"` and no group,
started before the frames are sent, sees create_run, log_metric, log_hparams
and finish_run of a run written over a plain WebSocket.

Each mode prints one JSON line last (tests/downstream_contract.rs reads it) and
exits non-zero with a message on stderr when a check fails.
"""

import asyncio
import importlib.metadata
import importlib.util
import json
import sys
import time
import uuid
from datetime import datetime, timezone

from drive_real_client import tiny_png

# The worker's environment. matyan-backend 0.3.0 pins aiokafka 0.13.0 (its
# uv.lock; its wheel asks for aiokafka~=0.13) without the lz4/snappy/zstd extras
# (cramjam), and matyan-api-models~=0.2.1.
PINNED = {"aiokafka": "0.13.0", "matyan-api-models": "0.2.1", "matyan-client": "0.3.0"}
# With any of these importable the reader could decode what the worker cannot.
CODEC_MODULES = ("cramjam", "lz4", "zstandard", "zstd", "snappy")

# What `matyan_backend/workers/ingestion.py` (the matyan-backend 0.3.0 wheel)
# does with each type's payload `p`. A missing key here raises KeyError in the
# handler and the whole run group's transaction is dropped.
#   _handle_log_metric:        p["name"], p["value"]
#   _handle_log_custom_object: p["name"], p["value"]
#   _handle_add_tag:           msg.payload["tag_name"]
#   _handle_remove_tag:        msg.payload["tag_name"]
#   _handle_log_terminal_line: p["line"], p["step"]
#   _handle_log_record:        p["message"], p["level"], p["timestamp"]
# The other handlers read only with .get() or behind `if key in p`:
#   _handle_create_run:        force_resume, client_datetime (datetime.fromisoformat)
#   _handle_log_hparams:       value (ignored unless a non-empty dict)
#   _handle_finish_run:        client_datetime (absent: the reference publishes {})
#   _handle_blob_ref:          artifact_path, s3_key, content_type (defaults otherwise)
#   _handle_set_run_property:  name, description, archived, experiment (each if present)
#   log_metric / log_custom_object also: step, epoch, dtype, context (context_to_id)
#   log_record also: extra_args, logger_info
WORKER_INDEXES = {
    "create_run": (),
    "log_metric": ("name", "value"),
    "log_custom_object": ("name", "value"),
    "log_hparams": (),
    "finish_run": (),
    "blob_ref": (),
    "set_run_property": (),
    "add_tag": ("tag_name",),
    "remove_tag": ("tag_name",),
    "log_terminal_line": ("line", "step"),
    "log_record": ("message", "level", "timestamp"),
}

# The client's public calls behind each message type (matyan_client 0.3.0,
# run.py and transport/ws.py). `delete_run` (the worker's twelfth handler) is
# not among them: the client deletes runs through the backend's REST API
# (Repo.delete_run), and the frontier refuses that type.
CLIENT_EMITS = {
    "create_run": "Run(...)",
    "set_run_property": "Run(experiment=...), run.name/.description/.archived/.experiment = ...",
    "log_hparams": "run[key] = value",
    "log_metric": "run.track(number, ...)",
    "log_custom_object": "run.track(Text(...) / Image(...), ...)",
    "blob_ref": "run.track(Image(...)): presign, PUT, then blob_ref",
    "add_tag": "run.add_tag(...)",
    "remove_tag": "run.remove_tag(...)",
    "log_record": "run.log_info/log_warning/log_error/log_debug(...)",
    "log_terminal_line": "Run(capture_terminal_logs=True) and print(...)",
    "finish_run": "run.close()",
}
assert set(CLIENT_EMITS) == set(WORKER_INDEXES)


def fail(message: str) -> None:
    print(f"downstream contract: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def check_environment() -> None:
    """The reader must be the worker's: the pinned versions and no codec library."""
    for package, version in PINNED.items():
        installed = importlib.metadata.version(package)
        check(installed == version, f"{package} {installed} installed, the 0.3.0 worker uses {version}")
    importable = [m for m in CODEC_MODULES if importlib.util.find_spec(m) is not None]
    check(not importable, f"{importable} importable: the reader would decode codecs the 0.3.0 worker cannot")
    import aiokafka.codec

    check(not (aiokafka.codec.has_lz4() or aiokafka.codec.has_zstd() or aiokafka.codec.has_snappy()),
          "aiokafka found an lz4/zstd/snappy codec: not the worker's installation")


def drive_client(frontier: str) -> dict:
    """One run through every message type the client emits; what is expected of it."""
    from matyan_client import Run
    from matyan_client.objects import Image, Text

    png = tiny_png()
    run = Run(frontier_url=frontier, experiment="downstream-contract", capture_terminal_logs=True,
              system_tracking_interval=None)
    run.name = "contract run"
    run.description = "every message type of matyan-client 0.3.0"
    run.archived = False
    run["hparams"] = {"lr": 0.01, "batch_size": 32}
    for step, loss in enumerate([1.0, 0.5, float("nan")]):
        run.track(loss, name="loss", step=step, epoch=0, context={"subset": "train"})
    run.track(3, name="count")  # an int, step counted by the client
    run.add_tag("contract")
    run.add_tag("temporary")
    run.remove_tag("temporary")
    run.track(Text("a cat"), name="predictions", step=0)
    run.track(Image(png), name="sample", step=0, context={"subset": "val"})
    run.log_info("epoch done", epoch=0)
    run.log_warning("learning rate is high")
    # Captured from stdout by the client's terminal-log thread.
    print("epoch 0: loss=0.5", flush=True)
    run.close()
    return {
        "run_id": run.hash,
        "png": png,
        "exact_counts": {
            "create_run": 1, "set_run_property": 4, "log_hparams": 1, "log_metric": 4,
            "add_tag": 2, "remove_tag": 1, "log_custom_object": 2, "blob_ref": 1,
            "log_record": 2, "finish_run": 1,
        },
    }


class BatchCodecs:
    """Records the codec of every record batch the consumer parses.

    The consumer's fetcher turns each fetched partition's bytes into
    `MemoryRecords` and takes batches from it with `next_batch()`; this wraps
    that class and notes each batch's `compression_type` (the low 3 bits of the
    batch attributes: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), read by
    aiokafka's own DefaultRecordBatch, before the consumer decodes it.
    """

    def __init__(self) -> None:
        import aiokafka.consumer.fetcher as fetcher

        self.seen: list[tuple[int, int]] = []  # (base offset, codec)
        self._fetcher = fetcher
        self._original = fetcher.MemoryRecords
        codecs = self

        class Recording:
            def __init__(self, data: bytes) -> None:
                self._inner = codecs._original(data)

            def size_in_bytes(self) -> int:
                return self._inner.size_in_bytes()

            def has_next(self) -> bool:
                return self._inner.has_next()

            def next_batch(self):
                batch = self._inner.next_batch()
                if batch is not None:
                    codecs.seen.append((batch.base_offset, batch.compression_type))
                return batch

        fetcher.MemoryRecords = Recording

    def restore(self) -> None:
        self._fetcher.MemoryRecords = self._original


async def read_like_the_worker(bootstrap: str, topic: str, run_id: str, codecs: BatchCodecs,
                               timeout: float = 30.0) -> list:
    """The run's records as the 0.3.0 worker gets them (IngestionWorker.start and
    _consume_loop / _parse_and_group): a group consumer from the earliest offset,
    offsets committed after each batch, every value a str parsed by pydantic.

    Only the group's name differs (the worker's is "ingestion-workers"), so that
    this test never joins or moves a real group. Anything the worker would skip
    or choke on fails here.
    """
    from aiokafka import AIOKafkaConsumer
    from matyan_api_models.kafka import IngestionMessage

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"ingestion-workers-contract-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        value_deserializer=lambda v: v.decode(),
    )
    await consumer.start()
    messages = []
    deadline = time.monotonic() + timeout
    try:
        while not any(m.type == "finish_run" for _, m in messages):
            check(time.monotonic() < deadline,
                  f"no finish_run within {timeout} s; read {[m.type for _, m in messages]}")
            try:
                # The worker's defaults (matyan_backend/config.py): ingest_batch_timeout_ms=100,
                # ingest_batch_size=200.
                batch = await consumer.getmany(timeout_ms=100, max_records=200)
            except Exception as error:  # noqa: BLE001 - any reading error fails the contract
                fail(f"the 0.3.0 worker's consumer cannot read the records: {type(error).__name__}: {error}"
                     f" ((base offset, codec) of the batches parsed: {codecs.seen})")
            for record in (r for records in batch.values() for r in records):
                check(isinstance(record.value, str), f"value at offset {record.offset} did not decode to str")
                try:
                    message = IngestionMessage.model_validate_json(record.value)
                except Exception as error:  # noqa: BLE001
                    fail(f"record at {record.partition}/{record.offset} fails IngestionMessage: {error}\n{record.value}")
                messages.append((record, message))
            if batch:
                await consumer.commit()
    finally:
        await consumer.stop()
    check(all(m.run_id == run_id for _, m in messages), "the topic holds records of another run")
    return messages


def check_payloads(messages: list, expected: dict) -> dict:
    """The worker's handlers, key by key, on every record; answers the counts by type."""
    from matyan_api_models.context import context_to_id

    run_id = expected["run_id"]
    counts: dict[str, int] = {}
    for record, message in messages:
        p = message.payload
        kind = message.type
        where = f"{kind} at {record.partition}/{record.offset}"
        check(kind in WORKER_INDEXES, f"{where}: the worker has no handler for this type")
        check(record.key == run_id.encode(), f"{where}: key {record.key!r} is not the run id")
        counts[kind] = counts.get(kind, 0) + 1
        for key in WORKER_INDEXES[kind]:
            check(key in p, f"{where}: payload lacks {key!r}, which the worker indexes directly: {p}")
        if kind in ("log_metric", "log_custom_object"):
            check(isinstance(p["name"], str), f"{where}: name {p['name']!r}")
            check(p.get("context") is None or isinstance(p["context"], dict), f"{where}: context {p.get('context')!r}")
            context_to_id(p.get("context") or {})
            for key in ("step", "epoch"):
                check(p.get(key) is None or isinstance(p[key], int), f"{where}: {key} {p.get(key)!r}")
            check(p.get("dtype") is None or isinstance(p["dtype"], str), f"{where}: dtype {p.get('dtype')!r}")
        if kind == "log_custom_object":
            check(isinstance(p["value"], dict), f"{where}: value {p['value']!r} is not an object")
        if kind == "log_terminal_line":
            check(isinstance(p["line"], str) and isinstance(p["step"], int), f"{where}: {p}")
        if kind == "log_record":
            check(isinstance(p["message"], str) and isinstance(p["level"], int), f"{where}: {p}")
            check(isinstance(p["timestamp"], float), f"{where}: timestamp {p['timestamp']!r}")
        if kind in ("create_run",):
            # The worker turns it into the run's start time; unreadable means none.
            datetime.fromisoformat(p["client_datetime"])
        if kind == "log_hparams":
            check(p.get("value") == {"hparams": {"lr": 0.01, "batch_size": 32}}, f"{where}: {p}")
        if kind == "blob_ref":
            check(p.get("s3_key") == f"{run_id}/seq/sample/0.png" and p.get("artifact_path") == "seq/sample/0.png"
                  and p.get("content_type") == "image/png", f"{where}: {p}")

    for kind, count in expected["exact_counts"].items():
        check(counts.get(kind, 0) == count, f"{count} {kind} expected, read {counts.get(kind, 0)}: {counts}")
    check(counts.get("log_terminal_line", 0) >= 1, f"no log_terminal_line: {counts}")
    check(set(counts) == set(WORKER_INDEXES), f"types read {sorted(counts)}")
    check(messages[0][1].type == "create_run" and messages[-1][1].type == "finish_run",
          f"first {messages[0][1].type}, last {messages[-1][1].type}")

    payloads = {m.type: [] for _, m in messages}
    for _, m in messages:
        payloads[m.type].append(m.payload)
    properties = {k: v for p in payloads["set_run_property"] for k, v in p.items()}
    check(properties == {"experiment": "downstream-contract", "name": "contract run",
                         "description": "every message type of matyan-client 0.3.0", "archived": False},
          f"run properties {properties}")
    losses = [(p["name"], p["step"], p["value"]) for p in payloads["log_metric"]]
    check(losses == [("loss", 0, 1.0), ("loss", 1, 0.5), ("loss", 2, None), ("count", 0, 3.0)],
          f"metrics {losses} (NaN is published as null)")
    check([p["tag_name"] for p in payloads["add_tag"]] == ["contract", "temporary"]
          and [p["tag_name"] for p in payloads["remove_tag"]] == ["temporary"], "tags")
    objects = {p["value"]["type"]: p for p in payloads["log_custom_object"]}
    check(objects["text"]["value"] == {"type": "text", "data": "a cat"} and objects["text"]["dtype"] == "text",
          f"text {objects.get('text')}")
    check(objects["image"]["value"].get("s3_key") == f"{run_id}/seq/sample/0.png", f"image {objects.get('image')}")
    check([(p["message"], p["level"]) for p in payloads["log_record"]]
          == [("epoch done", 20), ("learning rate is high", 30)]
          and payloads["log_record"][0].get("extra_args") == {"epoch": 0}, f"log records {payloads['log_record']}")
    check(any(p["line"] == "epoch 0: loss=0.5" for p in payloads["log_terminal_line"]),
          f"terminal lines {payloads['log_terminal_line']}")
    return counts


async def worker_mode(frontier: str, bootstrap: str, topic: str) -> None:
    check_environment()
    # The client's own threads and event loop; run it off this loop.
    expected = await asyncio.to_thread(drive_client, frontier)
    codecs = BatchCodecs()
    try:
        messages = await read_like_the_worker(bootstrap, topic, expected["run_id"], codecs)
    finally:
        codecs.restore()
    counts = check_payloads(messages, expected)
    check(codecs.seen, "the consumer parsed no record batch")
    check(all(codec == 0 for _, codec in codecs.seen),
          f"batch codec is none: failed, (base offset, codec) of the batches read: {codecs.seen}")
    print(json.dumps({
        "run_id": expected["run_id"],
        "records": len(messages),
        "counts": counts,
        "batches": len(codecs.seen),
        "batch_codecs": sorted({codec for _, codec in codecs.seen}),
        "s3_key": f"{expected['run_id']}/seq/sample/0.png",
        "image_hex": expected["png"].hex(),
    }))


async def latest_mode(frontier: str, bootstrap: str, topic: str) -> None:
    """matyan-core's test_frontier_ws_messages_appear_on_kafka, in our words."""
    from aiokafka import AIOKafkaConsumer
    from websockets.asyncio.client import connect

    run_id = f"integration-{uuid.uuid4().hex[:12]}"
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="latest")
    await consumer.start()
    try:
        # Wait until every partition has its "latest" position, so nothing sent
        # next can fall before it (upstream's test sends right after start()).
        deadline = time.monotonic() + 20
        while not consumer.assignment():
            check(time.monotonic() < deadline, "the consumer got no partitions")
            await asyncio.sleep(0.05)
        for tp in consumer.assignment():
            await consumer.position(tp)

        now = datetime.now(tz=timezone.utc).isoformat()
        frames = [
            {"type": "create_run", "client_datetime": now},
            {"type": "log_metric", "name": "loss", "value": 0.42, "step": 0, "epoch": 0,
             "context": {"subset": "train"}, "dtype": "float", "client_datetime": now},
            {"type": "log_hparams", "value": {"lr": 0.001, "batch_size": 32}},
            {"type": "finish_run"},
        ]
        ws_url = frontier.replace("http://", "ws://") + f"/api/v1/ws/runs/{run_id}"
        async with connect(ws_url) as ws:
            for frame in frames:
                await ws.send(json.dumps(frame))
                answer = json.loads(await ws.recv())
                check(answer == {"status": "ok", "error": None}, f"{frame['type']}: {answer}")

        received = []
        deadline = time.monotonic() + 20
        while len(received) < len(frames) and time.monotonic() < deadline:
            try:
                batch = await consumer.getmany(timeout_ms=1000)
            except Exception as error:  # noqa: BLE001
                fail(f"aiokafka (no compression extras) cannot read the records: {type(error).__name__}: {error}")
            for records in batch.values():
                for record in records:
                    data = json.loads((record.value or b"").decode())
                    if data.get("run_id") == run_id:
                        received.append(data["type"])
    finally:
        await consumer.stop()
    check(received == [f["type"] for f in frames], f"read {received}")
    print(json.dumps({"run_id": run_id, "types": received}))


def main() -> None:
    if len(sys.argv) != 5 or sys.argv[1] not in ("worker", "latest"):
        fail(__doc__)
    mode, frontier, bootstrap, topic = sys.argv[1:]
    asyncio.run((worker_mode if mode == "worker" else latest_mode)(frontier.rstrip("/"), bootstrap, topic))


if __name__ == "__main__":
    main()
