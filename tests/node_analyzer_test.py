#!/usr/bin/env python3
"""analyzer@1 through a real node (modules/analyzer/README.md).

Usage: node_analyzer_test.py OMNIVA_BINARY REPO_DIR

The test media are made once at start by tests/content/media.py: an 8 s
640x360 video with a hard cut at 3.0 s (testsrc2, then smptebars), a drawn
face over the whole second scene (3-8 s), a 440 Hz tone early on and the
sentence "Omniva turns long videos into short clips." spoken by espeak-ng
from 3.5 s, tagged comment=omniva_video_id=<uuid>; the same video with
the sentence as an embedded mov_text subtitle stream; a 4 s video without
speech; and a file of random bytes.

Every case starts a node (tests/node_harness.py: it registers modules/, the
analyzer included) and submits analyzer@1 tasks:

- the speech video, keywords ["omniva", "banana"]: DONE; its result is an
  AnalysisResult (the node checked it; `omniva schema validate` and the
  checks here again: closed objects, end_time > start_time,
  pantheon_votes {}, lattice_priority 0, unique tags, no _meta_parents),
  its features valid against analyzer.features@1; the video id is the one
  in the tag; "omniva" is detected and was spotted by the keyword search
  inside the spoken sentence, "banana" (never said) is not; a candidate
  starts within 0.5 s of the cut, sees a face and is tagged keyword:omniva,
  the candidate before the cut sees none; the captions are WebVTT with cues
  in the speech;
- the subtitled video: the transcript is the subtitles' text, the captions
  carry it, the keyword is found in it;
- error paths, each reported through the output manifest with the seed's
  code: random bytes given as video/mp4 are bad_command (one attempt,
  deterministic); model_dir pointing at an empty folder is model_offline,
  transient (Eclipse retries it: a second attempt starts); a video without
  speech or subtitles with require_transcript is transcript_missing (one
  attempt).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

import node_harness
from node_harness import *  # noqa: F401,F403 (NodeTestCase, wait_until, sha256_of)

MEDIA = None   # the folder of the test media, made once
TRUTH = {}     # what media.py put where, per video
VIDEO_ID = "6f1c2a9e-4b7d-4e21-9a3f-0c5d8e7b1a42"
CUT = 3.0

RESULT_KEYS = {"video_id", "transcript", "keywords_detected", "virality_score",
               "relevance_score", "clip_candidates", "_meta_parents", "generated_at"}
CANDIDATE_KEYS = {"start_time", "end_time", "confidence", "subject_focus", "faces_detected",
                  "semantic_tags", "pantheon_votes", "lattice_priority", "clip_id"}


def make_media():
    global MEDIA
    if MEDIA:
        return MEDIA
    sys.path.insert(0, os.path.join(node_harness.REPO, "tests", "content"))
    import media
    MEDIA = tempfile.mkdtemp(prefix="omniva-analyzer-media-")
    TRUTH["speech"] = media.make_video(os.path.join(MEDIA, "speech.mp4"), 8, [CUT],
                                       sentence=media.DEFAULT_SENTENCE, face=True,
                                       video_id=VIDEO_ID, title="Analyzer test")
    TRUTH["subtitled"] = media.make_video(os.path.join(MEDIA, "subtitled.mp4"), 8, [CUT],
                                          sentence=media.DEFAULT_SENTENCE, face=False,
                                          embed_subtitles=True)
    TRUTH["silent"] = media.make_video(os.path.join(MEDIA, "silent.mp4"), 4, [2.0],
                                       sentence=None, face=False, tone=False)
    with open(os.path.join(MEDIA, "junk.mp4"), "wb") as f:
        f.write(os.urandom(4096))
    return MEDIA


class AnalyzerCase(NodeTestCase):

    def setUp(self):
        make_media()
        super().setUp()

    def add(self, name, media_type=None):
        extra = ["--media-type", media_type] if media_type else []
        return self.cli_ok("asset", "add", os.path.join(MEDIA, name), *extra).stdout.strip()

    def analyze(self, video_asset, **values):
        return self.submit("analyzer@1", {"video": video_asset}, values)["task_id"]

    def done(self, task_id):
        """The outputs of a DONE analyzer task: {key: (asset record, text)}."""
        row = self.wait_finished(task_id, timeout=90)
        self.assertEqual(row["status"], "DONE", row)
        out = {}
        for key, asset_id in row["outputs"].items():
            a = self.asset(asset_id)
            self.assertEqual(a["status"], "AVAILABLE", a)
            self.assertEqual(a["sha256"], sha256_of(a["uri"]))
            with open(a["uri"], encoding="utf-8") as f:
                out[key] = (a, f.read())
        self.assertEqual(set(out), {"result", "features", "captions"})
        self.assertEqual(out["captions"][0]["media_type"], "text/vtt")
        return out

    def validate(self, schema, path):
        r = self.cli("schema", "validate", schema, path, node=False)
        self.assertEqual(r.returncode, 0, f"{path} against {schema}:\n{r.stdout}{r.stderr}")

    def check_result(self, out):
        """The AnalysisResult and the features, checked here too."""
        result = json.loads(out["result"][1])
        features = json.loads(out["features"][1])
        self.validate("AnalysisResult", out["result"][0]["uri"])
        self.validate(os.path.join(node_harness.REPO, "modules", "analyzer", "schemas",
                                   "analyzer.features@1.json"), out["features"][0]["uri"])
        self.assertLessEqual(set(result), RESULT_KEYS)
        self.assertNotIn("_meta_parents", result)
        uuid.UUID(result["video_id"])
        for score in ("virality_score", "relevance_score"):
            self.assertTrue(0 <= result[score] <= 1, result)
        self.assertTrue(result["clip_candidates"], result)
        for c in result["clip_candidates"]:
            self.assertLessEqual(set(c), CANDIDATE_KEYS)
            self.assertGreater(c["end_time"], c["start_time"], c)
            self.assertGreaterEqual(c["start_time"], 0)
            self.assertLessEqual(c["end_time"], 8.0 + 0.1)
            self.assertTrue(0 <= c["confidence"] <= 1, c)
            self.assertEqual(c["pantheon_votes"], {})
            self.assertEqual(c["lattice_priority"], 0)
            self.assertEqual(len(c["semantic_tags"]), len(set(c["semantic_tags"])), c)
            self.assertIsInstance(c["faces_detected"], int)
            self.assertEqual(c["subject_focus"],
                             "creator" if c["faces_detected"] > 0 else "scene", c)
        # The features describe the same candidates, in the same order.
        self.assertEqual([(f["start_time"], f["end_time"]) for f in features["candidates"]],
                         [(c["start_time"], c["end_time"]) for c in result["clip_candidates"]])
        self.assertEqual(features["analyzer"]["module"], "analyzer@1")
        for tool in ("ffmpeg", "pocketsphinx", "opencv"):
            self.assertNotEqual(features["tools"][tool], "unknown", features["tools"])
        return result, features

    def cues(self, vtt):
        self.assertTrue(vtt.startswith("WEBVTT"), vtt)
        found = re.findall(r"(\d+):(\d\d):(\d\d)\.(\d\d\d) --> (\d+):(\d\d):(\d\d)\.(\d\d\d)\n(.+)",
                           vtt)
        to_s = lambda h, m, s, ms: int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000  # noqa
        return [(to_s(*c[0:4]), to_s(*c[4:8]), c[8]) for c in found]

    def first_attempt_failed(self, task_id, code, transient):
        def attempt_failed():
            found = [p for p in self.history(task_id) if p["kind"] == "task.attempt_failed"]
            return found or None
        failed = wait_until(attempt_failed, 60, f"task {task_id} to fail an attempt")
        payload = failed[0]["payload"]
        self.assertEqual(payload["attempt"], 1, payload)
        self.assertEqual(payload["code"], code, payload)
        self.assertEqual(payload["transient"], transient, payload)
        return payload


class AnalysisTest(AnalyzerCase):

    def test_keyword_cut_faces_and_captions(self):
        speech = self.analyze(self.add("speech.mp4"), keywords=["omniva", "banana"])
        subtitled = self.analyze(self.add("subtitled.mp4"))

        out = self.done(speech)
        result, features = self.check_result(out)
        truth = TRUTH["speech"]
        self.assertEqual(result["video_id"], VIDEO_ID)
        self.assertEqual(features["video"]["video_id_source"], "metadata")

        # The spoken keyword: detected, spotted in the audio where it was said.
        self.assertIn("omniva", result["keywords_detected"])
        self.assertNotIn("banana", result["keywords_detected"])
        spotted = {k["keyword"]: k["spotted"] for k in features["keywords"]}
        self.assertTrue(spotted["omniva"], features["keywords"])
        self.assertEqual(spotted["banana"], [])
        for hit in spotted["omniva"]:
            self.assertGreaterEqual(hit["start"], truth["speech"]["start"] - 0.5, hit)
            self.assertLessEqual(hit["end"], truth["speech"]["end"] + 0.5, hit)
        self.assertEqual(features["transcript"]["source"], "speech_recognition")

        # A candidate at the cut: it sees the face and holds the keyword.
        candidates = result["clip_candidates"]
        at_cut = [c for c in candidates if abs(c["start_time"] - CUT) <= 0.5]
        self.assertTrue(at_cut, candidates)
        self.assertGreater(at_cut[0]["faces_detected"], 0, at_cut)
        self.assertEqual(at_cut[0]["subject_focus"], "creator")
        self.assertIn("keyword:omniva", at_cut[0]["semantic_tags"])
        self.assertIn("scene_cut", at_cut[0]["semantic_tags"])
        before = [c for c in candidates if c["end_time"] <= CUT + 0.05]
        self.assertTrue(before, candidates)
        self.assertTrue(all(c["faces_detected"] == 0 for c in before), before)
        self.assertTrue(any(abs(s["time"] - CUT) <= 0.1
                            for s in features["timelines"]["scene_changes"]), features)

        # Captions: the recognised words, timed within the speech.
        cues = self.cues(out["captions"][1])
        self.assertTrue(cues, out["captions"][1])
        self.assertTrue(any(a >= truth["speech"]["start"] - 0.5 and b <= truth["speech"]["end"] + 0.5
                            for a, b, _ in cues), cues)

        # Subtitles embedded in the MP4 are the transcript.
        out = self.done(subtitled)
        result, features = self.check_result(out)
        sentence = TRUTH["subtitled"]["speech"]["sentence"]
        self.assertEqual(result["transcript"], sentence)
        self.assertEqual(features["transcript"]["source"], "subtitles")
        self.assertEqual(features["video"]["subtitles"], "embedded")
        self.assertEqual(result["keywords_detected"][0], "omniva")
        self.assertEqual(features["video"]["video_id_source"], "sha256")
        self.assertEqual(" ".join(text for _, _, text in self.cues(out["captions"][1])), sentence)
        self.finish()


class ErrorsTest(AnalyzerCase):

    def test_error_codes(self):
        junk = self.analyze(self.add("junk.mp4", "video/mp4"))
        empty_models = os.path.join(self.tmp, "no-models")
        os.makedirs(empty_models)
        offline = self.analyze(self.add("silent.mp4"), model_dir=empty_models)
        missing = self.analyze(self.add("silent.mp4"), require_transcript=True)

        self.first_attempt_failed(junk, "bad_command", False)
        self.first_attempt_failed(missing, "transcript_missing", False)
        self.first_attempt_failed(offline, "model_offline", True)
        for task_id, code in ((junk, "bad_command"), (missing, "transcript_missing")):
            row = self.wait_finished(task_id, timeout=60)
            self.assertEqual(row["status"], "ERROR", row)
            self.assertEqual(row["attempt"], 1, row)  # deterministic: not retried
            self.assertIn(code, row["error"]["message"], row)
        # Transient: Eclipse retries it.
        wait_until(lambda: self.task(offline)["attempt"] >= 2, 30,
                   "a second attempt of the model_offline task")
        self.http("POST", f"/api/tasks/{offline}/cancel")
        self.wait_finished(offline, timeout=30)
        # No traceback in what the module said.
        for task_id in (junk, missing, offline):
            _, log, _ = self.http("GET", f"/api/tasks/{task_id}/attempts/1/logs?stream=stderr")
            self.assertNotIn("Traceback", log)
        self.finish()


if __name__ == "__main__":
    try:
        node_harness.main()
    finally:
        if MEDIA:
            shutil.rmtree(MEDIA, ignore_errors=True)
