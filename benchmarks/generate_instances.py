#!/usr/bin/env python3
"""Generates NDJSON instances of the six core schemas for the validation benchmarks.

For each schema (ScraperJob, AnalysisResult, ClipCandidate, EditJob, UploadJob,
ScheduleTask) writes OUT/<Schema>.ndjson: N documents, one per line, of about
0.3-2 KB each, that look like what the pipeline really exchanges (uuids,
RFC 3339 date-times, https URIs, transcripts, tags, clip candidates, ffmpeg
command lines). About 80% are valid; the rest carry exactly one defect each,
drawn from the defects the schema can have: a wrong enum value, a missing
required property, an extra property, a malformed uuid / date-time / URI, a
number out of range, a string too long, a duplicate in a uniqueItems array,
a wrong type, a pattern mismatch.

The output depends only on --seed and --count (Python 3 standard library
only; no clock, no os.urandom), so two runs compare the same bytes.

usage: generate_instances.py [--out DIR] [--count N] [--seed S]
                             [--invalid-ratio R] [--schemas A,B,...]
"""

import argparse
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone

SCHEMAS = ["AnalysisResult", "ClipCandidate", "EditJob", "ScheduleTask",
           "ScraperJob", "UploadJob"]

MIN_BYTES = 300
MAX_BYTES = 2000

# -- vocabulary ----------------------------------------------------------------

WORDS = (
    "creator audience hook retention loop trend sound remix edit cut frame "
    "clip story moment reaction product review unboxing tutorial recipe "
    "workout travel vlog podcast interview highlight montage transition "
    "caption subtitle thumbnail channel upload schedule analytics growth "
    "brand sponsor launch preview behind scenes challenge duet stitch live "
    "stream episode season teaser drop collab studio camera lighting mic"
).split()

# Distinct by construction: tags drawn from here never repeat inside one array.
TAG_POOL = sorted(set(WORDS) | {f"{a}_{b}" for a, b in zip(WORDS[::3], WORDS[1::3])})

SENTENCES = [
    "Okay so today we are finally testing the thing everyone asked about.",
    "If you stick around to the end there is a surprise you will not expect.",
    "Honestly I did not think this would work, but look at that result.",
    "Let me show you the three mistakes I made when I started editing.",
    "This is the part where most people give up, so pay attention here.",
    "We tried it five times and the fourth attempt was the one that worked.",
    "Comment below which version you liked better, the first or the second.",
    "The lighting setup costs less than forty dollars and it changes everything.",
    "My guest today has grown a channel from zero to two million in a year.",
    "Watch what happens when we slow the footage down to a quarter speed.",
    "That's the secret: consistency beats intensity every single time.",
    "Quick disclaimer, this episode is sponsored, but the opinions are mine.",
    "We're live from the studio and the chat is already going wild.",
    "Here's the recipe, and yes, you can swap the butter for olive oil.",
    "The crowd went silent for a second and then everybody started cheering.",
    "Ça marche très bien, merci à tous pour vos messages 🙏",
    "Pro tip: record the voice-over first and cut the b-roll to it.",
    "Nobody talks about the boring part of the job, so let's talk about it.",
]

SUBJECTS = ["creator", "guest", "product", "audience", "host", "pet",
            "landscape", "food", "screen_recording", "crowd"]

PERSONAS = ["zenith", "horizon", "oracle", "archivist", "critic",
            "trend_scout", "brand_guardian", "editor_prime"]

PLATFORM_HOSTS = {
    "tiktok": "www.tiktok.com",
    "instagram": "www.instagram.com",
    "youtube": "www.youtube.com",
    "other": "vimeo.com",
}

TITLES = [
    "I tried the viral {w} trick for 30 days",
    "The {w} nobody talks about 😳",
    "Why your {w} is not growing (and how to fix it)",
    "{w} vs {w2}: which one actually works?",
    "We rebuilt our {w} from scratch — full breakdown",
    "The ultimate {w} guide for beginners 🎬",
    "Reacting to your best {w} moments",
]

OPERATIONS = ["trim", "crop_vertical", "reframe_subject", "denoise_audio",
              "normalize_loudness", "burn_captions", "color_grade",
              "add_intro", "add_outro", "speed_ramp", "stabilize",
              "overlay_logo", "generate_thumbnail", "transcode_h264"]

DISTRIBUTION = ["tiktok", "instagram_reels", "youtube_shorts", "facebook",
                "snapchat_spotlight", "pinterest", "x"]

BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)


# -- building blocks -----------------------------------------------------------

class Gen:
    """Random building blocks for one deterministic stream."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    def uuid(self):
        """A version-4 uuid, lowercase, as Python's uuid4() would print it."""
        b = bytearray(self.r.getrandbits(8) for _ in range(16))
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        h = b.hex()
        return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def instant(self, after=None, within_days=365):
        """A moment up to within_days after `after` (default: 2024-01-01 UTC)."""
        start = after or BASE_TIME
        return start + timedelta(seconds=self.r.randint(60, within_days * 86400))

    def date_time(self, t=None):
        """An RFC 3339 date-time of t (default: a random instant): UTC 'Z' or a
        numeric offset, sometimes with milliseconds."""
        t = t or self.instant()
        style = self.r.random()
        if style < 0.5:
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")
        if style < 0.75:
            return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.r.randint(0, 999):03d}Z"
        offset = self.r.choice([-8, -5, -3, 1, 2, 5.5, 9])
        hours = int(offset)
        minutes = int(abs(offset - hours) * 60)
        local = t + timedelta(hours=hours, minutes=minutes if hours >= 0 else -minutes)
        sign = "+" if offset >= 0 else "-"
        return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(hours):02d}:{minutes:02d}"

    def word(self):
        return self.r.choice(WORDS)

    def words(self, lo, hi):
        return [self.word() for _ in range(self.r.randint(lo, hi))]

    def tags(self, lo, hi):
        """Distinct tags (uniqueItems holds)."""
        n = self.r.randint(lo, hi)
        return self.r.sample(TAG_POOL, n)

    def transcript(self, lo, hi):
        return " ".join(self.r.choice(SENTENCES) for _ in range(self.r.randint(lo, hi)))

    def score(self):
        return round(self.r.random(), self.r.choice([2, 3, 4]))

    def slug(self, n=8):
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def yt_id(self):
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        return "".join(self.r.choice(alphabet) for _ in range(11))

    def storage_uri(self):
        return (f"https://storage.omniva.example/clips/{self.uuid()}/"
                f"{self.r.choice(['render', 'final', 'preview'])}_"
                f"{self.r.choice(['1080x1920', '720x1280', '1920x1080'])}.mp4")


# -- valid documents, one builder per schema ----------------------------------

def clip_candidate(g):
    start = round(g.r.uniform(0, 1800), 2)
    doc = {
        "start_time": start,
        "end_time": round(start + g.r.uniform(5, 90), 2),
        "confidence": g.score(),
        "subject_focus": g.r.choice(SUBJECTS),
        "faces_detected": g.r.randint(0, 6),
        "semantic_tags": g.tags(2, 8),
        "pantheon_votes": {p: g.score() for p in g.r.sample(PERSONAS, g.r.randint(2, 6))},
        "lattice_priority": g.score(),
    }
    if g.r.random() < 0.5:
        doc["clip_id"] = g.uuid()
    return doc


def analysis_result(g):
    doc = {
        "video_id": g.uuid(),
        "transcript": g.transcript(2, 7),
        "keywords_detected": g.words(3, 10),
        "virality_score": g.score(),
        "relevance_score": g.score(),
        "clip_candidates": [clip_candidate(g) for _ in range(g.r.randint(1, 3))],
    }
    if g.r.random() < 0.6:
        doc["_meta_parents"] = [g.uuid() for _ in range(g.r.randint(1, 3))]
    if g.r.random() < 0.8:
        doc["generated_at"] = g.date_time()
    # Keep to the size band: drop candidates, then shorten the transcript.
    while size(doc) > MAX_BYTES and len(doc["clip_candidates"]) > 1:
        doc["clip_candidates"].pop()
    while size(doc) > MAX_BYTES:
        doc["transcript"] = doc["transcript"][: len(doc["transcript"]) * 3 // 4]
    return doc


def ffmpeg_command(g, clip):
    start = round(g.r.uniform(0, 1200), 2)
    dur = round(g.r.uniform(8, 60), 2)
    vf = g.r.choice([
        "scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920",
        "crop=ih*9/16:ih,scale=1080:1920,eq=contrast=1.05:saturation=1.1",
        "scale=720:1280,subtitles=/work/tmp/{c}.srt:force_style='FontSize=18'",
        "fps=30,scale=1080:-2,unsharp=5:5:0.8",
    ]).format(c=clip)
    return (f"ffmpeg -hide_banner -y -ss {start} -t {dur} "
            f"-i /work/media/source/{clip}.mp4 -vf \"{vf}\" "
            f"-c:v {g.r.choice(['libx264', 'h264_nvenc', 'hevc_nvenc'])} "
            f"-preset {g.r.choice(['fast', 'medium', 'p4'])} -crf {g.r.randint(18, 26)} "
            f"-c:a aac -b:a 128k /work/media/out/{clip}_{g.slug(6)}.mp4")


def edit_job(g):
    clip = g.uuid()
    doc = {
        "clip_id": clip,
        "operations": g.r.sample(OPERATIONS, g.r.randint(2, 7)),
        "ffmpeg_commands": [ffmpeg_command(g, clip) for _ in range(g.r.randint(1, 4))],
        "gpu_required": g.r.random() < 0.4,
        "estimated_duration": g.r.randint(5, 900),
    }
    if g.r.random() < 0.7:
        doc["expected_outputs"] = [g.storage_uri() for _ in range(g.r.randint(1, 3))]
    while size(doc) > MAX_BYTES and len(doc["ffmpeg_commands"]) > 1:
        doc["ffmpeg_commands"].pop()
    return doc


def schedule_task(g):
    doc = {
        "clip_id": g.uuid(),
        "recommended_time": g.date_time(),
        "priority": g.score(),
        "horizon_adjustment": round(g.r.uniform(-1, 1), 3),
        "final_decision_source": g.r.choice(["zenith", "operator_override", "automation"]),
    }
    if g.r.random() < 0.8:
        notes = g.transcript(1, 4)
        doc["notes"] = notes[:512]
    if g.r.random() < 0.7:
        doc["_meta_parents"] = [g.uuid() for _ in range(g.r.randint(1, 6))]
    return doc


def scraper_job(g):
    platform = g.r.choice(list(PLATFORM_HOSTS))
    since = g.instant()
    created = g.instant(since, within_days=30)
    handle = f"@{g.word()}{g.word()}{g.r.randint(1, 9999)}"
    path = g.r.choice([f"/{handle}", f"/{handle}/videos", f"/channel/UC{g.yt_id()}{g.yt_id()}",
                       f"/{handle}/reels"])
    query = "&".join(f"{g.word()}={g.slug(g.r.randint(4, 12))}" for _ in range(g.r.randint(0, 5)))
    doc = {
        "job_id": g.uuid(),
        "creator_id": g.uuid(),
        "platform": platform,
        "target_url": f"https://{PLATFORM_HOSTS[platform]}{path}" + (f"?{query}" if query else ""),
        "requested_range": {"since": g.date_time(since),
                            "until": g.date_time(g.instant(since, within_days=60))},
        "status": g.r.choice(["PENDING", "RUNNING", "DONE", "ERROR", "CANCELLED"]),
        "created_at": g.date_time(created),
        "updated_at": g.date_time(g.instant(created, within_days=2)),
    }
    if g.r.random() < 0.7:
        doc["schema_version"] = g.r.choice(["1.0.0", "1.2.0", "1.0.1", "1.10.3"])
    return doc


def upload_job(g):
    w, w2 = g.word(), g.word()
    title = g.r.choice(TITLES).format(w=w, w2=w2)
    desc = g.transcript(2, 6) + "\n\n" + " ".join(f"#{t}" for t in g.tags(3, 8))
    doc = {
        "clip_id": g.uuid(),
        "title": title[:120],
        "description": desc,
        "keywords": g.tags(3, 15),
        "scheduled_time": g.date_time(),
        "privacy_status": g.r.choice(["public", "unlisted", "private"]),
    }
    if g.r.random() < 0.6:
        doc["yt_video_id"] = g.yt_id()
    if g.r.random() < 0.6:
        doc["distribution_targets"] = g.r.sample(DISTRIBUTION, g.r.randint(1, 4))
    return doc


BUILDERS = {
    "AnalysisResult": analysis_result,
    "ClipCandidate": clip_candidate,
    "EditJob": edit_job,
    "ScheduleTask": schedule_task,
    "ScraperJob": scraper_job,
    "UploadJob": upload_job,
}


# -- defects -------------------------------------------------------------------
#
# Each defect takes (g, doc) and breaks exactly one rule of the schema in place.
# Every one is unambiguous under JSON Schema 2020-12 with formats asserted, so
# two conforming validators must agree on it.

BAD_UUIDS = ["not-a-uuid", "3f2a9c1e-8b7d-4e6f-a1b2", "3f2a9c1e8b7d4e6fa1b2c3d4e5f60718",
             "zz2a9c1e-8b7d-4e6f-a1b2-c3d4e5f60718", "{3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f60718}",
             "3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f607189"]
BAD_DATE_TIMES = ["2024-13-05T10:00:00Z", "2024-02-30T08:15:00Z", "2024-06-01T25:10:00Z",
                  "2024-06-01", "June 1st 2024 10:00", "2024-06-01T10:61:00Z",
                  "2024/06/01T10:00:00Z", "2023-02-29T12:00:00+01:00"]
BAD_URIS = ["not a uri", "//cdn.example.com/clip.mp4", "clips/final.mp4",
            "www.tiktok.com/@someone"]


def set_in(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def defect_missing(*required):
    def missing_required(g, doc):
        del doc[g.r.choice(required)]
        return "missing_required"
    return missing_required


def defect_extra(g, doc):
    key = g.r.choice(["debug", "legacy_id", "videoId", "extra_notes", "tmp"])
    doc[key] = g.r.choice([True, g.slug(10), 42, {"note": g.word()}])
    return "extra_property"


def defect_set(kind, choices):
    """Sets one of the (path, make) pairs of choices(doc) to make(g): one defect of `kind`."""
    def f(g, doc):
        path, make = g.r.choice(choices(doc))
        set_in(doc, path, make(g))
        return kind
    return f


def pick(values):
    return lambda g: g.r.choice(values)


def uuid_paths(*keys):
    """The uuid-valued places of a document: the given keys and the items of _meta_parents."""
    def paths(doc):
        out = [([k], pick(BAD_UUIDS)) for k in keys]
        out += [(["_meta_parents", i], pick(BAD_UUIDS))
                for i in range(len(doc.get("_meta_parents", [])))]
        return out
    return paths


def out_of_unit(g):
    return g.r.choice([-0.01, 1.01, 1.5, 2, -3, 17.25])


def candidate_defects(doc_of):
    """The defects of one ClipCandidate, found in a document by doc_of(doc)."""

    def duplicate_item(g, doc):
        tags = doc_of(doc)["semantic_tags"]
        tags.insert(g.r.randint(0, len(tags)), g.r.choice(tags))
        return "duplicate_item"

    def missing_required(g, doc):
        del doc_of(doc)[g.r.choice(["start_time", "end_time", "confidence", "subject_focus",
                                    "faces_detected", "semantic_tags", "pantheon_votes",
                                    "lattice_priority"])]
        return "missing_required"

    def extra_property(g, doc):
        doc_of(doc)["thumbnail_url"] = g.storage_uri()
        return "extra_property"

    def out_of_range(g, doc):
        c = doc_of(doc)
        which = g.r.choice(["confidence", "lattice_priority", "start_time", "end_time",
                            "faces_detected", "vote"])
        if which == "start_time":
            c["start_time"] = -round(g.r.uniform(0.5, 30), 2)
        elif which == "end_time":
            c["end_time"] = 0
        elif which == "faces_detected":
            c["faces_detected"] = -1
        elif which == "vote":
            c["pantheon_votes"][g.r.choice(list(c["pantheon_votes"]))] = out_of_unit(g)
        else:
            c[which] = out_of_unit(g)
        return "out_of_range"

    def wrong_type(g, doc):
        c = doc_of(doc)
        which = g.r.randrange(6)
        if which == 0:
            c["faces_detected"] = c["faces_detected"] + 0.5
        elif which == 1:
            c["faces_detected"] = str(c["faces_detected"])
        elif which == 2:
            c["semantic_tags"] = ",".join(c["semantic_tags"])
        elif which == 3:
            c["pantheon_votes"] = list(c["pantheon_votes"].values())
        elif which == 4:
            c["subject_focus"] = 3
        else:
            c["confidence"] = str(c["confidence"])
        return "wrong_type"

    def bad_uuid(g, doc):
        doc_of(doc)["clip_id"] = g.r.choice(BAD_UUIDS)
        return "bad_uuid"

    return [duplicate_item, missing_required, extra_property, out_of_range, wrong_type,
            bad_uuid]


def bad_output_uri(g, doc):
    outputs = doc.setdefault("expected_outputs", [g.storage_uri()])
    outputs[g.r.randrange(len(outputs))] = g.r.choice(BAD_URIS)
    return "bad_uri"


DEFECTS = {
    "ClipCandidate": candidate_defects(lambda d: d),
    "AnalysisResult": [
        defect_missing("video_id", "transcript", "keywords_detected", "virality_score",
                       "relevance_score", "clip_candidates"),
        defect_extra,
        defect_set("bad_uuid", uuid_paths("video_id")),
        defect_set("bad_date_time", lambda d: [(["generated_at"], pick(BAD_DATE_TIMES))]),
        defect_set("out_of_range", lambda d: [(["virality_score"], out_of_unit),
                                              (["relevance_score"], out_of_unit)]),
        defect_set("wrong_type", lambda d: [
            (["transcript"], lambda g: None),
            (["keywords_detected"], lambda g: " ".join(d["keywords_detected"])),
            (["keywords_detected", 0], lambda g: g.r.randint(1, 99)),
            (["virality_score"], lambda g: str(d["virality_score"]))]),
    ] + candidate_defects(lambda d: d["clip_candidates"][0]),
    "EditJob": [
        defect_missing("clip_id", "operations", "ffmpeg_commands", "gpu_required",
                       "estimated_duration"),
        defect_extra,
        defect_set("bad_uuid", uuid_paths("clip_id")),
        bad_output_uri,
        defect_set("out_of_range", lambda d: [(["estimated_duration"], pick([0, -5]))]),
        defect_set("wrong_type", lambda d: [
            (["gpu_required"], pick(["true", 1, "yes"])),
            (["estimated_duration"], lambda g: d["estimated_duration"] + 0.25),
            (["operations"], lambda g: ";".join(d["operations"])),
            (["ffmpeg_commands", 0], lambda g: d["ffmpeg_commands"][0].split())]),
    ],
    "ScheduleTask": [
        defect_missing("clip_id", "recommended_time", "priority", "horizon_adjustment",
                       "final_decision_source"),
        defect_extra,
        defect_set("bad_uuid", uuid_paths("clip_id")),
        defect_set("bad_date_time", lambda d: [(["recommended_time"], pick(BAD_DATE_TIMES))]),
        defect_set("wrong_enum", lambda d: [
            (["final_decision_source"], pick(["Zenith", "operator", "manual", ""]))]),
        defect_set("out_of_range", lambda d: [(["priority"], out_of_unit),
                                              (["horizon_adjustment"], pick([-1.5, 1.25, 3]))]),
        defect_set("too_long", lambda d: [(["notes"], lambda g: (g.transcript(8, 12) + " ") * 2)]),
        defect_set("wrong_type", lambda d: [(["priority"], lambda g: str(d["priority"])),
                                            (["notes"], lambda g: [g.word()]),
                                            (["_meta_parents"], lambda g: g.uuid())]),
    ],
    "ScraperJob": [
        defect_missing("job_id", "creator_id", "platform", "target_url", "requested_range",
                       "status", "created_at", "updated_at"),
        defect_extra,
        defect_set("missing_required", lambda d: [
            (["requested_range"], lambda g: {g.r.choice(["since", "until"]): d["created_at"]})]),
        defect_set("bad_uuid", uuid_paths("job_id", "creator_id")),
        defect_set("bad_date_time", lambda d: [
            (p, pick(BAD_DATE_TIMES)) for p in (["created_at"], ["updated_at"],
                                                ["requested_range", "since"],
                                                ["requested_range", "until"])]),
        defect_set("bad_uri", lambda d: [(["target_url"], pick(BAD_URIS))]),
        defect_set("wrong_enum", lambda d: [
            (["platform"], pick(["TikTok", "twitch", "yt"])),
            (["status"], pick(["pending", "FAILED", "QUEUED"]))]),
        defect_set("pattern", lambda d: [(["schema_version"], pick(["1.0", "v1.0.0", "1.0.0-rc1"]))]),
        defect_set("wrong_type", lambda d: [
            (["requested_range"], lambda g: [d["requested_range"]["since"]]),
            (["status"], lambda g: 2)]),
    ],
    "UploadJob": [
        defect_missing("clip_id", "title", "description", "keywords", "scheduled_time",
                       "privacy_status"),
        defect_extra,
        defect_set("bad_uuid", uuid_paths("clip_id")),
        defect_set("bad_date_time", lambda d: [(["scheduled_time"], pick(BAD_DATE_TIMES))]),
        defect_set("wrong_enum", lambda d: [(["privacy_status"], pick(["Public", "hidden", "friends"]))]),
        defect_set("too_long", lambda d: [(["title"], lambda g: d["title"] + " | " + g.transcript(3, 4))]),
        defect_set("too_many_items", lambda d: [(["keywords"], lambda g: g.tags(16, 22))]),
        defect_set("pattern", lambda d: [
            (["yt_video_id"], lambda g: g.r.choice([g.yt_id()[:10], g.yt_id() + "x", "abc def ghi"]))]),
        defect_set("wrong_type", lambda d: [(["keywords"], lambda g: ", ".join(d["keywords"])),
                                            (["distribution_targets"], lambda g: "tiktok"),
                                            (["title"], lambda g: None)]),
    ],
}


def size(doc):
    return len(dump(doc).encode("utf-8"))


def dump(doc):
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def pad(g, doc, schema):
    """Brings a small valid document up to the size band with optional fields."""
    while size(doc) < MIN_BYTES:
        if schema == "ScraperJob":
            sep = "&" if "?" in doc["target_url"] else "?"
            doc["target_url"] += f"{sep}{g.word()}={g.slug(10)}"
        elif schema == "ScheduleTask":
            doc.setdefault("_meta_parents", []).append(g.uuid())
        elif schema == "ClipCandidate":
            doc.setdefault("clip_id", g.uuid())
            tag = g.r.choice(TAG_POOL)
            if tag not in doc["semantic_tags"]:
                doc["semantic_tags"].append(tag)
        elif schema == "UploadJob":
            doc.setdefault("distribution_targets", []).append(g.r.choice(DISTRIBUTION))
        elif schema == "EditJob":
            doc.setdefault("expected_outputs", []).append(g.storage_uri())
        else:
            doc.setdefault("_meta_parents", []).append(g.uuid())


def generate(schema, count, seed, invalid_ratio):
    g = Gen(f"{seed}:{schema}")
    builder = BUILDERS[schema]
    defects = DEFECTS[schema]
    lines, sizes, kinds = [], [], {}
    n_invalid = 0
    for _ in range(count):
        doc = builder(g)
        pad(g, doc, schema)
        if g.r.random() < invalid_ratio:
            kind = g.r.choice(defects)(g, doc)
            kinds[kind] = kinds.get(kind, 0) + 1
            n_invalid += 1
        line = dump(doc)
        lines.append(line)
        sizes.append(len(line.encode("utf-8")))
    return lines, sizes, n_invalid, kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="benchmarks/.data", help="output folder (default: %(default)s)")
    ap.add_argument("--count", type=int, default=20000, help="documents per schema (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    ap.add_argument("--invalid-ratio", type=float, default=0.2,
                    help="share of documents with one defect (default: %(default)s)")
    ap.add_argument("--schemas", default=",".join(SCHEMAS),
                    help="comma-separated subset of: " + ", ".join(SCHEMAS))
    args = ap.parse_args()

    wanted = [s for s in args.schemas.split(",") if s]
    unknown = [s for s in wanted if s not in BUILDERS]
    if unknown:
        ap.error("unknown schema(s): " + ", ".join(unknown))
    os.makedirs(args.out, exist_ok=True)
    summary = {"seed": args.seed, "count": args.count, "out": args.out, "files": {}}
    for schema in wanted:
        lines, sizes, n_invalid, kinds = generate(schema, args.count, args.seed, args.invalid_ratio)
        path = os.path.join(args.out, f"{schema}.ndjson")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines))
            f.write("\n")
        os.replace(tmp, path)
        sizes.sort()
        summary["files"][schema] = {
            "documents": len(lines),
            "invalid_generated": n_invalid,
            "bytes": sum(sizes) + len(sizes),
            "doc_bytes_min": sizes[0] if sizes else 0,
            "doc_bytes_median": sizes[len(sizes) // 2] if sizes else 0,
            "doc_bytes_max": sizes[-1] if sizes else 0,
            "defects": dict(sorted(kinds.items())),
        }
    print(json.dumps(summary, indent=2), file=sys.stderr)


if __name__ == "__main__":
    main()
