"""The weekly report's figures from a Log Analytics answer, with pandas.

Usage: python pandas_report.py ANSWER.json WINDOW.json
Reads the answer with orjson, builds a DataFrame from the first table, keeps the latest
row per incident (arg_max TimeGenerated), and computes what the bot's analytics::summarize
computes for the window: counts by status, severity, status x severity and tactic,
resolution rate, mean and median time to triage and to resolve, daily volume by severity,
the long-unresolved list and the detail list sorted by severity then newest. Prints the
figures as JSON (the harness compares the total with the bot's).
"""

import sys

import orjson
import pandas as pd

SEVERITIES = ["High", "Medium", "Low", "Informational"]
STATUSES = ["New", "Active", "Closed"]


def main(answer_path, window_path):
    window = orjson.loads(open(window_path, "rb").read())
    start, end, now = (pd.Timestamp(window[k]) for k in ("start", "end", "now"))
    with open(answer_path, "rb") as handle:
        answer = orjson.loads(handle.read())
    table = answer["tables"][0]
    frame = pd.DataFrame(table["rows"], columns=[c["name"] for c in table["columns"]])
    del answer, table
    for column in ("TimeGenerated", "CreatedTime", "ClosedTime", "FirstModifiedTime"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    frame = frame.sort_values("TimeGenerated").drop_duplicates("IncidentNumber", keep="last")
    additional = frame["AdditionalData"].map(lambda text: orjson.loads(text) if text else {})
    frame["tactics"] = additional.map(lambda data: sorted(set(data.get("tactics") or [])))
    owner = frame["Owner"].map(lambda text: orjson.loads(text) if text else {})
    frame["owner"] = owner.map(
        lambda o: o.get("assignedTo") or o.get("email") or o.get("userPrincipalName") or o.get("objectId")
    )

    created = frame[(frame.CreatedTime >= start) & (frame.CreatedTime < end)]
    total = len(created)
    by_status = created.Status.value_counts().reindex(STATUSES, fill_value=0)
    by_severity = created.Severity.value_counts().reindex(SEVERITIES, fill_value=0)
    status_by_severity = pd.crosstab(created.Severity, created.Status).reindex(
        index=SEVERITIES, columns=STATUSES, fill_value=0
    )
    tactics = created.tactics.explode().dropna()
    by_tactic = tactics.value_counts()
    without_tactics = int((created.tactics.map(len) == 0).sum())
    triage = created.FirstModifiedTime - created.CreatedTime
    triage = triage[triage >= pd.Timedelta(0)]
    closed = created[created.Status == "Closed"]
    resolve = closed.ClosedTime - closed.CreatedTime
    resolve = resolve[resolve >= pd.Timedelta(0)]
    daily = created.groupby([created.CreatedTime.dt.date, "Severity"]).size().unstack(fill_value=0)
    open_now = frame[frame.Status != "Closed"]
    long_open = open_now[now - open_now.CreatedTime > pd.Timedelta(days=window["long_open_days"])]
    long_open = long_open.sort_values(["CreatedTime", "IncidentNumber"])
    rank = created.Severity.map({name: index for index, name in enumerate(SEVERITIES)})
    detail = created.assign(rank=rank).sort_values(["rank", "CreatedTime"], ascending=[True, False])
    figures = {
        "total": total,
        "by_status": by_status.tolist(),
        "by_severity": by_severity.tolist(),
        "status_by_severity": status_by_severity.values.tolist(),
        "by_tactic": {str(k): int(v) for k, v in by_tactic.items()},
        "without_tactics": without_tactics,
        "resolution_rate": float(by_status["Closed"] / total) if total else None,
        "mttt_mean_s": triage.mean().total_seconds() if len(triage) else None,
        "mttt_median_s": triage.median().total_seconds() if len(triage) else None,
        "mttr_mean_s": resolve.mean().total_seconds() if len(resolve) else None,
        "mttr_median_s": resolve.median().total_seconds() if len(resolve) else None,
        "days": len(daily),
        "long_unresolved": len(long_open),
        "detail_rows": len(detail),
        "first_detail": int(detail.IncidentNumber.iloc[0]) if len(detail) else None,
    }
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
