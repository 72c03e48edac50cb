#!/usr/bin/python3
"""The content pipeline `clips@1` on real media: wall time per input minute,
and the share of the CPU the runtime itself takes (benchmarks/clips.sh).

usage: /usr/bin/python3 benchmarks/clips.py OMNIVA_BINARY [--videos N]
           [--seconds S] [--keep DIR]

What it does:

1. Media (not timed): a channel of N videos of S seconds each (default 3 x
   20 s = one input minute) made by tests/content/media.py (ffmpeg test
   sources, espeak-ng speech, a drawn face; nothing downloaded) into
   benchmarks/.data/clips-<N>x<S>/, kept for the next run.
2. The channel is served on 127.0.0.1 by tests/content/channel_server.py, in
   this process (its CPU is not the node's).
3. A node, as a user starts it: `omniva serve --data TMP --http 127.0.0.1:0`
   (the shipped modules of modules/, which registers clips@1; the default
   pool; sync on). It idles 3 s first (its idle CPU per second is reported).
4. The run: POST /api/pipelines/clips@1/runs with a ScraperJob for the
   channel; then the node's event stream (GET /api/events) until the run's
   end event (`run.done`, `run.failed`, `run.cancelled`). `wall_s` is from
   the POST to that event; `run_s` the run's own created_at to ended_at.
5. CPU, from /proc/<node pid>/stat before the POST and after the end:
   utime+stime is the node's own CPU (every thread of the runtime: Zenith,
   the engines, the worker threads that wait on the modules, RocksDB, HTTP),
   cutime+cstime the CPU of its reaped children: the module processes and
   everything they ran (ffmpeg, yt-dlp, pocketsphinx), since each module
   reaps its own children before it exits and the node reaps the module.
   runtime_cpu_share = runtime / (runtime + modules); target 0.01.
   The node's threads are also summed by name (/proc/<pid>/task/*/stat).
   Each step's module time and CPU come from its tasks' `task.succeeded`
   packets (metrics), read after the second CPU reading.

Prints ONE JSON document on stdout (progress on stderr). Without the media
tools it prints {"skipped": "..."} and exits 0; exits 1 when the node does
not start or the run does not end DONE with clips.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "content"))

TARGET_SHARE = 0.01
TOOLS = ["ffmpeg", "ffprobe", "espeak-ng", "yt-dlp", "pocketsphinx_continuous"]
TICKS = os.sysconf("SC_CLK_TCK")


def log(message):
    print("clips.py: " + message, file=sys.stderr, flush=True)


def proc_stat(pid):
    """(utime, stime, cutime, cstime) of /proc/pid/stat, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, cstime field 17.
    return tuple(int(x) / TICKS for x in fields[11:15])


def threads_cpu(pid):
    """{thread name: CPU seconds} over the node's live threads."""
    out = {}
    folder = "/proc/%d/task" % pid
    for tid in os.listdir(folder):
        try:
            with open(os.path.join(folder, tid, "stat")) as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return out


class Client:
    def __init__(self, url, token):
        self.url, self.token = url.rstrip("/"), token

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def make_media(videos, seconds):
    folder = os.path.join(HERE, ".data", "clips-%dx%g" % (videos, seconds))
    if os.path.isfile(os.path.join(folder, "channel.json")):
        return folder, 0.0
    import media
    log("making %d videos of %g s in %s (not timed)" % (videos, seconds, folder))
    started = time.monotonic()
    partial = folder + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    media.make_channel(partial, videos, seconds)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return folder, time.monotonic() - started


def start_node(omniva, data):
    out = open(os.path.join(data, "node.out"), "w+")
    err = open(os.path.join(data, "node.err"), "w")
    proc = subprocess.Popen([omniva, "serve", "--data", os.path.join(data, "node"),
                             "--http", "127.0.0.1:0", "--web", "none"],
                            cwd=ROOT, stdout=out, stderr=err)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out.seek(0)
        for line in out.read().splitlines():
            if "listening on http://" in line:
                url = line.split("listening on ", 1)[1].split(" ", 1)[0]
                with open(os.path.join(data, "node", "token")) as f:
                    return proc, url, f.read().strip()
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the node did not start; see " + err.name)


END_KINDS = ("run.done", "run.failed", "run.cancelled")


def wait_for_end(url, token, run_id, t0, timeout=1800):
    """Follows GET /api/events (Server-Sent Events, one per committed packet)
    until the run's end event; returns the monotonic time it arrived. One
    open stream costs the node less than polling the run would (each poll is
    a request and a JSON rendering), so the CPU measured is the run's. A
    lost stream is opened again from the last sequence number seen."""
    import http.client
    import urllib.parse
    parts = urllib.parse.urlsplit(url)
    last = None
    while time.monotonic() - t0 < timeout:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
        if last is not None:
            headers["Last-Event-ID"] = last
        try:
            conn.request("GET", "/api/events", headers=headers)
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError("GET /api/events answered %d" % resp.status)
            kind = None
            while True:
                line = resp.readline()
                if not line:
                    break
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("id:"):
                    last = line[3:].strip()
                elif line.startswith("data:") and kind in END_KINDS:
                    try:
                        data = json.loads(line[5:])
                    except ValueError:
                        continue
                    if data.get("subject") == run_id:
                        return time.monotonic()
        except (OSError, http.client.HTTPException):
            time.sleep(0.5)
        finally:
            conn.close()
    raise RuntimeError("the run did not end within %d s" % timeout)


def step_metrics(client, run):
    """Per step: tasks, the sum of their module durations and CPU (from each
    task's task.succeeded packet), and the step's span (first task created
    to last task succeeded)."""
    steps = {}
    cursor = None
    while True:
        path = "/api/tasks?q=%s&limit=500" % run["run_id"] + ("&cursor=" + cursor if cursor else "")
        status, page = client.call("GET", path)
        if status != 200:
            break
        for task in page.get("items", []):
            if task.get("run_id") != run["run_id"]:
                continue
            s = steps.setdefault(task.get("step", "?"), {
                "module": task["module_ref"], "tasks": 0, "module_wall_s": 0.0,
                "module_cpu_s": 0.0, "max_rss_mb": 0.0, "first": None, "last": None})
            s["tasks"] += 1
            st, history = client.call("GET", "/api/lineage/" + task["task_id"] + "?limit=100")
            for p in (history or {}).get("history", []):
                if p.get("kind") == "task.created":
                    s["first"] = min(filter(None, [s["first"], p["at"]]))
                if p.get("kind") == "task.succeeded":
                    m = p.get("payload", {}).get("metrics", {})
                    s["module_wall_s"] += m.get("duration_ms", 0) / 1000
                    s["module_cpu_s"] += (m.get("user_cpu_ms", 0) + m.get("system_cpu_ms", 0)) / 1000
                    s["max_rss_mb"] = max(s["max_rss_mb"], m.get("max_rss_kb", 0) / 1024)
                    s["last"] = max(filter(None, [s["last"], p["at"]]))
        cursor = page.get("next_cursor")
        if not cursor:
            break
    for s in steps.values():
        s["span_s"] = round(seconds_between(s.pop("first"), s.pop("last")), 3)
        for k in ("module_wall_s", "module_cpu_s", "max_rss_mb"):
            s[k] = round(s[k], 3)
    return steps


def seconds_between(a, b):
    import datetime
    if not a or not b:
        return 0.0
    parse = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return (parse(b) - parse(a)).total_seconds()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("omniva")
    parser.add_argument("--videos", type=int, default=int(os.environ.get("BENCH_CLIPS_VIDEOS", 3)))
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("BENCH_CLIPS_SECONDS", 20)))
    parser.add_argument("--keep", help="keep the node's data folder here")
    args = parser.parse_args(argv)

    missing = [t for t in TOOLS if not shutil.which(t)]
    try:
        import cv2  # noqa: F401
    except ImportError:
        missing.append("python3-opencv")
    if missing:
        log("skipped: missing " + ", ".join(missing))
        print(json.dumps({"skipped": "missing media tools: " + ", ".join(missing)}))
        return 0

    media_folder, made_s = make_media(args.videos, args.seconds)
    import channel_server
    server = channel_server.ChannelServer(media_folder)
    data = args.keep or tempfile.mkdtemp(prefix="omniva-bench-clips-")
    os.makedirs(data, exist_ok=True)
    proc = None
    try:
        proc, url, token = start_node(args.omniva, data)
        client = Client(url, token)
        log("node %s (pid %d); idling 3 s" % (url, proc.pid))
        idle0, t_idle = proc_stat(proc.pid), time.monotonic()
        time.sleep(3)
        idle1 = proc_stat(proc.pid)
        idle_per_s = (idle1[0] + idle1[1] - idle0[0] - idle0[1]) / (time.monotonic() - t_idle)

        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        job = {"job_id": str(uuid.uuid4()), "creator_id": str(uuid.uuid4()),
               "platform": "other", "target_url": server.url,
               "requested_range": {"since": "2024-01-01T00:00:00Z",
                                   "until": "2024-12-31T23:59:59Z"},
               "status": "PENDING", "created_at": now, "updated_at": now,
               "schema_version": "1.0.0"}
        load_before = os.getloadavg()[0]
        threads0 = threads_cpu(proc.pid)
        before = proc_stat(proc.pid)
        t0 = time.monotonic()
        status, run = client.call("POST", "/api/pipelines/clips@1/runs", {"values": {"job": job}})
        if status != 201:
            raise RuntimeError("clips@1 was refused: %s %s" % (status, json.dumps(run)[:500]))
        log("run %s started" % run["run_id"])
        ended = wait_for_end(url, token, run["run_id"], t0)
        after = proc_stat(proc.pid)
        threads1 = threads_cpu(proc.pid)
        wall = ended - t0
        status, run = client.call("GET", "/api/runs/" + run["run_id"])
        load_after = os.getloadavg()[0]

        runtime_cpu = (after[0] + after[1]) - (before[0] + before[1])
        modules_cpu = (after[2] + after[3]) - (before[2] + before[3])
        total = runtime_cpu + modules_cpu
        share = runtime_cpu / total if total > 0 else None
        clips = (run.get("outputs") or {}).get("clips") or []
        steps = step_metrics(client, run)
        by_thread = {k: round(v - threads0.get(k, 0.0), 3) for k, v in threads1.items()}
        by_thread = dict(sorted(((k, v) for k, v in by_thread.items() if v > 0),
                                key=lambda kv: -kv[1])[:8])
        input_minutes = args.videos * args.seconds / 60
        doc = {
            "benchmark": "clips",
            "pipeline": "clips@1",
            "input_videos": args.videos,
            "input_seconds_each": args.seconds,
            "input_minutes": round(input_minutes, 3),
            "media_made_s": round(made_s, 1),
            "status": run.get("status"),
            "clips": len(clips),
            "wall_s": round(wall, 3),
            "run_s": round(seconds_between(run.get("created_at"), run.get("ended_at")), 3),
            "wall_s_per_input_minute": round(wall / input_minutes, 3),
            "runtime_cpu_s": round(runtime_cpu, 3),
            "modules_cpu_s": round(modules_cpu, 3),
            "runtime_cpu_share": round(share, 5) if share is not None else None,
            "target_share": TARGET_SHARE,
            "meets_target": share is not None and share < TARGET_SHARE,
            "runtime_idle_cpu_s_per_s": round(idle_per_s, 4),
            # What the node would have used idling for as long: the rest is
            # the work the run gave it (commits, dispatch, HTTP, waiting).
            "runtime_cpu_s_above_idle": round(runtime_cpu - idle_per_s * wall, 3),
            "runtime_cpu_by_thread_s": by_thread,
            "steps": steps,
            "cores": os.cpu_count(),
            "load_before": round(load_before, 2),
            "load_after": round(load_after, 2),
            "clock_ticks_per_s": TICKS,
        }
        print(json.dumps(doc, indent=2))
        if run.get("status") != "DONE" or not clips:
            log("the run ended %s with %d clips" % (run.get("status"), len(clips)))
            return 1
        return 0
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        log("failed: %s" % e)
        return 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
