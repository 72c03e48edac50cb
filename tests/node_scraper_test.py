#!/usr/bin/env python3
"""scraper@1 (modules/scraper) through a real node, on a local test channel.

Usage: node_scraper_test.py OMNIVA_BINARY REPO_DIR

Each case makes three short MP4s with ffmpeg (2 s of lavfi testsrc and a
sine; one with English WebVTT subtitles), serves them with
tests/content/channel_server.py on 127.0.0.1 and submits scraper@1 with a
ScraperJob whose requested_range leaves one video out:

- the channel page (no player: the scraper follows its RSS link) gives two
  videos, newest first: real MP4s by ffprobe (H.264, 2 s, 320x240), the one
  that had subtitles with a mov_text stream in English holding their text,
  each tagged `comment=omniva_video_id=<uuid5(job_id, page URL)>`; the
  metadata list in the same order (the content hash of each video, titles,
  upload times, subtitle languages); the `job` output DONE;
- the same scrape again (a new job_id, the same platform, target and range)
  is SKIPPED by Paradox (`duplicate_of` the first, outputs FAILED
  duplicate_blocked), never dispatched;
- a channel answering its first request 429: attempt 1 fails `rate_limited`
  (transient), Eclipse plans a retry, attempt 2 is DONE;
- a channel that wants a bearer token: without the secret SCRAPER_TOKEN in
  the node's environment the task ends ERROR `auth_failed`, not retried
  (deterministic); with the node restarted with the secret, an operator's
  retry of that task is DONE (its identical re-submission would be blocked
  as a duplicate: a failed scrape is retried, not submitted again);
- by `omniva module run`: a site slower than `socket_timeout_s` is
  `network_timeout` (transient); an ftp URL and a page that is not there
  are `bad_command` (deterministic).

The harness (a node per case) is tests/node_harness.py; the channel server's
own behaviour is documented in its docstring.
"""

import datetime
import json
import os
import subprocess
import sys
import uuid

import node_harness
from node_harness import *  # noqa: F401,F403 (NodeTestCase and the helpers)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "content"))
import channel_server  # noqa: E402

SUBTITLES = "the quick brown fox jumps over the lazy dog"
VIDEOS = [
    {"id": "alpha", "title": "Alpha: the one with subtitles",
     "uploaded_at": "2024-03-02T10:00:00Z", "seconds": 2, "subtitles": SUBTITLES},
    {"id": "beta", "title": "Beta", "uploaded_at": "2024-03-20T08:30:00Z", "seconds": 2},
    {"id": "gamma", "title": "Gamma, outside the range",
     "uploaded_at": "2024-04-15T12:00:00Z", "seconds": 2},
]
RANGE = {"since": "2024-03-01T00:00:00Z", "until": "2024-03-31T23:59:59Z"}


def scraper_job(target, rng=RANGE):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"job_id": str(uuid.uuid4()), "creator_id": str(uuid.uuid4()),
            "platform": "other", "target_url": target, "requested_range": dict(rng),
            "status": "PENDING", "created_at": now, "updated_at": now,
            "schema_version": "1.0.0"}


def ffprobe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                          "-of", "json", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class ScraperTestCase(NodeTestCase):

    def setUp(self):
        super().setUp()
        self.media = channel_server.make_channel(os.path.join(self.tmp, "channel"), VIDEOS)

    def serve(self, **faults):
        server = channel_server.ChannelServer(self.media, **faults)
        self.addCleanup(server.stop)
        return server

    def scrape(self, target, rng=RANGE, **values):
        job = scraper_job(target, rng)
        task = self.submit("scraper@1", values={"job": job, **values})
        return job, task

    def packets(self, entity, kind):
        return [p for p in self.history(entity) if p["kind"] == kind]

    def check_scraped(self, task_id, job, server, expected):
        """The task is DONE with one MP4 and one metadata record per video of
        `expected` (VIDEOS entries), in that order."""
        row = self.wait_finished(task_id, 45)
        self.assertEqual(row["status"], "DONE", row)
        videos = self.list_elements(row["outputs"]["videos"])
        metadata = self.list_elements(row["outputs"]["metadata"])
        self.assertEqual(len(videos), len(expected), videos)
        self.assertEqual(len(metadata), len(expected), metadata)
        for i, (vid, mid, want) in enumerate(zip(videos, metadata, expected)):
            with self.subTest(video=i, id=want["id"]):
                video, vpath = self.asset_file(vid)
                self.assertEqual(video["media_type"], "video/mp4", video)
                meta_asset, mpath = self.asset_file(mid)
                self.assertEqual(meta_asset["media_type"], "application/json")
                with open(mpath, encoding="utf-8") as f:
                    meta = json.load(f)
                page = server.page_url(want["id"])
                self.assertEqual(meta["source_url"], page, meta)
                self.assertEqual(meta["video_id"],
                                 str(uuid.uuid5(uuid.UUID(job["job_id"]), page)), meta)
                self.assertEqual(meta["job_id"], job["job_id"])
                self.assertEqual(meta["platform"], "other")
                self.assertEqual(meta["title"], want["title"])
                self.assertEqual(meta["uploaded_at"], want["uploaded_at"])
                self.assertEqual(meta["sha256"], video["sha256"])
                self.assertEqual(meta["sha256"], sha256_of(vpath))
                self.assertEqual(meta["size_bytes"], os.path.getsize(vpath))
                self.assertEqual(meta["extractor"], "html5")
                self.assertEqual((meta["width"], meta["height"]), (320, 240))
                self.assertAlmostEqual(meta["duration_s"], 2.0, delta=0.2)
                # The file itself, by ffprobe: a real MP4 with the tag.
                probe = ffprobe(vpath)
                self.assertIn("mp4", probe["format"]["format_name"])
                kinds = [s["codec_type"] for s in probe["streams"]]
                codecs = [s["codec_name"] for s in probe["streams"]]
                self.assertEqual(kinds[:2], ["video", "audio"], kinds)
                self.assertEqual(codecs[0], "h264", codecs)
                self.assertAlmostEqual(float(probe["format"]["duration"]), 2.0, delta=0.2)
                self.assertEqual(probe["format"]["tags"]["comment"],
                                 f"omniva_video_id={meta['video_id']}")
                subs = [s for s in probe["streams"] if s["codec_type"] == "subtitle"]
                if want.get("subtitles"):
                    self.assertEqual(meta["subtitle_languages"], ["en"], meta)
                    self.assertEqual([s["codec_name"] for s in subs], ["mov_text"])
                    self.assertEqual(subs[0]["tags"]["language"], "eng")
                    text = subprocess.run(
                        ["ffmpeg", "-v", "error", "-i", vpath, "-map", "0:s:0",
                         "-f", "webvtt", "-"], capture_output=True, text=True, check=True).stdout
                    self.assertEqual(" ".join(l for l in text.splitlines()
                                              if l and "-->" not in l and l != "WEBVTT"),
                                     SUBTITLES)
                else:
                    self.assertEqual(meta["subtitle_languages"], [], meta)
                    self.assertEqual(subs, [])
        _, jpath = self.asset_file(row["outputs"]["job"])
        with open(jpath, encoding="utf-8") as f:
            done = json.load(f)
        self.assertEqual(done["status"], "DONE", done)
        self.assertEqual({k: v for k, v in done.items() if k not in ("status", "updated_at")},
                         {k: v for k, v in job.items() if k not in ("status", "updated_at")})
        def instant(text):
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        self.assertGreaterEqual(instant(done["updated_at"]), instant(job["updated_at"]))
        return row


class ScrapeTest(ScraperTestCase):

    def test_a_channel_page_in_range_then_a_blocked_duplicate_then_a_rate_limit(self):
        server = self.serve()
        job, task = self.scrape(server.url)
        expected = [VIDEOS[1], VIDEOS[0]]  # newest first; gamma is after the range
        self.check_scraped(task["task_id"], job, server, expected)
        paths = [r["path"] for r in server.requests]
        self.assertIn("/feed.xml", paths)  # found through the page's RSS link
        self.assertNotIn("/media/gamma.mp4", paths)
        self.assertNotIn("/v/gamma", paths)

        # The same scrape again, a fresh job_id: Paradox blocks it.
        _, dup = self.scrape(server.url)
        row = self.wait_status(dup["task_id"], ("SKIPPED",), 20)
        self.assertEqual(row["duplicate_of"], task["task_id"], row)
        for key in ("videos", "metadata", "job"):
            self.assertEqual(self.asset(dup["outputs"][key])["status"], "FAILED")
        skipped = self.packets(dup["task_id"], "task.skipped")
        self.assertEqual([p["payload"]["code"] for p in skipped], ["duplicate_blocked"])
        self.assertEqual(self.packets(dup["task_id"], "task.dispatched"), [])

        # A channel that answers its first request 429: retried, then done.
        limited = self.serve(rate_limit=1)
        job, task = self.scrape(limited.feed_url, {"since": "2024-03-15T00:00:00Z",
                                                   "until": "2024-03-31T00:00:00Z"})
        row = self.check_scraped(task["task_id"], job, limited, [VIDEOS[1]])
        self.assertEqual(row["attempt"], 2, row)
        self.assertEqual(limited.requests[0]["status"], 429, limited.requests)
        failed = self.packets(task["task_id"], "task.attempt_failed")
        self.assertEqual([(p["payload"]["attempt"], p["payload"]["code"],
                           p["payload"]["transient"]) for p in failed],
                         [(1, "rate_limited", True)], failed)
        plans = [plan for p in self.packets(task["task_id"], "advice.eclipse")
                 for plan in p["payload"].get("plans", [])
                 if plan["task_id"] == task["task_id"]]
        self.assertEqual([(p["attempt"], p["action"], p["code"]) for p in plans],
                         [(1, "retry", "rate_limited")], plans)
        self.assertEqual(len(self.packets(task["task_id"], "task.requeued")), 1)
        self.finish()


class AuthTest(ScraperTestCase):

    def test_a_channel_behind_a_token_needs_the_secret(self):
        os.environ.pop("SCRAPER_TOKEN", None)
        server = self.serve(auth="token", token="t0ken-for-the-test")
        job, task = self.scrape(server.feed_url, {"since": "2024-03-01T00:00:00Z",
                                                  "until": "2024-03-10T00:00:00Z"})
        row = self.wait_finished(task["task_id"], 30)
        self.assertEqual(row["status"], "ERROR", row)
        self.assertEqual(row["error"]["code"], "auth_failed", row)
        self.assertEqual(row["attempt"], 1, row)  # deterministic: not retried
        failed = self.packets(task["task_id"], "task.attempt_failed")
        self.assertEqual([(p["payload"]["code"], p["payload"]["transient"]) for p in failed],
                         [("auth_failed", False)], failed)
        self.assertEqual({r["status"] for r in server.requests}, {401}, server.requests)

        # The node again, with the secret in its environment; the operator
        # retries the failed task.
        self.assertEqual(self.node.stop(), 0, self.node.log()[-2000:])
        os.environ["SCRAPER_TOKEN"] = "t0ken-for-the-test"
        self.addCleanup(os.environ.pop, "SCRAPER_TOKEN", None)
        self.node.start()
        status, doc, _ = self.http("POST", f"/api/tasks/{task['task_id']}/retry")
        self.assertEqual(status, 200, doc)
        self.check_scraped(task["task_id"], job, server, [VIDEOS[0]])
        self.assertEqual(self.task(task["task_id"])["attempt"], 2)
        # The secret never reached the logs.
        folder = os.path.join(self.node.data, "outputs", task["task_id"])
        for attempt in os.listdir(folder):
            for name in ("stdout.log", "stderr.log"):
                path = os.path.join(folder, attempt, name)
                if os.path.exists(path):
                    with open(path, encoding="utf-8", errors="replace") as f:
                        self.assertNotIn("t0ken-for-the-test", f.read())
        self.finish()


class ErrorCodeTest(ScraperTestCase):
    """The codes a retry through a node would take long to show, by `omniva
    module run` (the node's adapter, without a node): the error, its message
    and `transient`."""

    def module_run(self, job, *values):
        args = ["module", "run", os.path.join(node_harness.REPO, "modules", "scraper"),
                "--value", "job=" + json.dumps(job), "--json"]
        for v in values:
            args += ["--value", v]
        r = self.cli(*args, node=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        return json.loads(r.stdout)["outcome"]["error"]

    def test_a_slow_site_a_bad_scheme_and_a_page_without_videos(self):
        slow = self.serve(slow=3)
        error = self.module_run(scraper_job(slow.feed_url), "socket_timeout_s=1")
        self.assertTrue(error["message"].startswith("the module reported network_timeout:"),
                        error)
        self.assertTrue(error["transient"], error)
        slow.set_faults(slow=0)

        error = self.module_run(scraper_job("ftp://127.0.0.1/videos/"))
        self.assertTrue(error["message"].startswith("the module reported bad_command:"), error)
        self.assertIn("http or https", error["message"])
        self.assertFalse(error["transient"], error)

        error = self.module_run(scraper_job(slow.url + "nothing-here"))
        self.assertTrue(error["message"].startswith("the module reported bad_command:"), error)
        self.assertIn("404", error["message"])
        self.assertFalse(error["transient"], error)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
