"""The bot's weekly report against pandas, polars and a bare JSON parse, on the same files.

Usage (from the repository root):
    pip install -r benches/peers/requirements.txt
    python benches/peers/run.py [--sizes 10000,100000,300000] [--runs 5]

For each size it generates the Log Analytics answer for a week with that many incidents
(`peer_fixture generate`: every SecurityIncident column, dynamic ones as JSON text),
starts a fake Entra ID + Log Analytics on 127.0.0.1 in this process that serves it with
sendfile, and then runs, alternating, each as its own process:

- bot:      `sentinel-bot report --format md --period week --end END` (release build), the
            whole CLI: config, SQLite store, token, HTTP query, parse, dedupe, analytics,
            advice (offline), the full Markdown export of every incident;
- polars:   benches/peers/polars_report.py (lazy API, same figures);
- pandas:   benches/peers/pandas_report.py (same figures);
- floor:    benches/peers/parse_floor.py with simdjson.loads (parse the file, nothing else).

It prints, per size, the median wall time, the median CPU time (user + system) and user time alone, the
median peak RSS of each, the bot's ratios to the peers and its peak RSS over the answer's
size, and the machine load (`/proc/loadavg`) before and after. The peers' total must equal
the bot's "Incidents created", or the run stops.
"""

import argparse
import http.server
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = Path(__file__).resolve().parent


def load():
    return open("/proc/loadavg").read().split()[:3]


def fixture_binary():
    """Builds the peer_fixture bench binary (dev profile: it only writes and serves the
    files, so it is never timed) and returns its path."""
    output = subprocess.run(
        ["cargo", "build", "--bench", "peer_fixture", "--message-format=json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in output.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            if message["target"]["name"] == "peer_fixture":
                return message["executable"]
    sys.exit("peer_fixture was not built")


# Starts the measured command from a fresh, small process and reports the command's own
# figures. Linux keeps the high-water RSS of the address space a process leaves at `exec`,
# and a child started straight from this harness leaves the harness's own (vfork shares it):
# each tool's peak would read at least the harness's peak (168 MiB here, from reading the
# reports back) instead of its own.
LAUNCHER = """
import json, os, sys, time
report, command = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(command[0], command)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(report, "w") as out:
    json.dump([wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status)], out)
"""


def run(command, stdout_path=None):
    """Runs a command; returns (wall s, cpu s, peak RSS KiB, user s, stdout). CPU is user +
    system time; user time is reported apart because the kernel's share (zeroing fresh
    pages) varies from run to run far more than the tools' own work. The figures are the
    command's alone (see LAUNCHER)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    with tempfile.NamedTemporaryFile("r", suffix=".json") as report:
        launcher = [sys.executable, "-c", LAUNCHER, report.name, *command]
        process = subprocess.Popen(launcher, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        captured = b""
        if process.stdout is not None:
            captured = process.stdout.read()
        process.wait()
        wall, user, system, peak, code = json.load(open(report.name))
    if process.returncode != 0 or code != 0:
        sys.exit(f"{command} failed with {code}")
    return wall, user + system, peak, user, captured.decode()


def fake_azure(answer, timespan):
    """Entra ID's token endpoint and the Log Analytics query endpoint on 127.0.0.1: the
    report query (its `timespan`) gets the answer file, sent from the kernel's page cache
    with sendfile so the fake costs next to nothing; any other query an empty table."""
    empty = b'{"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}]}'

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if self.path.endswith("/oauth2/v2.0/token"):
                answer = b'{"token_type":"Bearer","expires_in":3599,"access_token":"bench"}'
            elif json.loads(body).get("timespan") != timespan:
                answer = empty
            else:
                with open(answer_path, "rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    self.wfile.flush()
                    self.connection.sendfile(handle)
                return
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    answer_path = str(answer)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def bot_config(directory, azure_url):
    # `aggregate_above = 0`: every size is read row by row, the path the peers are compared
    # on (above the default threshold a real workspace's figures come from KQL summarize).
    path = Path(directory) / "bot.toml"
    path.write_text(
        f'[store]\nurl = "sqlite://{directory}/bot.db"\n'
        '[azure]\ntenant_id = "tenant-1"\nclient_id = "app-1"\nclient_secret = "bench"\n'
        'subscription_id = "sub-1"\nresource_group = "rg-soc"\nworkspace_name = "ws-soc"\n'
        'workspace_id = "11111111-1111-1111-1111-111111111111"\nuse_graph = false\n'
        'aggregate_above = 0\n'
        f'[azure.endpoints]\nlogin = "{azure_url}"\nlog_analytics = "{azure_url}"\n'
        f'management = "{azure_url}"\ngraph = "{azure_url}"\nimds = "{azure_url}"\n'
    )
    return path


def measure_size(count, runs, fixture, bot, workdir):
    answer = workdir / f"answer-{count}.json"
    window_path = workdir / f"window-{count}.json"
    if not answer.exists() or not window_path.exists():
        described = subprocess.run(
            [fixture(), "generate", str(count), str(answer)], check=True, capture_output=True, text=True
        ).stdout
        window = json.loads(described)
        # The bot's `--end` is also its "now"; the peers measure age from the same instant.
        window["now"] = window["end"]
        window_path.write_text(json.dumps(window))
    window = json.loads(window_path.read_text())
    size_mib = answer.stat().st_size / 2**20
    server, azure_url = fake_azure(answer, window["timespan"])
    with tempfile.TemporaryDirectory() as directory:
        config = bot_config(directory, azure_url)
        report = Path(directory) / "report.md"
        python = sys.executable
        tools = {
            "bot": [bot, "--config", str(config), "report", "--format", "md", "--period", "week",
                    "--end", window["end"], "--out", str(report)],
            "polars": [python, str(PEERS / "polars_report.py"), str(answer), str(window_path)],
            "pandas": [python, str(PEERS / "pandas_report.py"), str(answer), str(window_path)],
            "floor": [python, str(PEERS / "parse_floor.py"), str(answer), "simdjson"],
        }
        figures = {name: [] for name in tools}
        before = load()
        for index in range(runs):
            names = list(tools)
            # Alternate the order, so no tool always runs right after the same neighbour.
            names = names[index % len(names):] + names[: index % len(names)]
            for name in names:
                wall, cpu, peak, user, stdout = run(tools[name])
                figures[name].append((wall, cpu, peak, user))
                if name in ("polars", "pandas"):
                    total = json.loads(stdout)["total"]
                    text = report.read_text()
                    match = re.search(r"\*\*Created:\*\* (\d+)", text)
                    if not match or int(match.group(1)) != total:
                        sys.exit(f"{name} counted {total}, the bot {match and match.group(1)}")
        after = load()
    server.shutdown()
    return size_mib, figures, before, after


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bot", help="a built sentinel-bot to measure (default: build the release one)")
    arguments = parser.parse_args()
    if arguments.bot is None:
        subprocess.run(["cargo", "build", "--release", "--bin", "sentinel-bot"], cwd=ROOT, check=True)
        arguments.bot = str(ROOT / "target/release/sentinel-bot")
    built = []

    def fixture():
        # Built only when an answer file is missing.
        if not built:
            built.append(fixture_binary())
        return built[0]

    workdir = ROOT / "target" / "peers"
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; medians of {arguments.runs} alternating runs, whole processes")
    for count in (int(it) for it in arguments.sizes.split(",")):
        size_mib, figures, before, after = measure_size(count, arguments.runs, fixture, arguments.bot, workdir)
        median = {
            name: [statistics.median(run[i] for run in runs) for i in range(4)] for name, runs in figures.items()
        }
        print(f"\n{count} incidents, answer {size_mib:.1f} MiB; load average before {' '.join(before)}, after {' '.join(after)}")
        print(f"{'tool':<8} | {'wall s':>7} | {'min-max s':>13} | {'cpu s':>7} | {'user s':>7} | {'peak RSS MiB':>12}")
        for name, (wall, cpu, peak, user) in median.items():
            walls = [run[0] for run in figures[name]]
            print(
                f"{name:<8} | {wall:>7.3f} | {min(walls):>5.3f}-{max(walls):>6.3f} | {cpu:>7.3f} | {user:>7.3f} | {peak / 1024:>12.1f}"
            )
        bot = median["bot"]
        print(
            f"bot/polars {bot[0] / median['polars'][0]:.2f} (cpu {bot[1] / median['polars'][1]:.2f}, "
            f"user {bot[3] / median['polars'][3]:.2f}), "
            f"bot/pandas {bot[0] / median['pandas'][0]:.2f} (cpu {bot[1] / median['pandas'][1]:.2f}), "
            f"bot/floor {bot[0] / median['floor'][0]:.2f} (cpu {bot[1] / median['floor'][1]:.2f}, "
            f"user {bot[3] / median['floor'][3]:.2f}), "
            f"bot peak RSS / answer {bot[2] / 1024 / size_mib:.2f}"
        )


if __name__ == "__main__":
    main()
