#!/usr/bin/env python3
"""editor@1 through a real node (modules/editor/README.md).

Usage: node_editor_test.py OMNIVA_BINARY REPO_DIR

The test media are made once at start with ffmpeg's test sources: a 7 s
640x360 video (testsrc2, 25 fps, a 440 Hz tone) and a WebVTT transcript
with a cue before the cut (0-1 s), one inside it (2-3 s) and one across
its end (3.5-5 s). Every case starts a node (tests/node_harness.py: it
registers modules/, the editor included) whose HOME is a folder of the
case, so the editor's cache (`$HOME/.cache/omniva-editor`) is the case's
own, and submits editor@1 tasks with the candidate 1.5-4.0 s:

- crop and pad, with captions and without: each clip lasts 2.5 s (+-0.1,
  ffprobe), is 1080x1920 H.264 (yuv420p) and AAC, at -14 LUFS (+-1,
  ffmpeg's ebur128); the EditJob (valid: the node checks its schema) names
  the clip id (the candidate's, or the documented UUID v5) and exactly the
  ffmpeg commands the summary says ran, with exit status 0; padded frames
  have black bars, cropped ones do not; the captions are burned in where
  the shifted cue is (1.0 s into the clip) and not where none is (0.2 s),
  compared against the render without captions;
- a second task with the same editing_context_id reuses the render (the
  same clip bytes, the same commands, no render command run) and another
  plan under that id is bad_command;
- an end past the video and a zero-length cut are bad_command (one
  attempt, deterministic); hardware "gpu" on a machine without a usable
  GPU encoder is gpu_starvation, transient: Eclipse retries it (on a
  machine with one, the clip is made with it).
"""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import node_harness
from node_harness import *  # noqa: F401,F403 (NodeTestCase, wait_until, sha256_of)

MEDIA = None  # the folder of the test media, made once

VTT = """WEBVTT

00:00:00.000 --> 00:00:01.000
Before the cut

cue-2
00:00:02.000 --> 00:00:03.000 align:center
Hello <v Ann>captions</v> world

00:00:03.500 --> 00:00:05.000
The end &amp; more
"""


def make_media():
    """src.mp4 (7 s, 640x360 testsrc2 at 25 fps, 440 Hz tone) and cap.vtt."""
    global MEDIA
    if MEDIA:
        return MEDIA
    MEDIA = tempfile.mkdtemp(prefix="omniva-editor-media-")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=7",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=7",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", os.path.join(MEDIA, "src.mp4")],
        check=True, timeout=60)
    with open(os.path.join(MEDIA, "cap.vtt"), "w", encoding="utf-8") as f:
        f.write(VTT)
    return MEDIA


def candidate(start=1.5, end=4.0, **extra):
    doc = {"start_time": start, "end_time": end, "confidence": 0.8,
           "subject_focus": "creator", "faces_detected": 0, "semantic_tags": ["test"],
           "pantheon_votes": {}, "lattice_priority": 0}
    doc.update(extra)
    return doc


def ffprobe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "format=duration:stream=codec_type,codec_name,width,height,pix_fmt",
         "-of", "json", path], capture_output=True, text=True, check=True, timeout=30)
    return json.loads(out.stdout)


def gray_frame(path, at, width=270, height=480):
    """The frame at `at` seconds, scaled to width x height, as gray bytes."""
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-ss", f"{at}",
         "-i", path, "-frames:v", "1", "-vf", f"scale={width}:{height},format=gray",
         "-f", "rawvideo", "-"], capture_output=True, check=True, timeout=30)
    assert len(out.stdout) == width * height, len(out.stdout)
    return out.stdout


def band_diff(a, b, top, bottom, width=270):
    """Mean absolute difference of two gray frames over rows [top, bottom)."""
    xs, ys = a[top * width:bottom * width], b[top * width:bottom * width]
    return sum(abs(x - y) for x, y in zip(xs, ys)) / len(xs)


def band_mean(a, top, bottom, width=270):
    xs = a[top * width:bottom * width]
    return sum(xs) / len(xs)


def integrated_loudness(path):
    out = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-i", path,
                          "-af", "ebur128", "-f", "null", "-"],
                         capture_output=True, text=True, timeout=30)
    found = re.findall(r"I:\s+(-?[0-9.]+) LUFS", out.stderr)
    return float(found[-1])


def gpu_encoder_usable():
    """Whether this machine has a GPU H.264 encoder the editor would use
    (its own probes: h264_nvenc, then h264_vaapi on a render node)."""
    source = ["-f", "lavfi", "-i", "color=c=black:s=256x256:r=25:d=0.2", "-frames:v", "3"]
    tries = [source + ["-c:v", "h264_nvenc"]]
    for device in sorted(glob.glob("/dev/dri/renderD*")):
        tries.append(["-vaapi_device", device] + source
                     + ["-vf", "format=nv12,hwupload", "-c:v", "h264_vaapi"])
    for args in tries:
        r = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"]
                           + args + ["-f", "null", "-"], capture_output=True, timeout=30)
        if r.returncode == 0:
            return True
    return False


class EditorCase(NodeTestCase):
    """A node whose HOME (so the editor's cache) is a folder of the case."""

    def setUp(self):
        make_media()
        self.home = tempfile.mkdtemp(prefix="omniva-editor-home-")
        self.addCleanup(shutil.rmtree, self.home, True)
        old = os.environ.get("HOME")
        os.environ["HOME"] = self.home  # the node passes its HOME to modules
        try:
            super().setUp()
        finally:
            if old is None:
                del os.environ["HOME"]
            else:
                os.environ["HOME"] = old
        self.video = self.cli_ok("asset", "add", os.path.join(MEDIA, "src.mp4")).stdout.strip()
        self.captions = self.cli_ok("asset", "add", os.path.join(MEDIA, "cap.vtt")).stdout.strip()
        self.assertEqual(self.asset(self.captions)["media_type"], "text/vtt")

    def edit(self, values, captions=True):
        inputs = {"video": self.video}
        if captions:
            inputs["captions"] = self.captions
        return self.submit("editor@1", inputs, values)["task_id"]

    def done(self, task_id):
        """The outputs of a DONE editor task: clip path, edit_job, summary."""
        row = self.wait_finished(task_id, timeout=60)
        self.assertEqual(row["status"], "DONE", row)
        out = {key: self.asset(aid) for key, aid in row["outputs"].items()}
        for a in out.values():
            self.assertEqual(a["status"], "AVAILABLE", a)
            self.assertEqual(a["sha256"], sha256_of(a["uri"]))
        with open(out["edit_job"]["uri"], encoding="utf-8") as f:
            job = json.load(f)
        with open(out["edit_summary"]["uri"], encoding="utf-8") as f:
            summary = json.load(f)
        return out["clip"]["uri"], job, summary, out

    def failed(self, task_id, code, transient):
        """The first attempt of `task_id` failed with the module's `code`."""
        def attempt_failed():
            found = [p for p in self.history(task_id) if p["kind"] == "task.attempt_failed"]
            return found or None
        failed = wait_until(attempt_failed, 30, f"task {task_id} to fail an attempt")
        payload = failed[0]["payload"]
        self.assertEqual(payload["attempt"], 1, payload)
        self.assertEqual(payload["code"], code, payload)
        self.assertEqual(payload["transient"], transient, payload)
        return payload

    def check_clip(self, path, job, summary, size=(1080, 1920)):
        probe = ffprobe(path)
        video = [s for s in probe["streams"] if s["codec_type"] == "video"]
        audio = [s for s in probe["streams"] if s["codec_type"] == "audio"]
        self.assertEqual(len(video), 1, probe)
        self.assertEqual(len(audio), 1, probe)
        self.assertEqual((video[0]["codec_name"], video[0]["width"], video[0]["height"],
                          video[0]["pix_fmt"]), ("h264", *size, "yuv420p"), probe)
        self.assertEqual(audio[0]["codec_name"], "aac", probe)
        self.assertAlmostEqual(float(probe["format"]["duration"]), 2.5, delta=0.1)
        self.assertAlmostEqual(integrated_loudness(path), -14.0, delta=1.0)
        # The EditJob's commands are the render's, and they ran, exit 0.
        self.assertEqual(job["ffmpeg_commands"],
                         [c["command"] for c in summary["render"]["commands"]])
        self.assertTrue(job["ffmpeg_commands"], job)
        self.assertTrue(all(c["exit_status"] == 0 for c in summary["render"]["commands"]))
        self.assertFalse(job["gpu_required"])
        self.assertGreaterEqual(job["estimated_duration"], 1)
        self.assertTrue(job["operations"], job)
        self.assertTrue(all(u.startswith("file://") for u in job["expected_outputs"]), job)
        self.assertIn("file://" + path, job["expected_outputs"])
        self.assertEqual(summary["clip_id"], job["clip_id"])
        self.assertEqual((summary["output"]["width"], summary["output"]["height"]), size)
        self.assertEqual((summary["input"]["width"], summary["input"]["height"]), (640, 360))
        self.assertEqual(summary["output"]["sha256"], sha256_of(path))
        self.assertEqual(summary["hardware"]["encoder"], "libx264")
        self.assertGreaterEqual(summary["hardware"]["cores"], 1)
        self.assertTrue(summary["hardware"]["cpu_model"])


class ClipsTest(EditorCase):

    def test_crop_and_pad_clips_with_captions_burned_in(self):
        clip_id = str(uuid.uuid4())
        crop = self.edit({"candidate": candidate(clip_id=clip_id)})
        pad = self.edit({"candidate": candidate(), "frame": "pad"})
        plain = self.edit({"candidate": candidate(), "burn_captions": False})

        crop_path, crop_job, crop_summary, _ = self.done(crop)
        pad_path, pad_job, pad_summary, _ = self.done(pad)
        plain_path, plain_job, plain_summary, _ = self.done(plain)
        for path, job, summary in ((crop_path, crop_job, crop_summary),
                                   (pad_path, pad_job, pad_summary),
                                   (plain_path, plain_job, plain_summary)):
            self.check_clip(path, job, summary)
            self.assertFalse(summary["reused"])
            # What ran in this attempt includes the render, the same command.
            ran = [c for c in summary["commands"] if c["purpose"] == "render"]
            self.assertEqual([c["command"] for c in ran], job["ffmpeg_commands"])

        # The clip id: the candidate's, else UUID v5 of the video and the times.
        self.assertEqual(crop_job["clip_id"], clip_id)
        self.assertEqual(crop_summary["clip_id_source"], "candidate")
        video_sha = sha256_of(os.path.join(MEDIA, "src.mp4"))
        self.assertEqual(pad_job["clip_id"],
                         str(uuid.uuid5(uuid.NAMESPACE_URL,
                                        f"omniva:clip:{video_sha}:1500:4000")))
        self.assertEqual(crop_summary["input"]["sha256"], video_sha)

        # Crop and pad: the planned filters, and black bars only when padded.
        self.assertIn("crop=1080:1920", crop_job["ffmpeg_commands"][0])
        self.assertIn("pad=1080:1920", pad_job["ffmpeg_commands"][0])
        padded, cropped = gray_frame(pad_path, 1.0), gray_frame(crop_path, 1.0)
        self.assertLess(band_mean(padded, 0, 100), 25)       # 640x360 -> 1080x608 in 1920
        self.assertGreater(band_mean(cropped, 0, 100), 40)

        # Captions: one cue inside the cut (2-3 s of the source: 0.5-1.5 s of
        # the clip) and one across its end; none before.
        self.assertEqual(crop_summary["captions"]["cues_burned"], 2)
        self.assertEqual(plain_summary["captions"]["cues_burned"], 0)
        self.assertIn("subtitles=", crop_job["ffmpeg_commands"][0])
        self.assertNotIn("subtitles=", plain_job["ffmpeg_commands"][0])
        with_cue, without = gray_frame(crop_path, 1.0), gray_frame(plain_path, 1.0)
        # The caption band (bottom centre, above the lowest 12 %) differs,
        # the top of the frame does not.
        self.assertGreater(band_diff(with_cue, without, 360, 430), 8)
        self.assertLess(band_diff(with_cue, without, 0, 200), 3)
        # 0.2 s into the clip (1.7 s of the source) no cue is on screen.
        early, early_plain = gray_frame(crop_path, 0.2), gray_frame(plain_path, 0.2)
        self.assertLess(band_diff(early, early_plain, 360, 430), 3)
        self.finish()


class ContextTest(EditorCase):

    def test_a_retry_in_the_same_editing_context_reuses_the_render(self):
        # A smaller frame: what is tested is the reuse, not the render.
        values = {"candidate": candidate(), "editing_context_id": "retry-ctx-1",
                  "width": 540, "height": 960}
        first_path, first_job, first, _ = self.done(self.edit(values))
        self.assertFalse(first["reused"])
        self.assertEqual(first["editing_context_id"], "retry-ctx-1")
        marker = os.path.join(self.home, ".cache", "omniva-editor", "retry-ctx-1",
                              "complete.json")
        with open(marker, encoding="utf-8") as f:
            self.assertEqual(json.load(f)["plan_sha256"], first["plan_sha256"])

        second_path, second_job, second, _ = self.done(self.edit(values))
        self.assertTrue(second["reused"])
        self.check_clip(second_path, second_job, second, size=(540, 960))
        self.assertEqual(sha256_of(second_path), sha256_of(first_path))
        self.assertEqual(second["plan_sha256"], first["plan_sha256"])
        self.assertEqual(second["render"], first["render"])
        self.assertEqual(second_job["ffmpeg_commands"], first_job["ffmpeg_commands"])
        self.assertNotIn("render", [c["purpose"] for c in second["commands"]])

        # Another plan in the same context: bad_command, not retried.
        other = self.edit(dict(values, frame="pad"))
        payload = self.failed(other, "bad_command", False)
        self.assertIn("retry-ctx-1", payload["message"])
        row = self.wait_finished(other, timeout=30)
        self.assertEqual((row["status"], row["attempt"]), ("ERROR", 1), row)
        self.finish()


class ErrorsTest(EditorCase):

    def test_bad_cuts_are_bad_command_and_a_missing_gpu_is_gpu_starvation(self):
        past = self.edit({"candidate": candidate(5.0, 9.0)})
        empty = self.edit({"candidate": candidate(7.0, 7.5)}, captions=False)
        gpu = self.edit({"candidate": candidate(), "hardware": "gpu"})
        for task_id, words in ((past, "past the video's end"), (empty, "zero-length cut")):
            payload = self.failed(task_id, "bad_command", False)
            self.assertIn(words, payload["message"])
            row = self.wait_finished(task_id, timeout=30)
            self.assertEqual((row["status"], row["attempt"]), ("ERROR", 1), row)
        if gpu_encoder_usable():
            # A machine with a GPU encoder: the clip is made with it.
            _, job, summary, _ = self.done(gpu)
            self.assertTrue(job["gpu_required"])
            self.assertNotEqual(summary["hardware"]["encoder"], "libx264")
            self.finish()
            return
        # No GPU encoder here: transient, so Eclipse plans a retry.
        payload = self.failed(gpu, "gpu_starvation", True)
        self.assertIn("h264_nvenc", payload["message"])
        wait_until(lambda: self.task(gpu)["attempt"] >= 2 or None, 30,
                   "the gpu task to be retried")
        status, doc, _ = self.http("POST", f"/api/tasks/{gpu}/cancel")
        self.assertIn(status, (200, 202, 409), doc)
        self.wait_finished(gpu, timeout=30)
        self.finish()


if __name__ == "__main__":
    try:
        node_harness.main()
    finally:
        if MEDIA:
            shutil.rmtree(MEDIA, ignore_errors=True)
