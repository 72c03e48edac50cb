#!/usr/bin/env python3
"""`clips@1` end to end through a real node, on a local test channel (issue 16).

Usage: node_clips_test.py OMNIVA_BINARY REPO_DIR

The channel: two videos of 6 s made once for the file by
tests/content/media.py (`make_channel`: scene cuts, espeak-ng speech with
"omniva", a drawn face; the first video with English subtitles), run by
Debian's /usr/bin/python3 (it has cv2) and served on 127.0.0.1 by
tests/content/channel_server.py. A node (its HOME a folder of the case, so
editor@1's render cache is the case's) runs modules/pipelines/clips@1.json
on a ScraperJob whose range takes both videos: scraper@1 -> per video
analyzer@1 -> Pantheon's top 2 candidates of that video -> editor@1.

1. The run ends DONE, and what it made is checked against what it read:
   - one scrape; one analyze task per scraped video (the i-th video to
     branch i), each AnalysisResult valid (its required fields, ranges and
     closed members, checked here in Python; candidates still unvoted) and
     naming the video the scraper named;
   - per video one `advice.pantheon` (personas@1; its report asset holds the
     same report) and one `decision.zenith` fan_out (select pantheon, its
     evidence the advice): the report is recomputed here from the analysis
     (every persona's vote from the documented features and weights, the
     consensus, dissent, Lattice's priority, the ranking; rows sorted by
     (candidate, agent)), and the kept candidates are the top 2 by
     consensus (fewer when fewer), in the video's order;
   - per kept candidate one edit task in branch <video>/<j>, given the
     video and captions of its branch and a VALUE asset: the candidate with
     its `pantheon_votes` (the three personas), `lattice_priority` in [0, 1]
     and `clip_id` (the decision's promoted id) filled in, still a valid
     ClipCandidate; its EditJob and edit summary have that `clip_id`; its
     clip is an H.264/AAC MP4, 1080x1920, as long as the candidate
     (+-0.15 s, ffprobe: the file and its picture);
   - every task created once (one `task.created`), one `run.done`; the run's
     outputs list the clips and analyses in branch order;
   - the explanation (`GET /api/runs/{id}/explain`) cites every fan-out
     decision and says the edit fan-outs were selected by Pantheon;
   - identical ballots get identical votes (any candidate seen twice with
     the same analysis context, across videos or across the two cases);
   - `omniva lineage verify` (the harness, before and after the node stops).
2. The node is SIGKILLed as soon as an analyze task runs (the scrape done,
   the fan-out over the videos decided, Pantheon not yet asked) and
   restarted on the same data folder: the tasks made before the kill are
   the same after it, the run finishes DONE exactly once with everything of
   case 1 checked again (one task per (step, branch), one fan_out decision
   per (step, branch) in the lineage, no duplicate edit task or clip id),
   the attempts the kill interrupted ran again, and the same number of
   videos, analyses and clips as case 1 (when case 1 ran in this process).

No timing assertions: every wait polls with a generous deadline.
"""

import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)
from node_pipelines_test import PipelineCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "content"))
import channel_server  # noqa: E402

DEBIAN_PYTHON = "/usr/bin/python3"  # has python3-opencv (media.py draws the face)
VIDEOS = 2
SECONDS = 6  # media.py's shortest (the sentence must fit)
TOP = 2  # clips@1's `select: {"by": "pantheon", "top": 2}`
RUN_TIMEOUT = 150
PERSONAS = ("exploratory_push", "risk_mitigation", "trend_chasing")

# personas@1 (contracts/pantheon.hpp, docs/engines.md): feature weights; each
# persona's vote is the weighted mean of its features, each counts 1 in the
# consensus.
PERSONA_FEATURES = {
    "risk_mitigation": {"confidence": 0.5, "faces": 0.3, "relevance": 0.2},
    "exploratory_push": {"tags": 0.4, "virality": 0.3, "uncertainty": 0.3},
    "trend_chasing": {"virality": 0.4, "keyword": 0.3, "brevity": 0.3},
}
# The report's numbers are rounded to 1e-6; features are rounded before
# they are weighed, so a recomputed vote may differ in the last digits.
TOL = 5e-5
DURATION_TOL = 0.15

ANALYSIS_FIELDS = {"video_id", "transcript", "keywords_detected", "virality_score",
                   "relevance_score", "clip_candidates"}
ANALYSIS_OPTIONAL = {"_meta_parents", "generated_at"}
CANDIDATE_FIELDS = {"start_time", "end_time", "confidence", "subject_focus",
                    "faces_detected", "semantic_tags", "pantheon_votes", "lattice_priority"}
EDIT_JOB_FIELDS = {"clip_id", "operations", "ffmpeg_commands", "gpu_required",
                   "estimated_duration"}


def scraper_job(target):
    """A ScraperJob whose range takes both videos (dated 2024-01-01 and -02)."""
    now = "2024-05-01T00:00:00Z"
    return {"job_id": str(uuid.uuid4()), "creator_id": str(uuid.uuid4()),
            "platform": "other", "target_url": target,
            "requested_range": {"since": "2024-01-01T00:00:00Z",
                                "until": "2024-01-02T23:59:59Z"},
            "status": "PENDING", "created_at": now, "updated_at": now,
            "schema_version": "1.0.0"}


def ffprobe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                          "-of", "json", path], capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout)


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def features_of(candidate, analysis):
    """Pantheon's features of a candidate (contracts/pantheon.hpp, `feature_names`)."""
    d = candidate["end_time"] - candidate["start_time"]
    brevity = 1.0 if d <= 15 else max(0.0, 1 - (d - 15) / 45)
    keywords = analysis["keywords_detected"]
    tags = candidate["semantic_tags"]
    keyword = any(t in keywords or any(t == "keyword:" + k for k in keywords) for t in tags)
    return {"confidence": candidate["confidence"],
            "uncertainty": 1 - candidate["confidence"],
            "faces": min(candidate["faces_detected"], 3) / 3,
            "brevity": brevity,
            "tags": min(len(tags), 5) / 5,
            "keyword": 1.0 if keyword else 0.0,
            "virality": analysis["virality_score"],
            "relevance": analysis["relevance_score"]}


def expected_votes(candidate, analysis):
    f = features_of(candidate, analysis)
    return {agent: sum(w * f[name] for name, w in weights.items()) / sum(weights.values())
            for agent, weights in PERSONA_FEATURES.items()}


class ClipsCase(PipelineCase):
    """A node with the shipped modules (clips@1 among the pipelines), a
    HOME of its own, and the test channel served."""

    maxDiff = None
    # Four workers of 2 CPUs and 2 GB: analyzer@1 asks 2 CPUs, editor@1 2 GB.
    pool = "default:4:2:2"
    # What case 1 saw (case 2 compares its counts) and every ballot seen:
    # {canonical (candidate, context): votes}.
    seen_counts = None
    ballots = {}

    @classmethod
    def setUpClass(cls):
        cls.channel_root = tempfile.mkdtemp(prefix="omniva-clips-channel-")
        folder = os.path.join(cls.channel_root, "channel")
        try:
            r = subprocess.run([DEBIAN_PYTHON, os.path.join(node_harness.REPO, "tests",
                                                             "content", "media.py"),
                                "--out", folder, "--videos", str(VIDEOS),
                                "--seconds", str(SECONDS)],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise AssertionError(f"media.py failed:\n{r.stdout}{r.stderr}")
        except BaseException:
            shutil.rmtree(cls.channel_root, ignore_errors=True)
            raise
        cls.channel = folder

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.channel_root, ignore_errors=True)

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="omniva-clips-home-")
        self.addCleanup(shutil.rmtree, self.home, True)
        with self.node_home():
            super().setUp()
        self.url, stop = channel_server.start(self.channel)
        self.addCleanup(stop)

    @contextlib.contextmanager
    def node_home(self):
        """HOME is the case's folder while a node starts (the node passes its
        HOME to modules: editor@1's cache goes there)."""
        old = os.environ.get("HOME")
        os.environ["HOME"] = self.home
        try:
            yield
        finally:
            if old is None:
                del os.environ["HOME"]
            else:
                os.environ["HOME"] = old

    def kill_and_restart(self):
        self.node.kill()  # SIGKILL
        self.assertEqual(self.node.proc.returncode, -signal.SIGKILL)
        with self.node_home():
            self.node.start()

    # -- reading ------------------------------------------------------------------

    def start_clips(self):
        return self.start("clips@1", values={"job": scraper_job(self.url)})["run_id"]

    def running(self, run_id, step):
        """The tasks of `step` RUNNING now (the run must still run)."""
        run = self.get_run(run_id)
        self.assertEqual(run["status"], "RUNNING", f"waiting for {step}: {json.dumps(run)}")
        return [t for t in run["task_ids"] if t["step"] == step and t["status"] == "RUNNING"]

    # -- schema checks (the closed core schemas, in Python) -------------------------

    def check_candidate(self, c, where, annotated):
        """A valid ClipCandidate; `annotated`: Pantheon's fields filled in."""
        allowed = CANDIDATE_FIELDS | {"clip_id"}
        self.assertTrue(CANDIDATE_FIELDS <= set(c), f"{where}: fields missing: {c}")
        self.assertTrue(set(c) <= allowed, f"{where}: members beyond the schema: {c}")
        self.assertTrue(is_number(c["start_time"]) and c["start_time"] >= 0, f"{where}: {c}")
        self.assertTrue(is_number(c["end_time"]) and c["end_time"] > c["start_time"],
                        f"{where}: {c}")
        self.assertTrue(is_number(c["confidence"]) and 0 <= c["confidence"] <= 1, f"{where}: {c}")
        self.assertIsInstance(c["subject_focus"], str)
        self.assertTrue(isinstance(c["faces_detected"], int)
                        and not isinstance(c["faces_detected"], bool)
                        and c["faces_detected"] >= 0, f"{where}: {c}")
        tags = c["semantic_tags"]
        self.assertTrue(isinstance(tags, list) and all(isinstance(t, str) for t in tags)
                        and len(set(tags)) == len(tags), f"{where}: {c}")
        votes = c["pantheon_votes"]
        self.assertIsInstance(votes, dict)
        for agent, v in votes.items():
            self.assertRegex(agent, r"^[a-z_]+$")
            self.assertTrue(is_number(v) and 0 <= v <= 1, f"{where}: {c}")
        self.assertTrue(is_number(c["lattice_priority"]) and 0 <= c["lattice_priority"] <= 1,
                        f"{where}: {c}")
        if annotated:
            self.assertEqual(sorted(votes), sorted(PERSONAS), f"{where}: {c}")
            self.assertRegex(c.get("clip_id", ""), UUID, f"{where}: {c}")
        else:
            self.assertEqual(votes, {}, f"{where}: an unvoted candidate: {c}")
            self.assertEqual(c["lattice_priority"], 0, f"{where}: {c}")
            self.assertNotIn("clip_id", c, f"{where}: {c}")

    def check_analysis(self, doc, where):
        self.assertIsInstance(doc, dict)
        self.assertTrue(ANALYSIS_FIELDS <= set(doc), f"{where}: fields missing: {sorted(doc)}")
        self.assertTrue(set(doc) <= ANALYSIS_FIELDS | ANALYSIS_OPTIONAL,
                        f"{where}: members beyond the schema: {sorted(doc)}")
        self.assertNotIn("_meta_parents", doc, f"{where}: lineage is the node's")
        self.assertRegex(doc["video_id"], UUID)
        self.assertIsInstance(doc["transcript"], str)
        self.assertTrue(isinstance(doc["keywords_detected"], list)
                        and all(isinstance(k, str) for k in doc["keywords_detected"]), where)
        for key in ("virality_score", "relevance_score"):
            self.assertTrue(is_number(doc[key]) and 0 <= doc[key] <= 1, f"{where}: {key}")
        self.assertIsInstance(doc["clip_candidates"], list)
        self.assertGreater(len(doc["clip_candidates"]), 0, f"{where}: no candidate")
        for i, c in enumerate(doc["clip_candidates"]):
            self.check_candidate(c, f"{where} candidate {i}", annotated=False)

    # -- Pantheon's report, recomputed ------------------------------------------------

    def check_report(self, report, analysis, where):
        """The report on `analysis`'s candidates, recomputed from them; returns
        the kept indices (the top `TOP` by consensus, in their order)."""
        cands = analysis["clip_candidates"]
        n = len(cands)
        self.assertEqual(report["personas"], "personas@1", where)
        rows = report["rows"]
        keys = [(r["candidate"], r["agent"]) for r in rows]
        self.assertEqual(keys, sorted(keys), f"{where}: rows not sorted by (candidate, agent)")
        self.assertEqual(keys, [(i, a) for i in range(n) for a in sorted(PERSONAS)], where)
        votes = {}
        for r in rows:
            self.assertTrue(set(r) == {"candidate", "agent", "vote", "confidence", "commentary"},
                            f"{where}: {r}")
            self.assertTrue(0 <= r["vote"] <= 1 and 0 <= r["confidence"] <= 1, f"{where}: {r}")
            self.assertTrue(isinstance(r["commentary"], str) and r["commentary"].strip(), r)
            votes.setdefault(r["candidate"], {})[r["agent"]] = r["vote"]
        for i, c in enumerate(cands):
            want = expected_votes(c, analysis)
            for agent in PERSONAS:
                self.assertAlmostEqual(votes[i][agent], want[agent], delta=TOL,
                                       msg=f"{where}: candidate {i} {agent}: features "
                                           f"{features_of(c, analysis)}")
            # Identical ballots, identical votes (across videos and cases).
            key = json.dumps([c, analysis["keywords_detected"], analysis["virality_score"],
                              analysis["relevance_score"]], sort_keys=True)
            before = ClipsCase.ballots.setdefault(key, votes[i])
            self.assertEqual(before, votes[i], f"{where}: candidate {i} voted otherwise before")
        verdicts = report["candidates"]
        self.assertEqual([v["candidate"] for v in verdicts], list(range(n)), where)
        for v in verdicts:
            i = v["candidate"]
            self.assertEqual(v["votes"], votes[i], f"{where}: verdict {i} and its rows")
            consensus = sum(votes[i].values()) / len(votes[i])  # every weight 1
            self.assertAlmostEqual(v["consensus"], consensus, delta=2e-6, msg=f"{where}: {v}")
            dissent = max(abs(x - v["consensus"]) for x in votes[i].values())
            self.assertAlmostEqual(v["dissent"], dissent, delta=2e-6, msg=f"{where}: {v}")
            self.assertAlmostEqual(abs(votes[i][v["dissenter"]] - v["consensus"]), v["dissent"],
                                   delta=2e-6, msg=f"{where}: the dissenter of {v}")
            # Lattice: the consensus discounted by half the dissent.
            priority = v["consensus"] * (1 - v["dissent"] / 2)
            self.assertAlmostEqual(v["lattice_priority"], priority, delta=2e-6, msg=f"{where}: {v}")
            self.assertTrue(0 <= v["lattice_priority"] <= 1, v)
            # Unvoted candidates start at priority 0.
            self.assertAlmostEqual(v["priority_delta"], v["lattice_priority"], delta=2e-6,
                                   msg=f"{where}: {v}")
        ranking = sorted(range(n), key=lambda i: (-verdicts[i]["consensus"], i))
        self.assertEqual(report["ranking"], ranking, where)
        return sorted(ranking[:TOP])

    # -- a finished run -----------------------------------------------------------------

    def check_clips_run(self, run_id):
        """Everything case 1 lists, on a DONE run; returns
        (run, tasks, {(step, branch): [fan_out decision packets]}, counts)."""
        run = self.wait_done(run_id, timeout=RUN_TIMEOUT)
        self.assertEqual(run["missing"], [], run)
        tasks = self.run_tasks(run)
        self.check_run_tasks(run, tasks)
        for t in tasks:
            self.assertEqual(t["status"], "DONE", t)
        packets = self.trace_packets(run_id)

        # The scrape: both videos, with their metadata.
        scrape = self.by_step(tasks, "scrape")
        self.assertEqual(sorted(scrape), [""])
        videos = self.list_elements(scrape[""]["outputs"]["videos"])
        metadata = self.list_elements(scrape[""]["outputs"]["metadata"])
        self.assertEqual(len(videos), VIDEOS, videos)
        self.assertEqual(len(metadata), VIDEOS, metadata)
        meta = [self.content(m) for m in metadata]

        # One analysis per video, in the scrape's order.
        analyze = self.by_step(tasks, "analyze")
        self.assertEqual(sorted(analyze), [str(i) for i in range(VIDEOS)])
        analyses = {}
        for i in range(VIDEOS):
            b = str(i)
            t = analyze[b]
            self.assertEqual(t["input_mapping"]["video"], videos[i], t)
            doc = self.content(t["outputs"]["result"])
            self.check_analysis(doc, f"analysis {b}")
            self.assertEqual(doc["video_id"], meta[i]["video_id"], f"analysis {b}")
            analyses[b] = doc

        # The fan-out decisions: one per (step, branch).
        fan_outs = {}
        for p in packets:
            if p["kind"] == "decision.zenith" and p["payload"].get("decision") == "fan_out":
                fan_outs.setdefault((p["payload"]["step"], p["payload"]["branch"]), []).append(p)
        self.assertEqual(sorted(fan_outs),
                         [("analyze", "")] + [("edit", str(i)) for i in range(VIDEOS)])
        for key, ps in fan_outs.items():
            self.assertEqual(len(ps), 1, f"fan-out {key} decided {len(ps)} times: "
                                         f"{[p['id'] for p in ps]}")
        self.assertEqual(fan_outs[("analyze", "")][0]["payload"]["kept"], list(range(VIDEOS)))

        edit = self.by_step(tasks, "edit")
        clip_ids, clips, kept_total = set(), [], 0
        for i in range(VIDEOS):
            b = str(i)
            analysis, cands = analyses[b], analyses[b]["clip_candidates"]
            decision = fan_outs[("edit", b)][0]
            d = decision["payload"]
            self.assertEqual((d["engine"], d["select"], d["list"], d["elements"], d["run_id"]),
                             ("pipeline", "pantheon", analyze[b]["outputs"]["result"],
                              len(cands), run_id), d)
            # Pantheon's advice on this video's ballot (recorded again only if
            # a crash came between advice and decision: then the same report).
            advice = [p for p in packets if p["kind"] == "advice.pantheon"
                      and p["payload"].get("step") == "edit" and p["payload"].get("branch") == b]
            self.assertGreaterEqual(len(advice), 1, f"no advice.pantheon for branch {b}")
            for a in advice[1:]:
                self.assertEqual(a["payload"]["report"], advice[0]["payload"]["report"])
            cited = set(d.get("evidence", [])) | set(decision.get("_meta_parents", []))
            used = [a for a in advice if a["id"] in cited]
            self.assertEqual(len(used), 1, f"the decision of branch {b} cites no advice: {d}")
            a = used[0]["payload"]
            self.assertEqual((a["engine"], a["run_id"], a["list"], a["personas"]),
                             ("pantheon", run_id, d["list"], "personas@1"), a)
            self.assertEqual(d.get("report_asset"), a["report_asset"], d)
            report_asset, _ = self.asset_file(a["report_asset"])
            self.assertEqual(report_asset["media_type"], "application/json", report_asset)
            self.assertEqual(self.content(a["report_asset"]), a["report"],
                             "the report asset and the advice differ")
            kept = self.check_report(a["report"], analysis, f"report of video {b}")
            self.assertEqual(d["kept"], kept, f"branch {b}: kept by the decision")
            self.assertEqual(len(kept), min(TOP, len(cands)))
            self.assertEqual(len(d["promoted"]), len(kept), d)
            kept_total += len(kept)
            verdicts = a["report"]["candidates"]

            branches = sorted(k for k in edit if k.split("/")[0] == b)
            self.assertEqual(branches, [f"{b}/{j}" for j in range(len(kept))], f"video {b}")
            for j, index in enumerate(kept):
                t = edit[f"{b}/{j}"]
                where = f"edit {b}/{j} (candidate {index})"
                self.assertEqual(t["input_mapping"]["video"], analyze[b]["input_mapping"]["video"])
                self.assertEqual(t["input_mapping"]["captions"], analyze[b]["outputs"]["captions"])
                cand_asset = self.asset(t["input_mapping"]["candidate"])
                self.assertEqual((cand_asset["kind"], cand_asset["dtype"], cand_asset["status"]),
                                 ("VALUE", "json", "AVAILABLE"), cand_asset)
                cand = self.content(t["input_mapping"]["candidate"])
                self.assertEqual(cand_asset["value"], cand, where)
                self.check_candidate(cand, where, annotated=True)
                # The analysis's candidate, with Pantheon's verdict and the id
                # Zenith promoted it under.
                self.assertEqual({k: v for k, v in cand.items()
                                  if k not in ("pantheon_votes", "lattice_priority", "clip_id")},
                                 {k: v for k, v in cands[index].items()
                                  if k not in ("pantheon_votes", "lattice_priority")}, where)
                self.assertEqual(cand["pantheon_votes"], verdicts[index]["votes"], where)
                self.assertEqual(cand["lattice_priority"], verdicts[index]["lattice_priority"])
                self.assertEqual(cand["clip_id"], d["promoted"][j], where)
                self.assertNotIn(cand["clip_id"], clip_ids, f"{where}: a clip id twice")
                clip_ids.add(cand["clip_id"])
                job = self.content(t["outputs"]["edit_job"])
                self.assertTrue(EDIT_JOB_FIELDS <= set(job), f"{where}: {sorted(job)}")
                self.assertEqual(job["clip_id"], cand["clip_id"], where)
                summary = self.content(t["outputs"]["edit_summary"])
                self.assertEqual((summary["clip_id"], summary["clip_id_source"]),
                                 (cand["clip_id"], "candidate"), where)
                # The clip: H.264/AAC, 1080x1920, as long as the candidate.
                clip_asset, path = self.asset_file(t["outputs"]["clip"])
                self.assertEqual(clip_asset["media_type"], "video/mp4", clip_asset)
                probe = ffprobe(path)
                v = [s for s in probe["streams"] if s["codec_type"] == "video"]
                au = [s for s in probe["streams"] if s["codec_type"] == "audio"]
                self.assertEqual(len(v), 1, probe["streams"])
                self.assertEqual((v[0]["codec_name"], v[0]["width"], v[0]["height"]),
                                 ("h264", 1080, 1920), where)
                self.assertEqual([s["codec_name"] for s in au], ["aac"], where)
                self.assertIn("mp4", probe["format"]["format_name"], where)
                want = cand["end_time"] - cand["start_time"]
                self.assertAlmostEqual(float(probe["format"]["duration"]), want,
                                       delta=DURATION_TOL, msg=where)
                self.assertAlmostEqual(float(v[0]["duration"]), want, delta=DURATION_TOL,
                                       msg=f"{where}: the picture")
                clips.append(t["outputs"]["clip"])

        # No other edit task, no clip twice, every task created once.
        self.assertEqual(len(edit), kept_total, sorted(edit))
        self.assertEqual(len(set(clips)), len(clips))
        self.assertEqual(len(tasks), 1 + VIDEOS + kept_total)
        created = self.created_packets(run_id, [t["task_id"] for t in tasks])
        self.assertEqual({t: len(ps) for t, ps in created.items()},
                         {t["task_id"]: 1 for t in tasks})
        self.assertEqual([p["kind"] for p in packets].count("run.done"), 1)
        outputs = run["outputs"]
        self.assertEqual(outputs["clips"], [edit[k]["outputs"]["clip"] for k in sorted(edit)])
        self.assertEqual(outputs["analyses"],
                         [analyze[str(i)]["outputs"]["result"] for i in range(VIDEOS)])
        self.assertEqual(outputs["videos"], scrape[""]["outputs"]["metadata"])
        counts = {"videos": len(videos), "analyses": len(analyses), "clips": len(clips)}
        return run, tasks, fan_outs, counts


class ClipsPipelineTest(ClipsCase):

    def test_1_clips_on_the_test_channel(self):
        run_id = self.start_clips()
        run, tasks, fan_outs, counts = self.check_clips_run(run_id)
        ClipsCase.seen_counts = counts

        # The run explained: HaloLux cites every fan-out decision, says the
        # edit fan-outs were Pantheon's selection, and how the personas voted
        # on each video's candidates (its advice.pantheon, with the report).
        status, doc = self.get(f"/api/runs/{run_id}/explain")
        self.assertEqual(status, 200, doc)
        self.assertTrue(doc["narrative"].strip(), doc)
        self.assertEqual(doc.get("missing"), [], doc)
        statements = {step["packet_id"]: step["statement"] for step in doc["chain"]}
        for packet_id in statements:
            self.assertIn("kind", self.get_ok(f"/api/lineage/{packet_id}")["packet"])
        for (step, branch), (decision,) in fan_outs.items():
            self.assertIn(decision["id"], statements,
                          f"the explanation cites no fan-out decision of {step} {branch!r}: "
                          f"{doc['narrative']}")
            if step == "edit":
                self.assertRegex(statements[decision["id"]], re.compile("pantheon", re.I))
                voted = [text for text in statements.values()
                         if text.startswith("Pantheon's personas (personas@1) voted on")
                         and f"of step edit in branch {branch} " in text]
                self.assertEqual(len(voted), 1, doc["narrative"])
                self.assertIn(decision["payload"]["report_asset"], voted[0])
                self.assertIn("by consensus candidate", voted[0])
        self.finish()

    def test_2_a_kill_while_analysing_finishes_the_run_once(self):
        run_id = self.start_clips()
        # Killed as soon as an analysis runs: the scrape is done and the
        # fan-out over its videos decided; little work is lost to the kill.
        killed = wait_until(lambda: self.running(run_id, "analyze"), RUN_TIMEOUT,
                            "an analyze task to run")
        before = self.get_run(run_id)
        before_tasks = {(t["step"], t["branch"]): t["task_id"] for t in before["task_ids"]}
        # Any candidate Zenith promoted before the kill (a VALUE asset) stays
        # the one its edit task takes.
        promoted = {(t["step"], t["branch"]): self.task(t["task_id"])["input_mapping"]["candidate"]
                    for t in before["task_ids"] if t["step"] == "edit"}
        self.kill_and_restart()
        after = {(t["step"], t["branch"]): t["task_id"]
                 for t in self.get_run(run_id)["task_ids"]}
        for key, task_id in before_tasks.items():
            self.assertEqual(after.get(key), task_id, f"{key} after the restart")

        run, tasks, fan_outs, counts = self.check_clips_run(run_id)
        for key, asset_id in promoted.items():
            t = [t for t in tasks if (t["step"], t["branch"]) == key][0]
            self.assertEqual(t["input_mapping"]["candidate"], asset_id, key)
        # The attempts the kill interrupted ran again.
        for k in killed:
            t = self.task(k["task_id"])
            self.assertEqual(t["status"], "DONE", t)
            self.assertGreaterEqual(t["attempt"], 2, t)
        if ClipsCase.seen_counts is not None:
            self.assertEqual(counts, ClipsCase.seen_counts)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
