"""Golden behaviour of the reference frontier (Python `matyan-frontier` 0.3.0).

Writes, next to this file:
  reference_goldens.json        one entry per WebSocket *message* (validation + Kafka record)
  reference_frame_goldens.json  one entry per WebSocket *frame* (the handler loop: answers,
                                records published, connection closed or not)

No server and no broker are involved: the message entries call the reference's own
pydantic models (`matyan_api_models.ws.WsRequestTAdapter`) and envelope builder
(`matyan_frontier.ws.handler._build_ingestion_message` + `IngestionMessage.model_dump_json`,
exactly what `KafkaProducer.publish` sends as the record value); the frame entries run
the reference's real WebSocket route in-process (Starlette TestClient) with the Kafka
producer replaced by a recorder.  The server clock is pinned so every output is stable.

Reference environment (Python 3.11; the reference declares >=3.12 but runs on 3.11;
a plain `pip install matyan-frontier==0.3.0` never finishes resolving because it asks
for boto3>=1.42.53 while aioboto3 pins an older botocore, so deps are pinned by hand):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install aioboto3==15.5.0
    /tmp/refvenv/bin/pip install --no-deps --ignore-requires-python matyan-frontier==0.3.0
    /tmp/refvenv/bin/pip install matyan-api-models==0.2.1 pydantic==2.14.4 \
        pydantic-settings==2.16.3 fastapi==0.165.0 aiokafka==0.14.0 loguru==0.7.3 \
        prometheus-client==0.26.0 click==8.5.1 httpx==0.28.1
    # only needed to run the reference *server* (matyan_frontier.app), not this script:
    /tmp/refvenv/bin/pip install google-cloud-storage==2.19.0 gcloud-aio-storage==9.3.0 \
        azure-storage-blob==12.31.1 azure-identity==1.27.0 "uvicorn[standard]==0.54.0"

usage: /tmp/refvenv/bin/python tests/client/make_reference_goldens.py
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import matyan_frontier.ws.handler as handler
from matyan_api_models.ws import WsRequestTAdapter
from pydantic import ValidationError

RID = "b5cbc18e2aca42ec96d793e1e5b16ecb"  # the run id in the URL path
OTHER_RID = "0123456789abcdef0123456789abcdef"
DEFAULT_RECEIVE_TIME = datetime(2026, 11, 26, 17, 41, 21, 322055, tzinfo=UTC)
OUT = Path(__file__).resolve().parent


class _Clock(datetime):
    """Replaces `datetime` inside the handler module: `datetime.now(UTC)` is pinned."""

    pinned = DEFAULT_RECEIVE_TIME

    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206
        return cls.pinned


handler.datetime = _Clock


def J(obj: object) -> str:  # noqa: N802
    """The way matyan-client writes a frame: json.dumps (allow_nan: NaN/Infinity literals)."""
    return json.dumps(obj)


def msg(type_: str | None, **fields: object) -> str:
    body: dict = {} if type_ is None else {"type": type_}
    body["run_id"] = RID
    body.update(fields)
    return J(body)


DT = "2026-11-26T10:00:00.123456+00:00"  # what the client sends: datetime.now(timezone.utc).isoformat()


def metric(**over: object) -> str:
    body = {
        "type": "log_metric", "run_id": RID, "name": "loss", "value": 0.5, "step": 0, "epoch": None,
        "context": {"subset": "train"}, "dtype": "float", "client_datetime": DT,
    }
    body.update(over)
    return J(body)


def metric_without(key: str) -> str:
    body = json.loads(metric())
    del body[key]
    return J(body)


def metric_raw_value(raw: str) -> str:
    """A log_metric with `value` spliced in as raw JSON text (NaN, 1e+20, huge ints...)."""
    return metric(value="@@").replace('"@@"', raw)


def metric_raw_step(raw: str) -> str:
    return metric(step="@@").replace('"@@"', raw)


def create_dt(raw: str) -> str:
    """A create_run whose client_datetime is the raw JSON text `raw`."""
    return J({"type": "create_run", "run_id": RID, "client_datetime": "@@", "force_resume": False}).replace('"@@"', raw)


IMAGE_VALUE = {
    "type": "image", "format": "PNG", "caption": "", "width": None, "height": None,
    "s3_key": f"{RID}/seq/sample/0.png",
}

# (name, input text, receive time or None)
CASES: list[tuple[str, str, datetime | None]] = []


def case(name: str, text: str, at: datetime | None = None) -> None:
    CASES.append((name, text, at))


# ---- the eleven types, as matyan-client 0.3.0 sends them ------------------------------
case("create_run/typical", msg("create_run", client_datetime=DT, force_resume=False))
case("log_metric/typical", metric())
case("log_hparams/typical", msg("log_hparams", value={"hparams": {"lr": 0.01, "batch_size": 32}}))
case("finish_run/typical", msg("finish_run", client_datetime=DT))
case("set_run_property/experiment", msg("set_run_property", experiment="baseline"))
case("add_tag/typical", msg("add_tag", tag_name="e2e"))
case("remove_tag/typical", msg("remove_tag", tag_name="e2e"))
case("log_custom_object/image", msg(
    "log_custom_object", name="sample", value=IMAGE_VALUE, step=0, epoch=None, context=None, dtype="image",
    client_datetime=DT))
case("log_terminal_line/typical", msg("log_terminal_line", line="epoch 1: loss=0.5", step=3))
case("log_record/typical", msg(
    "log_record", message="hello", level=20, timestamp=1764151200.123456,
    logger_info=["/home/u/train.py", 42], extra_args={"epoch": 1}))
case("blob_ref/typical", J({
    "type": "blob_ref", "run_id": RID, "s3_key": f"{RID}/seq/sample/0.png",
    "artifact_path": "seq/sample/0.png", "content_type": "image/png"}))

# ---- create_run -------------------------------------------------------------------------
case("create_run/force_resume missing (default false)", msg("create_run", client_datetime=DT))
case("create_run/force_resume true", msg("create_run", client_datetime=DT, force_resume=True))
case("create_run/force_resume \"true\"", msg("create_run", client_datetime=DT, force_resume="true"))
case("create_run/force_resume \"yes\"", msg("create_run", client_datetime=DT, force_resume="yes"))
case("create_run/force_resume 1", msg("create_run", client_datetime=DT, force_resume=1))
case("create_run/force_resume 2 (rejected)", msg("create_run", client_datetime=DT, force_resume=2))
case("create_run/force_resume null (rejected)", msg("create_run", client_datetime=DT, force_resume=None))
case("create_run/client_datetime missing", msg("create_run"))

# ---- datetimes (create_run.client_datetime) ------------------------------------------
for label, raw in [
    ("Z", '"2026-11-26T10:00:00Z"'),
    ("lowercase t and z", '"2026-11-26t10:00:00z"'),
    ("space separator", '"2026-11-26 10:00:00Z"'),
    ("+00:00", '"2026-11-26T10:00:00+00:00"'),
    ("microseconds +00:00 (client)", f'"{DT}"'),
    ("nanoseconds +02:00", '"2026-11-26T10:00:00.123456789+02:00"'),
    ("7 fraction digits ending 5 (truncated?)", '"2026-11-26T10:00:00.1234565Z"'),
    ("7 fraction digits .9999999", '"2026-11-26T10:00:00.9999999Z"'),
    ("1 fraction digit -05:30", '"2026-11-26T10:00:00.5-05:30"'),
    ("millis Z", '"2026-11-26T10:00:00.120Z"'),
    ("offset without colon +0200", '"2026-11-26T10:00:00+0200"'),
    ("no seconds", '"2026-11-26T10:00Z"'),
    ("naive", '"2026-11-26T10:00:00"'),
    ("naive with fraction", '"2026-11-26T10:00:00.25"'),
    ("plain date", '"2026-11-26"'),
    ("int unix seconds", "1764151200"),
    ("float unix seconds", "1764151200.5"),
    ("float unix seconds 7 digits", "1764151200.1234567"),
    ("numeric string", '"1764151200"'),
    ("numeric string with fraction", '"1764151200.5"'),
    ("int unix milliseconds", "1764151200000"),
    ("float unix milliseconds", "1764151200123.5"),
    ("int 20000000000 (seconds or ms?)", "20000000000"),
    ("int 20000000001 (seconds or ms?)", "20000000001"),
    ("int 0", "0"),
    ("int -1", "-1"),
    ("float 1e20 (rejected?)", "1e20"),
    ("bool true (rejected)", "true"),
    ("null (rejected)", "null"),
    ("garbage string (rejected)", '"garbage"'),
    ("empty string (rejected)", '""'),
    ("basic format 20261126T100000Z (rejected?)", '"20261126T100000Z"'),
    ("hour 24 (rejected?)", '"2026-11-26T24:00:00Z"'),
    ("second 60 (rejected?)", '"2026-11-26T10:00:60Z"'),
    ("Feb 30 (rejected)", '"2026-02-30T10:00:00Z"'),
    ("year 0001", '"0001-01-01T00:00:00Z"'),
    ("offset +23:59", '"2026-11-26T10:00:00+23:59"'),
    ("offset +24:00 (rejected?)", '"2026-11-26T10:00:00+24:00"'),
    ("object (rejected)", "{}"),
]:
    case(f"datetime/{label}", create_dt(raw))

case("datetime/log_metric client_datetime naive", metric(client_datetime="2026-11-26T10:00:00"))
case("datetime/log_metric client_datetime int", metric(client_datetime=1764151200))

# ---- log_metric -------------------------------------------------------------------------
case("log_metric/nullables all null", metric(step=None, epoch=None, context=None, dtype=None))
for key in ("step", "epoch", "context", "dtype", "client_datetime", "name", "value"):
    case(f"log_metric/missing {key}", metric_without(key))
case("log_metric/value int 1 -> 1.0", metric(value=1))
case("log_metric/value int 0", metric(value=0))
case("log_metric/value numeric string \"0.5\"", metric(value="0.5"))
case("log_metric/value numeric string \"1\"", metric(value="1"))
case("log_metric/value string \" 0.5 \" (spaces)", metric(value=" 0.5 "))
case("log_metric/value string \"1e-7\"", metric(value="1e-7"))
case("log_metric/value string \"nan\"", metric(value="nan"))
case("log_metric/value string \"inf\"", metric(value="inf"))
case("log_metric/value string \"abc\" (rejected)", metric(value="abc"))
case("log_metric/value bool true", metric(value=True))
case("log_metric/value bool false", metric(value=False))
case("log_metric/value null (rejected)", metric(value=None))
case("log_metric/value object (rejected)", metric(value={"x": 1}))
case("log_metric/value list (rejected)", metric(value=[1]))
for raw in ["NaN", "Infinity", "-Infinity", "1e-07", "1e-7", "0.1", "1e+20", "1e20", "1E20", "1e16", "1e15",
            "123456789012345678", "12345678901234567890", "9007199254740993", "0.00001", "0.0001", "1e-5",
            "1e-6", "1.5e-7", "-0.0", "-0", "5e-324", "1.7976931348623157e308", "1e309", "-1e309",
            "0.30000000000000004", "100", "100.0", "2.50", "3.141592653589793238"]:
    case(f"log_metric/value {raw}", metric_raw_value(raw))
case("log_metric/step 3.0", metric_raw_step("3.0"))
case("log_metric/step \"3\"", metric(step="3"))
case("log_metric/step \"3.0\"", metric(step="3.0"))
case("log_metric/step \" 3 \"", metric(step=" 3 "))
case("log_metric/step true", metric(step=True))
case("log_metric/step false", metric(step=False))
case("log_metric/step 1.5 (rejected)", metric_raw_step("1.5"))
case("log_metric/step \"1.5\" (rejected)", metric(step="1.5"))
case("log_metric/step \"abc\" (rejected)", metric(step="abc"))
case("log_metric/step -1", metric(step=-1))
case("log_metric/step 2^63-1", metric_raw_step(str(2**63 - 1)))
case("log_metric/step 2^63 (beyond i64)", metric_raw_step(str(2**63)))
case("log_metric/step 2^64", metric_raw_step(str(2**64)))
case("log_metric/step 1e20 float", metric_raw_step("1e20"))
case("log_metric/step 1e3 float", metric_raw_step("1e3"))
case("log_metric/step NaN (rejected)", metric_raw_step("NaN"))
case("log_metric/step Infinity (rejected)", metric_raw_step("Infinity"))
case("log_metric/step object (rejected)", metric(step={}))
case("log_metric/epoch 2.0", metric_raw_step("0").replace('"epoch": null', '"epoch": 2.0'))
case("log_metric/epoch \"7\"", metric(epoch="7"))
case("log_metric/context {} ", metric(context={}))
case("log_metric/context nested", metric(context={"subset": "val", "k": 1, "f": 0.5, "n": None, "l": [1, "a"]}))
case("log_metric/context string (rejected)", metric(context="train"))
case("log_metric/context list (rejected)", metric(context=["train"]))
case("log_metric/context with NaN", metric(context={"x": float("nan")}))
case("log_metric/name int (rejected)", metric(name=123))
case("log_metric/name float (rejected)", metric(name=1.5))
case("log_metric/name bool (rejected)", metric(name=True))
case("log_metric/name null (rejected)", metric(name=None))
case("log_metric/name empty string", metric(name=""))
case("log_metric/dtype int (rejected)", metric(dtype=5))
case("log_metric/unicode and escapes in name",
     metric(name="é ü 中文 😀 \u2028 \u0001 \t \" \\ </script> \x7f"))
case("log_metric/key order in input differs", J({
    "client_datetime": DT, "dtype": "float", "context": None, "epoch": 1, "step": 2, "value": 3.5,
    "name": "acc", "run_id": RID, "type": "log_metric"}))

# ---- log_hparams ------------------------------------------------------------------------
case("log_hparams/nested mixed types", msg("log_hparams", value={
    "hparams": {"lr": 0.01, "batch_size": 32, "wd": 1e-07, "big": 1e20, "one": 1.0, "flag": True,
                "none": None, "name": "adam", "list": [1, 2.5, "x", None, False], "empty": {}}}))
case("log_hparams/NaN and Infinity inside", msg("log_hparams", value={
    "h": {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "list": [float("nan"), 1]}}))
case("log_hparams/huge int inside", msg("log_hparams", value={"h": 2**70, "neg": -(2**64)}))
case("log_hparams/int-valued float stays float", msg("log_hparams", value={"a": 3.0, "b": 3}))
case("log_hparams/empty object", msg("log_hparams", value={}))
case("log_hparams/dotted key nesting as client sends", msg("log_hparams", value={"hparams": {"lr": 0.001}}))
case("log_hparams/value string (rejected)", msg("log_hparams", value="lr=0.1"))
case("log_hparams/value list (rejected)", msg("log_hparams", value=[1, 2]))
case("log_hparams/value null (rejected)", msg("log_hparams", value=None))
case("log_hparams/value missing (rejected)", msg("log_hparams"))
case("log_hparams/duplicate keys (last wins)",
     f'{{"type": "log_hparams", "run_id": "{RID}", "value": {{"a": 1, "a": 2}}}}')
case("log_hparams/key order preserved", msg("log_hparams", value={"z": 1, "a": 2, "m": {"y": 1, "b": 2}}))

# ---- finish_run -------------------------------------------------------------------------
case("finish_run/no client_datetime", msg("finish_run"))
case("finish_run/garbage client_datetime (ignored)", msg("finish_run", client_datetime="garbage"))

# ---- set_run_property -------------------------------------------------------------------
case("set_run_property/all four", msg("set_run_property", name="run-1", description="desc", archived=True,
                                      experiment="exp"))
case("set_run_property/none present", msg("set_run_property"))
case("set_run_property/all null", msg("set_run_property", name=None, description=None, archived=None,
                                      experiment=None))
case("set_run_property/some null some missing", msg("set_run_property", name=None, archived=False))
case("set_run_property/description empty string", msg("set_run_property", description=""))
case("set_run_property/archived \"true\"", msg("set_run_property", archived="true"))
case("set_run_property/archived \"off\"", msg("set_run_property", archived="off"))
case("set_run_property/archived 0", msg("set_run_property", archived=0))
case("set_run_property/archived 0.0", msg("set_run_property", archived=0.0))
case("set_run_property/archived \"maybe\" (rejected)", msg("set_run_property", archived="maybe"))
case("set_run_property/name int (rejected)", msg("set_run_property", name=5))
case("set_run_property/experiment object (rejected)", msg("set_run_property", experiment={}))

# ---- tags -------------------------------------------------------------------------------
case("add_tag/tag_name int (rejected)", msg("add_tag", tag_name=5))
case("add_tag/tag_name missing (rejected)", msg("add_tag"))
case("add_tag/tag_name null (rejected)", msg("add_tag", tag_name=None))
case("add_tag/tag_name empty", msg("add_tag", tag_name=""))
case("remove_tag/tag_name list (rejected)", msg("remove_tag", tag_name=["a"]))

# ---- log_custom_object ------------------------------------------------------------------
case("log_custom_object/defaults (name+value only)", msg("log_custom_object", name="t", value={"type": "text"}))
case("log_custom_object/dtype null (rejected?)", msg("log_custom_object", name="t", value={}, dtype=None))
case("log_custom_object/step null epoch null context null", msg(
    "log_custom_object", name="t", value={}, step=None, epoch=None, context=None))
case("log_custom_object/step 2.0 epoch \"1\"", msg("log_custom_object", name="t", value={}, step=2.0, epoch="1"))
case("log_custom_object/step 1.5 (rejected)", msg("log_custom_object", name="t", value={}, step=1.5))
case("log_custom_object/client_datetime garbage (validated, rejected?)", msg(
    "log_custom_object", name="t", value={}, client_datetime="garbage"))
case("log_custom_object/client_datetime null", msg("log_custom_object", name="t", value={}, client_datetime=None))
case("log_custom_object/value string (rejected)", msg("log_custom_object", name="t", value="x"))
case("log_custom_object/value missing (rejected)", msg("log_custom_object", name="t"))
case("log_custom_object/name missing (rejected)", msg("log_custom_object", value={}))
case("log_custom_object/context string (rejected)", msg("log_custom_object", name="t", value={}, context="c"))
case("log_custom_object/value with NaN", msg("log_custom_object", name="t", value={"v": float("nan")}))

# ---- log_terminal_line ------------------------------------------------------------------
case("log_terminal_line/step missing (rejected)", msg("log_terminal_line", line="x"))
case("log_terminal_line/step null (rejected)", msg("log_terminal_line", line="x", step=None))
case("log_terminal_line/step \"5\"", msg("log_terminal_line", line="x", step="5"))
case("log_terminal_line/line int (rejected)", msg("log_terminal_line", line=5, step=0))
case("log_terminal_line/line with ANSI and CR", msg("log_terminal_line", line="\x1b[31mred\x1b[0m\r", step=0))

# ---- log_record -------------------------------------------------------------------------
case("log_record/logger_info null", msg("log_record", message="m", level=30, timestamp=1764151200.5,
                                        logger_info=None, extra_args=None))
case("log_record/logger_info and extra_args absent", msg("log_record", message="m", level=30,
                                                         timestamp=1764151200.5))
case("log_record/logger_info present, extra_args absent", msg(
    "log_record", message="m", level=40, timestamp=1764151200.5, logger_info=["f.py", 1]))
case("log_record/extra_args present, logger_info absent", msg(
    "log_record", message="m", level=10, timestamp=1764151200.5, extra_args={"a": [1, None]}))
case("log_record/empty logger_info and extra_args", msg(
    "log_record", message="m", level=10, timestamp=1.0, logger_info=[], extra_args={}))
case("log_record/timestamp int -> float", msg("log_record", message="m", level=20, timestamp=1764151200))
case("log_record/timestamp numeric string", msg("log_record", message="m", level=20, timestamp="1764151200.25"))
case("log_record/timestamp NaN", msg("log_record", message="m", level=20, timestamp=float("nan")))
case("log_record/timestamp ISO string (rejected)", msg("log_record", message="m", level=20,
                                                        timestamp="2026-11-26T10:00:00Z"))
case("log_record/level \"20\"", msg("log_record", message="m", level="20", timestamp=1.0))
case("log_record/level 20.0", msg("log_record", message="m", level=20.0, timestamp=1.0))
case("log_record/level 20.5 (rejected)", msg("log_record", message="m", level=20.5, timestamp=1.0))
case("log_record/level true", msg("log_record", message="m", level=True, timestamp=1.0))
case("log_record/logger_info string (rejected)", msg("log_record", message="m", level=20, timestamp=1.0,
                                                      logger_info="f.py:1"))
case("log_record/logger_info object (rejected)", msg("log_record", message="m", level=20, timestamp=1.0,
                                                      logger_info={"f": 1}))
case("log_record/extra_args list (rejected)", msg("log_record", message="m", level=20, timestamp=1.0,
                                                   extra_args=[1]))
case("log_record/message missing (rejected)", msg("log_record", level=20, timestamp=1.0))

# ---- blob_ref ---------------------------------------------------------------------------
case("blob_ref/content_type missing (default)", msg("blob_ref", s3_key=f"{RID}/a.bin", artifact_path="a.bin"))
case("blob_ref/content_type null (rejected?)", msg("blob_ref", s3_key=f"{RID}/a.bin", artifact_path="a.bin",
                                                    content_type=None))
case("blob_ref/s3_key missing (rejected)", msg("blob_ref", artifact_path="a.bin"))
case("blob_ref/artifact_path int (rejected)", msg("blob_ref", s3_key="k", artifact_path=1))
case("blob_ref/unicode key", msg("blob_ref", s3_key=f"{RID}/dir/ü #+%.txt", artifact_path="dir/ü #+%.txt",
                                 content_type="text/plain"))

# ---- type, run_id, unknown fields --------------------------------------------------------
case("type/unknown delete_run (rejected)", msg("delete_run"))
case("type/unknown foo (rejected)", msg("foo", x=1))
case("type/missing (rejected)", msg(None, tag_name="x"))
case("type/null (rejected)", J({"type": None, "run_id": RID}))
case("type/int (rejected)", J({"type": 5, "run_id": RID}))
case("type/wrong case Add_Tag (rejected)", msg("Add_Tag", tag_name="x"))
case("run_id/body run_id differs (URL wins)", J({"type": "add_tag", "run_id": OTHER_RID, "tag_name": "t"}))
case("run_id/body run_id missing", J({"type": "add_tag", "tag_name": "t"}))
case("run_id/body run_id int", J({"type": "add_tag", "run_id": 5, "tag_name": "t"}))
case("unknown fields ignored", msg("add_tag", tag_name="t", extra=1, nested={"a": [1]}))
case("unknown field with NaN ignored", msg("add_tag", tag_name="t", junk=float("nan")))

# ---- envelope timestamp format ----------------------------------------------------------
case("envelope/timestamp with zero microseconds", msg("finish_run"),
     datetime(2026, 11, 26, 17, 41, 21, 0, tzinfo=UTC))
case("envelope/timestamp with 120000 microseconds", msg("finish_run"),
     datetime(2026, 11, 26, 17, 41, 21, 120000, tzinfo=UTC))
case("envelope/timestamp with 5 microseconds", msg("finish_run"),
     datetime(2026, 11, 26, 17, 41, 21, 5, tzinfo=UTC))


def run_message(text: str, at: datetime | None) -> dict:
    """What the reference does with one message object (the body of `run_ws`'s loop)."""
    _Clock.pinned = at or DEFAULT_RECEIVE_TIME
    data = json.loads(text)
    data["run_id"] = RID
    try:
        validated = WsRequestTAdapter.validate_python(data)
    except ValidationError as exc:
        return {"accepted": False, "error": str(exc)}
    message = handler._build_ingestion_message(validated)  # noqa: SLF001
    record = message.model_dump_json()  # what KafkaProducer.publish sends as the value
    marker = ',"payload":'
    assert record.endswith("}") and marker in record
    payload = record[record.index(marker) + len(marker):-1]
    assert json.loads(payload) == json.loads(record)["payload"]
    return {
        "accepted": True,
        "type": message.type,
        "key": message.run_id,
        "payload": payload,
        "record": record,
    }


def make_message_goldens() -> list[dict]:
    out = []
    for name, text, at in CASES:
        entry: dict = {"name": name, "input": text}
        if at is not None:
            entry["receive_time"] = at.isoformat()
        entry.update(run_message(text, at))
        out.append(entry)
    return out


# ---- frames: the real route, in-process -------------------------------------------------
FRAMES: list[tuple[str, list[str]]] = [
    ("one object", [msg("add_tag", tag_name="a")]),
    ("array of two", [J([json.loads(msg("add_tag", tag_name="a")), json.loads(msg("remove_tag", tag_name="a"))])]),
    ("array of one", [J([json.loads(msg("add_tag", tag_name="a"))])]),
    ("empty array", ["[]"]),
    ("array: valid, invalid, valid (partial publish)", [J([
        json.loads(msg("add_tag", tag_name="first")), json.loads(msg("add_tag", tag_name=5)),
        json.loads(msg("add_tag", tag_name="third"))])]),
    ("array: invalid first", [J([json.loads(msg("delete_run")), json.loads(msg("add_tag", tag_name="a"))])]),
    ("invalid JSON, then a valid frame (connection stays open)", ["{", msg("add_tag", tag_name="a")]),
    ("empty frame text", ["", msg("add_tag", tag_name="a")]),
    ("trailing garbage after JSON", [msg("add_tag", tag_name="a") + " x", msg("add_tag", tag_name="b")]),
    ("NaN literal in frame", [metric_raw_value("NaN")]),
    ("JSON null frame (handler crashes -> close)", ["null", msg("add_tag", tag_name="a")]),
    ("JSON string frame", ['"hello"', msg("add_tag", tag_name="a")]),
    ("JSON number frame", ["5", msg("add_tag", tag_name="a")]),
    ("array with a number item", ['[1]', msg("add_tag", tag_name="a")]),
    ("array: valid object then a string item", [J([json.loads(msg("add_tag", tag_name="a")), "x"])]),
    ("nested array", [J([[json.loads(msg("add_tag", tag_name="a"))]])]),
    ("body run_id differs from URL", [J({"type": "add_tag", "run_id": OTHER_RID, "tag_name": "t"})]),
    ("the client's first frame (create_run + set_run_property batched)", [J([
        {"type": "create_run", "run_id": RID, "client_datetime": DT, "force_resume": False},
        {"type": "set_run_property", "run_id": RID, "experiment": "e2e"}])]),
]


def make_frame_goldens() -> list[dict]:
    from fastapi import FastAPI, WebSocketDisconnect  # noqa: PLC0415
    from starlette.testclient import TestClient  # noqa: PLC0415

    published: list[dict] = []

    class RecordingProducer:
        async def publish(self, message) -> None:  # noqa: ANN001
            published.append({"key": message.run_id, "value": message.model_dump_json()})

    handler.get_producer = lambda: RecordingProducer()
    app = FastAPI()
    app.include_router(handler.ws_router, prefix="/api/v1")
    _Clock.pinned = DEFAULT_RECEIVE_TIME
    out = []
    with TestClient(app) as client:
        for name, frames in FRAMES:
            published.clear()
            answers: list[str | None] = []
            closed = None
            with client.websocket_connect(f"/api/v1/ws/runs/{RID}") as ws:
                for text in frames:
                    ws.send_text(text)
                    try:
                        answers.append(ws.receive_text())
                    except WebSocketDisconnect as exc:
                        closed = {"after_frame": len(answers), "code": exc.code}
                        answers.append(None)
                        break
            out.append({
                "name": name,
                "frames": frames,
                "answers": answers,
                "connection_closed": closed,
                "published": list(published),
            })
    return out


def main() -> None:
    messages = make_message_goldens()
    frames = make_frame_goldens()
    meta = {
        "matyan-frontier": version("matyan-frontier"),
        "matyan-api-models": version("matyan-api-models"),
        "pydantic": version("pydantic"),
        "pydantic-core": version("pydantic-core"),
        "python": sys.version.split()[0],
        "url_run_id": RID,
        "receive_time_default": DEFAULT_RECEIVE_TIME.isoformat(),
    }
    (OUT / "reference_goldens.json").write_text(json.dumps(messages, indent=1, ensure_ascii=False) + "\n")
    (OUT / "reference_frame_goldens.json").write_text(
        json.dumps({"meta": meta, "frames": frames}, indent=1, ensure_ascii=False) + "\n")
    accepted = sum(m["accepted"] for m in messages)
    print(f"{len(messages)} message cases ({accepted} accepted, {len(messages) - accepted} rejected), "
          f"{len(frames)} frame cases; {meta}")


if __name__ == "__main__":
    main()
