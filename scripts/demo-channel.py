#!/usr/bin/python3
"""The `make run` demo's video channel: made locally once, then served on 127.0.0.1.

`omniva serve --demo` starts this program as a child process (stopped with
the node) and runs the content pipeline `clips@1` on the channel it serves,
so a newcomer sees real clips appear. It can also be run by hand:

    /usr/bin/python3 scripts/demo-channel.py --folder DIR [--port P]
                     [--videos 3] [--seconds 10]

What it does, in order:

1. Checks the media tools the demo needs (ffmpeg, ffprobe, espeak-ng to make
   the videos; yt-dlp and pocketsphinx_continuous, which the content modules
   run; python3-opencv in this interpreter, Debian's /usr/bin/python3). When
   one is missing it prints {"error": "missing_tools", "missing": [...],
   "hint": ...} on stdout and exits 3: the node says so and runs on.
2. At first start (DIR has no channel.json yet) makes the channel with
   tests/content/media.py, nothing downloaded: VIDEOS videos of SECONDS
   seconds each, each with scene cuts, a face, a tone and a sentence spoken
   by espeak-ng (every other one with WebVTT subtitles). The videos are made
   in DIR.partial and moved into DIR when all are there, channel.json last,
   so a demo stopped while it made them starts over cleanly next time.
3. Serves DIR with tests/content/channel_server.py on 127.0.0.1: port P, or
   the port it used before (DIR/demo.json), or a free one. A scrape of the
   channel resumed after a restart of the node then finds the same URL.
4. Prints ONE line of JSON on stdout, then serves until SIGTERM or SIGINT:
   {"url": "http://127.0.0.1:P/", "folder": DIR, "videos": N,
    "input_seconds": S, "made": true|false, "job": {ScraperJob}}
   `job` is the ScraperJob of the demo run (platform "other", the channel's
   URL, the range of the videos' dates); its ids are kept in DIR/demo.json,
   so every start offers the same job.

Errors (stdout, one JSON line, exit code): missing tools (3), the media could
not be made (4: "media_failed", with the tool's message), the folder cannot
be written or served (5: "folder_failed" / "serve_failed"). Progress goes to
stderr.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import threading
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "content"))

# The demo channel's videos are dated from this day, one day apart; the
# ScraperJob's range covers them all.
START_DATE = "2024-01-01"
TITLE = "Omniva demo channel"
RANGE = {"since": "2024-01-01T00:00:00Z", "until": "2024-12-31T23:59:59Z"}
TOOLS = ["ffmpeg", "ffprobe", "espeak-ng", "yt-dlp", "pocketsphinx_continuous"]
HINT = "run scripts/install-deps.sh (as root) to install them"


def say(message):
    print("demo-channel: " + message, file=sys.stderr, flush=True)


def answer(doc, code=0):
    """Prints the one JSON line the node reads and returns `code`."""
    print(json.dumps(doc), flush=True)
    return code


def missing_tools():
    missing = [t for t in TOOLS if not shutil.which(t)]
    try:
        import cv2  # noqa: F401 (python3-opencv: media.py draws the face with it)
    except ImportError:
        missing.append("python3-opencv (in %s)" % sys.executable)
    return missing


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_state(folder):
    """DIR/demo.json: {"port", "job_id", "creator_id", "created_at"}; {} when
    absent or unreadable."""
    try:
        with open(os.path.join(folder, "demo.json"), encoding="utf-8") as f:
            state = json.load(f)
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def write_state(folder, state):
    path = os.path.join(folder, "demo.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
    os.replace(path + ".tmp", path)


def make(folder, videos, seconds):
    """Makes the channel in folder.partial, then moves it into folder."""
    import media  # tests/content/media.py
    partial = folder.rstrip("/") + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    say("making %d videos of %g s with speech in %s (once; about %d s)"
        % (videos, seconds, folder, int(4 * videos * seconds / 10) + 2))
    media.make_channel(partial, videos, seconds, START_DATE)
    # File by file into the folder (which may hold the node's logs of this
    # program), channel.json last: its presence says the channel is whole.
    os.makedirs(folder, exist_ok=True)
    names = sorted(os.listdir(partial), key=lambda n: n == "channel.json")
    for name in names:
        os.replace(os.path.join(partial, name), os.path.join(folder, name))
    os.rmdir(partial)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True, help="the channel's folder")
    parser.add_argument("--port", type=int, default=None,
                        help="the port (default: the one used before, else a free one)")
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    folder = os.path.abspath(args.folder)

    missing = missing_tools()
    if missing:
        return answer({"error": "missing_tools", "missing": missing, "hint": HINT}, 3)

    made = False
    if not os.path.isfile(os.path.join(folder, "channel.json")):
        try:
            make(folder, args.videos, args.seconds)
            made = True
        except (ValueError, RuntimeError) as e:
            return answer({"error": "media_failed", "message": str(e)}, 4)
        except OSError as e:
            return answer({"error": "folder_failed", "message": str(e)}, 5)

    import channel_server  # tests/content/channel_server.py
    try:
        with open(os.path.join(folder, "channel.json"), encoding="utf-8") as f:
            listing = json.load(f)
        state = read_state(folder)
        state.setdefault("job_id", str(uuid.uuid4()))
        state.setdefault("creator_id", str(uuid.uuid4()))
        state.setdefault("created_at", now_text())
    except (OSError, ValueError) as e:
        return answer({"error": "folder_failed", "message": str(e)}, 5)

    port = args.port if args.port is not None else int(state.get("port") or 0)
    try:
        server = channel_server.ChannelServer(folder, port, title=TITLE)
    except OSError as e:
        if port == 0:
            return answer({"error": "serve_failed", "message": str(e)}, 5)
        say("port %d is taken (%s): serving on a free port instead" % (port, e))
        server = channel_server.ChannelServer(folder, 0, title=TITLE)
    state["port"] = server.port
    try:
        write_state(folder, state)
    except OSError as e:
        say("could not write demo.json: %s (the next start may use another port)" % e)

    videos = listing.get("videos", [])
    job = {"job_id": state["job_id"], "creator_id": state["creator_id"],
           "platform": "other", "target_url": server.url,
           "requested_range": dict(RANGE), "status": "PENDING",
           "created_at": state["created_at"], "updated_at": state["created_at"],
           "schema_version": "1.0.0"}
    answer({"url": server.url, "folder": folder, "videos": len(videos),
            "input_seconds": sum(float(v.get("duration", 0)) for v in videos),
            "made": made, "job": job})

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(0.2):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
