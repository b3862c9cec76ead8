"""The weekly report's figures from a Log Analytics answer, with polars (lazy API).

Usage: python polars_report.py ANSWER.json WINDOW.json
Same aggregation as pandas_report.py: reads the answer with orjson, builds a frame from
the first table, then one lazy plan: latest row per incident, dynamic columns decoded
(`str.json_decode`), and the figures of the bot's analytics::summarize for the window.
"""

import sys
from datetime import datetime, timedelta

import orjson
import polars as pl

SEVERITIES = ["High", "Medium", "Low", "Informational"]
STATUSES = ["New", "Active", "Closed"]
TIMES = ("TimeGenerated", "CreatedTime", "ClosedTime", "FirstModifiedTime")


def main(answer_path, window_path):
    window = orjson.loads(open(window_path, "rb").read())
    start, end, now = (datetime.fromisoformat(window[k]) for k in ("start", "end", "now"))
    with open(answer_path, "rb") as handle:
        answer = orjson.loads(handle.read())
    table = answer["tables"][0]
    names = [c["name"] for c in table["columns"]]
    frame = pl.DataFrame(table["rows"], schema=names, orient="row", infer_schema_length=None)
    del answer, table
    incidents = (
        frame.lazy()
        .with_columns(
            [pl.col(name).str.to_datetime(time_zone="UTC", strict=False) for name in TIMES]
        )
        .sort("TimeGenerated")
        .unique("IncidentNumber", keep="last")
        .with_columns(
            tactics=pl.col("AdditionalData")
            .str.json_decode(pl.Struct({"tactics": pl.List(pl.String)}))
            .struct.field("tactics")
            .list.unique(),
            owner=pl.col("Owner")
            .str.json_decode(pl.Struct({"assignedTo": pl.String, "email": pl.String, "objectId": pl.String}))
            .struct.field("assignedTo"),
        )
    )
    created = incidents.filter((pl.col("CreatedTime") >= start) & (pl.col("CreatedTime") < end))
    status_by_severity = created.group_by("Severity", "Status").len()
    by_tactic = created.select(pl.col("tactics").explode()).drop_nulls().group_by("tactics").len()
    triage = pl.col("FirstModifiedTime") - pl.col("CreatedTime")
    triage = triage.filter(triage >= timedelta(0))
    resolve = pl.col("ClosedTime") - pl.col("CreatedTime")
    resolve = resolve.filter((pl.col("Status") == "Closed") & (resolve >= timedelta(0)))
    durations = created.select(
        total=pl.len(),
        without_tactics=(pl.col("tactics").list.len().fill_null(0) == 0).sum(),
        mttt_mean=triage.mean(),
        mttt_median=triage.median(),
        mttr_mean=resolve.mean(),
        mttr_median=resolve.median(),
    )
    daily = created.group_by(pl.col("CreatedTime").dt.date(), "Severity").len()
    long_open = (
        incidents.filter(
            (pl.col("Status") != "Closed")
            & ((pl.lit(now) - pl.col("CreatedTime")) > timedelta(days=window["long_open_days"]))
        )
        .sort("CreatedTime", "IncidentNumber")
        .select("IncidentNumber", "Title", "Severity", "Status", "owner", "CreatedTime")
    )
    rank = pl.col("Severity").replace_strict(SEVERITIES, list(range(4)), default=4)
    detail = created.sort(rank, pl.col("CreatedTime"), descending=[False, True]).select(
        "IncidentNumber", "Title", "Severity", "Status", "owner", "tactics", "CreatedTime"
    )
    results = pl.collect_all([status_by_severity, by_tactic, durations, daily, long_open, detail])
    status_by_severity, by_tactic, durations, daily, long_open, detail = results
    row = durations.row(0, named=True)
    total = row["total"]
    cells = {(s, t): n for s, t, n in status_by_severity.iter_rows()}
    by_status = [sum(cells.get((s, t), 0) for s in SEVERITIES) for t in STATUSES]
    seconds = lambda value: value.total_seconds() if value is not None else None
    figures = {
        "total": total,
        "by_status": by_status,
        "by_severity": [sum(cells.get((s, t), 0) for t in STATUSES) for s in SEVERITIES],
        "status_by_severity": [[cells.get((s, t), 0) for t in STATUSES] for s in SEVERITIES],
        "by_tactic": dict(by_tactic.iter_rows()),
        "without_tactics": row["without_tactics"],
        "resolution_rate": by_status[2] / total if total else None,
        "mttt_mean_s": seconds(row["mttt_mean"]),
        "mttt_median_s": seconds(row["mttt_median"]),
        "mttr_mean_s": seconds(row["mttr_mean"]),
        "mttr_median_s": seconds(row["mttr_median"]),
        "days": daily["CreatedTime"].n_unique(),
        "long_unresolved": long_open.height,
        "detail_rows": detail.height,
        "first_detail": detail["IncidentNumber"][0] if detail.height else None,
    }
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
