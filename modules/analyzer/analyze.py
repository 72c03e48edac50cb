#!/usr/bin/python3
"""analyzer@1: finds clip candidates in a video from real signals.

Started by the runtime as `/usr/bin/python3 analyze.py --manifest <input
manifest>` (docs/modules.md). Reads the `video` ASSET and its VALUEs, then:

1. probes the video (ffprobe): duration, streams, the `omniva_video_id=<uuid>`
   tag the Scraper writes (else the video id is a UUID v5 of its SHA-256);
2. runs, concurrently:
   - scene detection: ffmpeg `select='gt(scene,T)'` + `metadata=print`;
   - faces: frames sampled with ffmpeg (2 per second, fewer for long videos,
     grey, 480 pixels wide), OpenCV's Haar frontal-face cascade on each;
   - audio (16 kHz mono WAV extracted once): RMS energy per 0.25 s window
     (`astats`) and silences (`silencedetect`); speech recognition
     (`pocketsphinx_continuous -time yes`) unless subtitles are there;
     keyword search (`pocketsphinx_continuous -kws`) for the `keywords` VALUE;
3. takes the transcript from subtitles (the `subtitles` ASSET, else a text
   subtitle stream of the MP4, extracted with ffmpeg) or from the speech
   recognition's words;
4. cuts the video into candidates at scene changes (strong cut points) and
   silences (weak ones) within [min_clip_s, max_clip_s], and scores them.

The formulas are in README.md (and repeated where they are computed).
Outputs: `result` (AnalysisResult), `features` (analyzer.features@1: the
feature vector of each candidate, the signal timelines, the versions) and
`captions` (WebVTT: the timed transcript). Failures are reported in the
output manifest, `{"error": {"code", "message", "transient"}}`, never as a
traceback: `bad_command` (the video cannot be read), `model_offline` (the
PocketSphinx model, the cascade or a tool is missing; transient),
`transcript_missing` (require_transcript and no transcript).

Python 3 standard library, numpy and python3-opencv (Debian packages),
ffmpeg, ffprobe and pocketsphinx_continuous; espeak-ng (optional) spells
keywords the PocketSphinx dictionary does not know. No network.
"""

import argparse
import concurrent.futures
import hashlib
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import uuid

ANALYZER_VERSION = "1.0.0"

# Signal parameters (documented in README.md).
ENERGY_WINDOW_S = 0.25          # astats window
SILENCE_NOISE_DB = -35          # silencedetect noise level
SILENCE_MIN_S = 0.4             # silencedetect minimum duration
SILENCE_EDGE_S = 0.3            # a long silence is cut this far inside its edges
FACE_SAMPLE_FPS = 2.0           # frames per second searched for faces ...
FACE_MAX_SAMPLES = 400          # ... at most this many frames per video
FACE_FRAME_WIDTH = 480          # frames are scaled to this width (or less)
FACE_MIN_NEIGHBORS = 7          # the cascade's minNeighbors: 5 (OpenCV's usual) finds
                                # faces in ffmpeg's testsrc2 pattern now and then
MAX_CANDIDATES = 50             # the best candidates kept (by confidence x virality)
SALIENT_TOP = 5                 # at most this many salient terms
CAPTION_MAX_WORDS = 7           # a recognised caption cue: at most 7 words ...
CAPTION_MAX_S = 3.5             # ... 3.5 s, and a pause of 0.6 s ends it
CAPTION_GAP_S = 0.6

STOPWORDS = set("""
a about above after again against all also am an and any are as at be because been
before being below between both but by can cannot could did do does doing down during
each few for from further had has have having he her here hers herself him himself his
how i if in into is it its itself just let like me more most my myself no nor not now
of off on once only or other our ours ourselves out over own really same she should so
some such than that that's the their theirs them themselves then there these they this
those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves ah oh uh um hm okay yeah
get got go going gonna know make made one two see say said way well back today
""".split())


class AnalyzerError(Exception):
    """A failure with one of the seed's codes, reported in the output manifest."""

    def __init__(self, code, message, transient=False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient


# -- tools --------------------------------------------------------------------------


def run_tool(argv, what, code="bad_command", transient=False, timeout=None):
    """Runs a tool and returns (stdout, stderr) as text; a missing tool is
    `model_offline` (transient: an installation problem), a failure raises
    AnalyzerError(code) with the end of its stderr."""
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    except FileNotFoundError:
        raise AnalyzerError("model_offline", "the tool %s is not installed" % argv[0], True)
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        tail = " ".join(err.strip().splitlines()[-3:])[:600]
        raise AnalyzerError(code, "%s failed (exit status %d): %s" % (what, done.returncode, tail),
                            transient)
    return out, err


def tool_versions():
    """The versions of the tools used, for the features output."""
    versions = {"python": sys.version.split()[0]}
    try:
        out, _ = run_tool(["ffmpeg", "-version"], "ffmpeg -version")
        versions["ffmpeg"] = out.split("\n", 1)[0].split(" ")[2]
    except (AnalyzerError, IndexError):
        versions["ffmpeg"] = "unknown"
    try:
        out, _ = run_tool(["dpkg-query", "-W", "-f=${Version}", "pocketsphinx"], "dpkg-query")
        versions["pocketsphinx"] = out.strip() or "unknown"
    except AnalyzerError:
        versions["pocketsphinx"] = "unknown"
    try:
        import cv2
        versions["opencv"] = cv2.__version__
    except ImportError:
        versions["opencv"] = "unknown"
    return versions


# -- models -------------------------------------------------------------------------


def check_models(model_dir, cascade_dir):
    """The PocketSphinx model files and the Haar cascade, checked readable
    (model_offline, transient, when not: a missing package or a mount that
    is not there yet). Returns (hmm, lm, dict, cascade path, cascade)."""
    hmm = os.path.join(model_dir, "en-us")
    lm = os.path.join(model_dir, "en-us.lm.bin")
    dic = os.path.join(model_dir, "cmudict-en-us.dict")
    for path in (os.path.join(hmm, "mdef"), os.path.join(hmm, "means"), lm, dic):
        if not os.access(path, os.R_OK):
            raise AnalyzerError("model_offline",
                                "the PocketSphinx model file %s is missing or unreadable "
                                "(model_dir %s)" % (path, model_dir), True)
    cascade_path = os.path.join(cascade_dir, "haarcascade_frontalface_default.xml")
    if not os.access(cascade_path, os.R_OK):
        raise AnalyzerError("model_offline", "the OpenCV cascade %s is missing or unreadable"
                            % cascade_path, True)
    try:
        import cv2
        import numpy  # noqa: F401 (cv2 needs it; checked here to report it cleanly)
    except ImportError as e:
        raise AnalyzerError("model_offline", "python3-opencv is not installed: %s" % e, True)
    cascade = cv2.CascadeClassifier(cascade_path)
    if cascade.empty():
        raise AnalyzerError("model_offline", "the OpenCV cascade %s does not load" % cascade_path,
                            True)
    return hmm, lm, dic, cascade


# -- the video ------------------------------------------------------------------------


UUID_TAG = re.compile(r"omniva_video_id=([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def probe(path):
    """ffprobe's view of the video: duration, size, fps, audio, subtitle
    streams, tags. An unreadable file, or one without a video stream or a
    duration, is `bad_command`."""
    if not os.path.isfile(path):
        raise AnalyzerError("bad_command", "the video %s does not exist" % path)
    out, _ = run_tool(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                       "-of", "json", path], "ffprobe (the video cannot be read)")
    try:
        doc = json.loads(out)
    except ValueError:
        raise AnalyzerError("bad_command", "ffprobe gave no readable description of the video")
    streams = doc.get("streams", [])
    fmt = doc.get("format", {})
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not (s.get("disposition") or {}).get("attached_pic")), None)
    if video is None:
        raise AnalyzerError("bad_command", "the file has no video stream")
    try:
        duration = float(fmt.get("duration") or video.get("duration") or 0)
    except ValueError:
        duration = 0.0
    if not duration > 0 or not math.isfinite(duration):
        raise AnalyzerError("bad_command", "the video has no duration")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise AnalyzerError("bad_command", "the video has no frame size")
    fps = 0.0
    rate = video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/1"
    try:
        num, den = rate.split("/")
        fps = float(num) / float(den) if float(den) else 0.0
    except ValueError:
        pass
    text_codecs = {"mov_text", "subrip", "webvtt", "ass", "ssa", "text"}
    subtitle_index = next((i for i, s in enumerate(
        [s for s in streams if s.get("codec_type") == "subtitle"])
        if s.get("codec_name") in text_codecs), None)
    try:
        start = float(fmt.get("start_time") or 0)
    except ValueError:
        start = 0.0
    tags = []
    for holder in [fmt] + streams:
        tags += [str(v) for v in (holder.get("tags") or {}).values()]
    return {"duration": duration, "width": width, "height": height, "fps": fps,
            "has_audio": any(s.get("codec_type") == "audio" for s in streams),
            "subtitle_stream": subtitle_index, "tags": tags,
            "start": start if math.isfinite(start) else 0.0}


def video_identity(info, path):
    """(video_id, source, sha256): the `omniva_video_id=<uuid>` tag when the
    file has one (the Scraper's), else uuid5(NAMESPACE_URL,
    "omniva:video:sha256:<hex>") of the file's content."""
    digest = sha256_of(path)
    for value in info["tags"]:
        m = UUID_TAG.search(value)
        if m:
            return str(uuid.UUID(m.group(1))), "metadata", digest
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "omniva:video:sha256:" + digest)), "sha256", digest


# -- signals ------------------------------------------------------------------------------


def scene_changes(path, threshold, origin):
    """[(time, score)]: frames whose scene score (0..1, ffmpeg's `scene`)
    exceeds the threshold; frames are scaled to 320 pixels wide first.
    Times are from the file's start (`origin`, its start_time, subtracted)."""
    out, _ = run_tool(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-an", "-sn", "-vf",
                       "scale=320:-2,select='gt(scene\\,%s)',metadata=print:file=-" % threshold,
                       "-f", "null", "-"], "ffmpeg scene detection")
    changes, t = [], None
    for line in out.splitlines():
        m = re.search(r"pts_time:([-0-9.e+]+)", line)
        if m:
            t = float(m.group(1))
            continue
        m = re.search(r"lavfi\.scene_score=([0-9.e+-]+)", line)
        if m and t is not None and t - origin > 0:
            changes.append((round(t - origin, 3), clamp01(round(float(m.group(1)), 4))))
            t = None
    return changes


def faces_timeline(path, info, cascade, work):
    """([(time, faces)], sample_fps): the Haar frontal-face cascade on sampled
    frames: the first frame, then the first frame at least 1/fps after the
    last one taken (fps = FACE_SAMPLE_FPS, lower for long videos so at most
    FACE_MAX_SAMPLES are taken), grey, at most FACE_FRAME_WIDTH wide;
    minNeighbors FACE_MIN_NEIGHBORS, faces at least 1/12 of the frame height. The
    times are the frames' own (showinfo), so a sample never belongs to the
    shot before a cut."""
    import cv2
    import numpy as np

    fps = min(FACE_SAMPLE_FPS, FACE_MAX_SAMPLES / info["duration"])
    width = min(FACE_FRAME_WIDTH, info["width"]) // 2 * 2
    height = max(2, int(round(info["height"] * width / info["width"] / 2)) * 2)
    log_path = os.path.join(work, "faces-showinfo.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "info", "-nostats", "-i", path, "-an", "-sn", "-vf",
             "select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,%.6f)',"
             "showinfo,scale=%d:%d,format=gray" % (1.0 / fps, width, height),
             "-fps_mode", "passthrough", "-f", "rawvideo", "-"],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        size = width * height
        min_face = max(20, height // 12)
        counts = []
        try:
            while True:
                buf = proc.stdout.read(size)
                if len(buf) < size:
                    break
                frame = np.frombuffer(buf, np.uint8).reshape(height, width)
                found = cascade.detectMultiScale(frame, scaleFactor=1.1,
                                                 minNeighbors=FACE_MIN_NEIGHBORS,
                                                 minSize=(min_face, min_face))
                counts.append(int(len(found)))
        finally:
            proc.stdout.close()
            rc = proc.wait()
    with open(log_path, encoding="utf-8", errors="replace") as f:
        err = f.read()
    times = [float(m.group(1)) for m in re.finditer(r"Parsed_showinfo.*? pts_time:\s*([-0-9.e+]+)",
                                                    err)]
    if rc != 0 and not counts:
        raise AnalyzerError("bad_command", "ffmpeg could not decode the video's frames: "
                            + " ".join(err.strip().splitlines()[-2:])[:500])
    timeline = [(round(max(0.0, times[i] - info["start"]) if i < len(times) else i / fps, 3), n)
                for i, n in enumerate(counts)]
    return timeline, fps


def extract_audio(path, wav):
    run_tool(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", path, "-vn", "-sn", "-ac", "1",
              "-ar", "16000", "-c:a", "pcm_s16le", wav], "ffmpeg audio extraction")


def parse_audio_signals(out, err, duration):
    """(energy, silences) from the audio analysis' stdout (ametadata: the
    RMS level, dBFS, floored at -100, per ENERGY_WINDOW_S window) and stderr
    (silencedetect: silences below SILENCE_NOISE_DB for SILENCE_MIN_S; one
    still open at the end closes at the video's end)."""
    energy = []
    for m in re.finditer(r"lavfi\.astats\.Overall\.RMS_level=(\S+)", out):
        try:
            v = float(m.group(1))
        except ValueError:
            v = -100.0
        energy.append(round(max(-100.0, v) if math.isfinite(v) else -100.0, 2))
    silences, start = [], None
    for line in err.splitlines():
        m = re.search(r"silence_start: ([-0-9.e+]+)", line)
        if m:
            start = max(0.0, float(m.group(1)))
            continue
        m = re.search(r"silence_end: ([-0-9.e+]+)", line)
        if m and start is not None:
            silences.append((round(start, 3), round(min(duration, float(m.group(1))), 3)))
            start = None
    if start is not None and start < duration:
        silences.append((round(start, 3), round(duration, 3)))
    return energy, silences


def run_audio_analysis(wav, duration):
    samples = int(16000 * ENERGY_WINDOW_S)
    out, err = run_tool(["ffmpeg", "-nostdin", "-nostats", "-v", "info", "-i", wav, "-af",
                         "asetnsamples=n=%d:p=0,astats=metadata=1:reset=1,"
                         "ametadata=mode=print:key=lavfi.astats.Overall.RMS_level:file=-,"
                         "silencedetect=noise=%ddB:d=%s"
                         % (samples, SILENCE_NOISE_DB, SILENCE_MIN_S),
                         "-f", "null", "-"], "ffmpeg audio analysis")
    return parse_audio_signals(out, err, duration)


# -- speech ---------------------------------------------------------------------------------


WORD_LINE = re.compile(r"^(.*\S)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s*$")


def clean_word(token):
    """A recognised token as a word: `word(2)` -> `word`; fillers
    (`<s>`, `<sil>`, `[NOISE]`, `++UM++`) -> None."""
    token = re.sub(r"\(\d+\)$", "", token.strip())
    if not token or token[0] in "<[+" or not re.search(r"[a-zA-Z]", token):
        return None
    return token.lower()


def recognise(wav, hmm, lm, dic):
    """[(word, start, end, probability)]: free speech recognition with
    pocketsphinx_continuous (-time yes prints one line per word)."""
    out, _ = run_tool(["pocketsphinx_continuous", "-infile", wav, "-hmm", hmm, "-lm", lm,
                       "-dict", dic, "-time", "yes", "-logfn", "/dev/null"],
                      "pocketsphinx_continuous (speech recognition)", "model_offline", True)
    words = []
    for line in out.splitlines():
        m = WORD_LINE.match(line)
        if not m:
            continue
        word = clean_word(m.group(1))
        if word:
            words.append((word, round(float(m.group(2)), 3), round(float(m.group(3)), 3),
                          round(float(m.group(4)), 4)))
    return words


# espeak-ng's phoneme mnemonics (espeak-ng -x, en-us) to the ARPAbet of the
# CMU dictionary; longest first.
ESPEAK_TO_ARPABET = [
    ("aI", "AY"), ("eI", "EY"), ("OI", "OY"), ("aU", "AW"), ("oU", "OW"), ("@U", "OW"),
    ("I@", "IH R"), ("e@", "EH R"), ("U@", "UH R"), ("A@", "AA R"), ("O@", "AO R"),
    ("o@", "AO R"), ("i@", "IY AH"), ("3:", "ER"), ("A:", "AA"), ("O:", "AO"), ("i:", "IY"),
    ("u:", "UW"), ("tS", "CH"), ("dZ", "JH"), ("@L", "AH L"), ("aa", "AE"), ("a#", "AH"),
    ("I2", "IH"), ("I#", "IH"), ("t#", "T"), ("d#", "D"), ("@2", "AH"), ("@5", "AH"),
    ("0", "AA"), ("a", "AE"), ("A", "AA"), ("@", "AH"), ("3", "ER"), ("O", "AO"), ("e", "EH"),
    ("E", "EH"), ("I", "IH"), ("i", "IY"), ("U", "UH"), ("u", "UW"), ("V", "AH"), ("o", "OW"),
    ("T", "TH"), ("D", "DH"), ("S", "SH"), ("Z", "ZH"), ("N", "NG"), ("j", "Y"), ("x", "K"),
    ("p", "P"), ("b", "B"), ("t", "T"), ("d", "D"), ("k", "K"), ("g", "G"), ("f", "F"),
    ("v", "V"), ("s", "S"), ("z", "Z"), ("h", "HH"), ("m", "M"), ("n", "N"), ("l", "L"),
    ("r", "R"), ("w", "W"),
]

LETTERS_TO_ARPABET = [
    ("tch", "CH"), ("ch", "CH"), ("sh", "SH"), ("th", "TH"), ("ng", "NG"), ("ph", "F"),
    ("ck", "K"), ("ee", "IY"), ("ea", "IY"), ("oo", "UW"), ("ou", "AW"), ("ai", "EY"),
    ("ay", "EY"), ("oa", "OW"), ("qu", "K W"), ("a", "AE"), ("b", "B"), ("c", "K"), ("d", "D"),
    ("e", "EH"), ("f", "F"), ("g", "G"), ("h", "HH"), ("i", "IH"), ("j", "JH"), ("k", "K"),
    ("l", "L"), ("m", "M"), ("n", "N"), ("o", "AA"), ("p", "P"), ("q", "K"), ("r", "R"),
    ("s", "S"), ("t", "T"), ("u", "AH"), ("v", "V"), ("w", "W"), ("x", "K S"), ("y", "IY"),
    ("z", "Z"),
]


def greedy_map(text, table):
    phones, i = [], 0
    while i < len(text):
        for key, value in table:
            if text.startswith(key, i):
                phones += value.split()
                i += len(key)
                break
        else:
            i += 1  # stress marks, syllable marks and anything unknown
    return phones


def pronounce(word):
    """(phones, how) for a word the CMU dictionary lacks: espeak-ng's
    phonemes mapped to ARPAbet, else naive letter rules."""
    try:
        out, _ = run_tool(["espeak-ng", "-v", "en-us", "-q", "-x", word], "espeak-ng")
        phones = greedy_map(out.strip(), ESPEAK_TO_ARPABET)
        if phones:
            return phones, "espeak-ng"
    except AnalyzerError:
        pass
    return greedy_map(word, LETTERS_TO_ARPABET), "letters"


def normalise_keyword(keyword):
    """A keyword as PocketSphinx can search it: lower case, hyphens and runs
    of spaces as one space; "" (not searched in the audio) when it holds
    anything but letters a-z, apostrophes and spaces ("4k", "café")."""
    text = " ".join(keyword.lower().replace("-", " ").split())
    return text if re.fullmatch(r"[a-z' ]*", text) and re.search(r"[a-z]", text) else ""


def load_dictionary(dic, words):
    """{word: [pronunciation, ...]} of the dictionary's entries for `words`
    (alternates `word(2)` included, in the dictionary's order)."""
    prefixes = tuple(w + " " for w in words) + tuple(w + "(" for w in words)
    entries = {}
    if not prefixes:
        return entries
    with open(dic, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(prefixes):
                parts = line.split()
                word = re.sub(r"\(\d+\)$", "", parts[0])
                if word in words and len(parts) >= 2:
                    entries.setdefault(word, []).append(" ".join(parts[1:]))
    return entries


def spot_keywords(wav, keywords, hmm, dic, threshold, work):
    """PocketSphinx keyword search: {normalised keyword: [(start, end, score)]}
    and {word: how it was pronounced} for words the dictionary lacks. A small
    dictionary holds the keywords' words only (the CMU entries, or a spelling
    made by `pronounce`); every keyword is searched with `threshold`."""
    wanted = sorted({normalise_keyword(k) for k in keywords} - {""})
    if not wanted:
        return {}, {}
    needed = sorted({w for k in wanted for w in k.split()})
    cmu = load_dictionary(dic, needed)
    lines, made = [], {}
    for word in needed:
        prons = cmu.get(word)
        if not prons:
            phones, how = pronounce(word)
            if not phones:
                continue
            prons = [" ".join(phones)]
            made[word] = {"phones": prons[0], "from": how}
        for n, pron in enumerate(prons):
            lines.append("%s %s" % (word if n == 0 else "%s(%d)" % (word, n + 1), pron))
    known = {line.split()[0] for line in lines}
    searchable = [k for k in wanted if all(w in known for w in k.split())]
    hits = {k: [] for k in wanted}
    if not searchable:
        return hits, made
    kdict = os.path.join(work, "keywords.dict")
    kfile = os.path.join(work, "keywords.kws")
    with open(kdict, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(kfile, "w", encoding="utf-8") as f:
        f.write("".join("%s /%s/\n" % (k, threshold) for k in searchable))
    out, _ = run_tool(["pocketsphinx_continuous", "-infile", wav, "-hmm", hmm, "-dict", kdict,
                       "-kws", kfile, "-time", "yes", "-logfn", "/dev/null"],
                      "pocketsphinx_continuous (keyword search)", "model_offline", True)
    for line in out.splitlines():
        m = WORD_LINE.match(line)
        if m and m.group(1).strip() in hits:
            hits[m.group(1).strip()].append((round(float(m.group(2)), 3),
                                             round(float(m.group(3)), 3),
                                             round(float(m.group(4)), 4)))
    return hits, made


# -- subtitles and captions -----------------------------------------------------------------


CUE_TIME = re.compile(r"((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})")


def parse_time(text):
    parts = text.replace(",", ".").split(":")
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + float(p)
    return seconds


def parse_cues(text):
    """[(start, end, text)] of a WebVTT or SubRip document, in time order:
    tags removed, entities decoded, and the lines a cue repeats from the cue
    before left out (the "rolling" automatic captions of video sites show
    each line twice); cues left without text are dropped."""
    parsed = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    for block in blocks:
        lines = block.strip("\n").split("\n")
        for i, line in enumerate(lines):
            m = CUE_TIME.search(line)
            if m:
                body = [" ".join(html.unescape(re.sub(r"<[^>]*>|\{\\[^}]*\}", "", l)).split())
                        for l in lines[i + 1:]]
                start, end = parse_time(m.group(1)), parse_time(m.group(2))
                if end > start:
                    parsed.append((round(start, 3), round(end, 3), [l for l in body if l]))
                break
    cues, previous = [], []
    for start, end, body in sorted(parsed):
        fresh = [l for l in body if l not in previous]
        previous = body
        if fresh:
            cues.append((start, end, " ".join(fresh)))
    return cues


def embedded_subtitles(path, index):
    """The cues of the video's text subtitle stream `index` (ffmpeg -> WebVTT)."""
    out, _ = run_tool(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:s:%d" % index,
                       "-f", "webvtt", "-"], "ffmpeg subtitle extraction")
    return parse_cues(out)


def vtt_time(t):
    ms = int(round(max(0.0, t) * 1000))
    return "%02d:%02d:%02d.%03d" % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)


def caption_cues_from_words(words):
    """Groups recognised words into cues: at most CAPTION_MAX_WORDS words and
    CAPTION_MAX_S seconds, a new cue after a pause of CAPTION_GAP_S."""
    cues, current = [], []
    for word in words:
        if current and (len(current) >= CAPTION_MAX_WORDS
                        or word[2] - current[0][1] > CAPTION_MAX_S
                        or word[1] - current[-1][2] > CAPTION_GAP_S):
            cues.append((current[0][1], current[-1][2], " ".join(w[0] for w in current)))
            current = []
        current.append(word)
    if current:
        cues.append((current[0][1], current[-1][2], " ".join(w[0] for w in current)))
    return cues


def write_vtt(path, cues):
    lines = ["WEBVTT", ""]
    for n, (start, end, text) in enumerate(cues):
        if end <= start:
            end = start + 0.001
        lines += [str(n + 1), "%s --> %s" % (vtt_time(start), vtt_time(end)),
                  html.escape(text, quote=False), ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def salient_terms(tokens, min_count):
    """Frequent non-stopword terms: words of at least 4 letters, not in
    STOPWORDS, seen at least `min_count` times; the SALIENT_TOP most
    frequent (ties: the earlier first)."""
    counts, first = {}, {}
    for i, token in enumerate(tokens):
        word = token.strip("'")
        if len(word) < 4 or word in STOPWORDS or not word.isalpha():
            continue
        counts[word] = counts.get(word, 0) + 1
        first.setdefault(word, i)
    ranked = sorted((w for w in counts if counts[w] >= min_count),
                    key=lambda w: (-counts[w], first[w]))
    return ranked[:SALIENT_TOP]


def tokens_of(text):
    return re.findall(r"[a-z][a-z']*", text.lower())


# -- candidates ------------------------------------------------------------------------------


def overlap(a0, a1, b0, b1):
    return max(0.0, min(a1, b1) - max(a0, b0))


def clamp01(x):
    return max(0.0, min(1.0, x))


def cut_points(duration, scenes, silences, min_s, max_s):
    """The candidates' intervals: [(start, end, start_kind, end_kind)].

    Strong cut points are the scene changes, weak ones the silences: the
    middle of a pause of at most 2 SILENCE_EDGE_S + SILENCE_MIN_S (1 s),
    else SILENCE_EDGE_S inside each of its two edges. Each shot (from the video's start or a scene change to the
    next one) starts a candidate at its first frame; a candidate ends at the
    shot's end when that gives [min_s, max_s] seconds; a shorter one runs on
    to the first strong cut point at least min_s in, else the first weak one,
    else min_s (or the video's end); a longer one ends at the last weak point
    in [min_s, max_s] (else max_s) and the rest of the shot continues from
    there the same way. A candidate that would end less than min_s before
    the video's end runs to the end instead (when that keeps it within
    max_s); a shot starting less than min_s before the end is a candidate
    when it lasts at least min_s / 2. A video shorter than min_s is one
    candidate, whole.
    """
    strong = sorted({t for t, _ in scenes if 0 < t < duration})
    weak = set()
    for a, b in silences:
        if b - a <= 2 * SILENCE_EDGE_S + SILENCE_MIN_S:
            weak.add(round((a + b) / 2, 3))  # a pause: its middle
        else:  # a long silence: just after the sound before it, just before the next
            weak.update({round(a + SILENCE_EDGE_S, 3), round(b - SILENCE_EDGE_S, 3)})
    weak = sorted(t for t in weak if 0 < t < duration)
    shots = [0.0] + strong
    found = []
    for i, shot_start in enumerate(shots):
        shot_end = shots[i + 1] if i + 1 < len(shots) else duration
        t, kind = shot_start, "video_start" if shot_start == 0 else "scene_cut"
        while t < shot_end - 1e-6:
            if duration - t <= min_s:
                # The video's last min_s: a candidate of its own when it is
                # the whole video or at least half of min_s (the one before
                # reaches the end anyway, below).
                if t == 0 or duration - t >= min_s / 2:
                    found.append((t, duration, kind, "video_end"))
                break
            if min_s <= shot_end - t <= max_s:
                end = shot_end
                end_kind = "video_end" if end >= duration else "scene_cut"
            elif shot_end - t < min_s:
                later_strong = [c for c in strong if c >= t + min_s and c <= t + max_s]
                later_weak = [c for c in weak if c >= t + min_s and c <= t + max_s]
                if later_strong:
                    end, end_kind = later_strong[0], "scene_cut"
                elif later_weak:
                    end, end_kind = later_weak[0], "silence"
                else:
                    end, end_kind = min(duration, t + min_s), "split"
                    if end >= duration:
                        end_kind = "video_end"
            else:
                inside = [c for c in weak if t + min_s <= c <= t + max_s and c < shot_end]
                if inside:
                    end, end_kind = inside[-1], "silence"
                else:
                    end, end_kind = t + max_s, "split"
            if end < duration and duration - end < min_s and duration - t <= max_s:
                end, end_kind = duration, "video_end"  # no stub of a tail after it
            found.append((t, end, kind, end_kind))
            if end >= shot_end:
                break
            t, kind = end, end_kind
    unique, seen = [], set()
    for start, end, sk, ek in found:
        key = (round(start, 3), round(end, 3))
        if key[1] > key[0] and key not in seen:
            seen.add(key)
            unique.append((key[0], key[1], sk, ek))
    if not unique:  # cannot happen for duration > 0; kept as a guard
        unique.append((0.0, round(duration, 3) or 0.001, "video_start", "video_end"))
    return unique


BOUNDARY_QUALITY = {"scene_cut": 1.0, "video_start": 1.0, "video_end": 1.0,
                    "silence": 0.7, "split": 0.3}


def describe_candidate(interval, signals, params):
    """The feature vector and scores of one candidate (README.md, "Formulas")."""
    start, end, start_kind, end_kind = interval
    d = end - start
    energy = signals["energy"]
    w0 = int(start / ENERGY_WINDOW_S)
    w1 = max(w0 + 1, int(math.ceil(end / ENERGY_WINDOW_S)))
    window = energy[w0:w1]
    # energy_norm: the mean of each window's level mapped -60 dBFS -> 0, -10 dBFS -> 1.
    levels = [clamp01((db + 60.0) / 50.0) for db in window]
    energy_norm = sum(levels) / len(levels) if levels else 0.0
    peak_norm = max(levels) if levels else 0.0
    silent = sum(overlap(start, end, a, b) for a, b in signals["silences"])
    audible_ratio = clamp01(1 - silent / d) if signals["has_audio"] else 0.0
    speech = sum(overlap(start, end, a, b) for a, b in signals["speech_spans"])
    speech_ratio = clamp01(speech / d)
    words = sum(n * overlap(start, end, a, b) / max(b - a, 1e-3)
                for a, b, n in signals["word_spans"])
    samples = [n for t, n in signals["faces"] if start <= t < end]
    if not samples:  # a candidate shorter than the sampling step: the nearest sample
        near = min(signals["faces"], key=lambda s: abs(s[0] - (start + end) / 2), default=None)
        samples = [near[1]] if near else []
    faces_max = max(samples) if samples else 0
    face_ratio = sum(1 for n in samples if n > 0) / len(samples) if samples else 0.0
    keyword_hits = {}
    for keyword, times in signals["keyword_times"].items():
        n = sum(1 for t in times if start <= t < end)
        if n:
            keyword_hits[keyword] = n
    hits = sum(keyword_hits.values())
    cuts_inside = sum(1 for t, _ in signals["scenes"] if start < t < end)
    words_per_s = words / d

    boundary = (BOUNDARY_QUALITY[start_kind] + BOUNDARY_QUALITY[end_kind]) / 2
    content = max(audible_ratio, face_ratio)
    fit = 1.0 if params["min_clip_s"] <= d <= params["max_clip_s"] else \
        clamp01(d / params["min_clip_s"]) if d < params["min_clip_s"] else 1.0
    confidence = 0.5 * boundary + 0.3 * content + 0.2 * fit
    keyword_presence = min(hits, 2) / 2
    pace = clamp01(words_per_s / 2.5)
    brevity = 1.0 if d <= 30 else clamp01(1 - (d - 30) / 60)
    virality = (0.30 * energy_norm + 0.25 * face_ratio + 0.20 * keyword_presence
                + 0.15 * pace + 0.10 * brevity)
    relevance = 0.7 * keyword_presence + 0.3 * speech_ratio

    tags = []
    if start_kind == "scene_cut":
        tags.append("scene_cut")
    if faces_max > 0:
        tags.append("faces")
    if speech_ratio >= 0.2:
        tags.append("speech")
    if audible_ratio < 0.2:
        tags.append("quiet")
    elif energy_norm >= 0.6:
        tags.append("loud")
    tags += ["keyword:" + k for k in sorted(keyword_hits)]
    for term in signals["salient"]:
        if any(t == term and start <= when < end for t, when in signals["term_times"]):
            tags.append("term:" + term)
    r = lambda x: round(clamp01(x), 4)  # noqa: E731
    vector = {
        "duration_s": round(d, 3), "start_boundary": start_kind, "end_boundary": end_kind,
        "energy_norm": r(energy_norm), "peak_energy_norm": r(peak_norm),
        "audible_ratio": r(audible_ratio), "speech_ratio": r(speech_ratio),
        "words_per_s": round(words_per_s, 3), "face_ratio": r(face_ratio),
        "faces_max": faces_max, "face_samples": len(samples), "keyword_hits": keyword_hits,
        "scene_cuts_inside": cuts_inside, "boundary": r(boundary), "content": r(content),
        "fit": r(fit), "confidence": r(confidence), "virality": r(virality),
        "relevance": r(relevance),
    }
    candidate = {
        "start_time": start, "end_time": end, "confidence": r(confidence),
        "subject_focus": "creator" if faces_max > 0 else "scene",
        "faces_detected": int(faces_max), "semantic_tags": list(dict.fromkeys(tags)),
        "pantheon_votes": {}, "lattice_priority": 0,
    }
    return candidate, vector


# -- the module -------------------------------------------------------------------------------


def value_of(manifest, key, default):
    entry = manifest.get("inputs", {}).get(key)
    if isinstance(entry, dict) and "value" in entry:
        return entry["value"]
    return default


def analyze(manifest, work):
    inputs = manifest.get("inputs", {})
    video = (inputs.get("video") or {}).get("path")
    if not video:
        raise AnalyzerError("bad_command", "the input manifest names no video")
    keywords = value_of(manifest, "keywords", ["omniva"])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise AnalyzerError("bad_command", "keywords must be a list of strings")
    params = {
        "keywords": keywords,
        "min_clip_s": float(value_of(manifest, "min_clip_s", 2.0)),
        "max_clip_s": float(value_of(manifest, "max_clip_s", 60.0)),
        "scene_threshold": float(value_of(manifest, "scene_threshold", 0.3)),
        "kws_threshold": float(value_of(manifest, "kws_threshold", 1e-20)),
        "require_transcript": bool(value_of(manifest, "require_transcript", False)),
        "model_dir": value_of(manifest, "model_dir", "/usr/share/pocketsphinx/model/en-us"),
        "cascade_dir": value_of(manifest, "cascade_dir", "/usr/share/opencv4/haarcascades"),
        "energy_window_s": ENERGY_WINDOW_S, "silence_noise_db": SILENCE_NOISE_DB,
        "silence_min_s": SILENCE_MIN_S, "face_sample_fps": FACE_SAMPLE_FPS,
        "max_candidates": MAX_CANDIDATES,
    }
    if params["max_clip_s"] < params["min_clip_s"]:
        raise AnalyzerError("bad_command", "max_clip_s (%g) is below min_clip_s (%g)"
                            % (params["max_clip_s"], params["min_clip_s"]))
    hmm, lm, dic, cascade = check_models(params["model_dir"], params["cascade_dir"])
    info = probe(video)
    video_id, id_source, digest = video_identity(info, video)
    duration = info["duration"]

    # Subtitles: the `subtitles` input, else the MP4's own text stream.
    cues, subtitle_source = [], None
    sub_input = (inputs.get("subtitles") or {}).get("path")
    if sub_input:
        try:
            with open(sub_input, encoding="utf-8", errors="replace") as f:
                cues = parse_cues(f.read())
        except OSError as e:
            raise AnalyzerError("bad_command", "cannot read the subtitles: %s" % e)
        subtitle_source = "input"
    elif info["subtitle_stream"] is not None:
        try:
            cues = embedded_subtitles(video, info["subtitle_stream"])
            subtitle_source = "embedded"
        except AnalyzerError as e:  # a stream ffmpeg cannot convert: speech recognition instead
            print("analyzer: the subtitle stream is unreadable, recognising speech instead: %s"
                  % e.message, file=sys.stderr)

    if params["require_transcript"] and not cues and not info["has_audio"]:
        raise AnalyzerError("transcript_missing",
                            "the video has no subtitles and no audio to recognise speech in")
    wav = os.path.join(work, "audio16k.wav")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        scenes_f = pool.submit(scene_changes, video, params["scene_threshold"], info["start"])
        faces_f = pool.submit(faces_timeline, video, info, cascade, work)
        energy, silences, words, hits, made = [], [], [], {}, {}
        if info["has_audio"]:
            extract_audio(video, wav)
            audio_f = pool.submit(run_audio_analysis, wav, duration)
            asr_f = pool.submit(recognise, wav, hmm, lm, dic) if not cues else None
            kws_f = pool.submit(spot_keywords, wav, keywords, hmm, dic,
                                params["kws_threshold"], work)
            energy, silences = audio_f.result()
            words = asr_f.result() if asr_f else []
            hits, made = kws_f.result()
        scenes = scenes_f.result()
        faces, face_fps = faces_f.result()

    # The transcript and where its words are.
    if cues:
        transcript = " ".join(text for _, _, text in cues)
        source = "subtitles"
        speech_spans = [(a, b) for a, b, _ in cues]
        word_spans = [(a, b, len(tokens_of(text))) for a, b, text in cues]
        term_times = [(tok, (a + b) / 2) for a, b, text in cues for tok in tokens_of(text)]
        caption_cues = cues
        salient = salient_terms(tokens_of(transcript), 1)
    elif words:
        transcript = " ".join(w for w, _, _, _ in words)
        source = "speech_recognition"
        speech_spans = [(a, b) for _, a, b, _ in words]
        word_spans = [(a, b, 1) for _, a, b, _ in words]
        term_times = [(w, (a + b) / 2) for w, a, b, _ in words]
        caption_cues = caption_cues_from_words(words)
        salient = salient_terms([w for w, _, _, _ in words], 2)
    else:
        transcript, source, speech_spans, word_spans, term_times = "", "none", [], [], []
        caption_cues, salient = [], []
    if params["require_transcript"] and not transcript.strip():
        raise AnalyzerError("transcript_missing",
                            "the video has no subtitles and no speech was recognised")

    # Keywords: spotted in the audio, or words of the transcript.
    transcript_tokens = tokens_of(transcript)
    keyword_report, keyword_times, detected = [], {}, []
    for keyword in keywords:
        norm = normalise_keyword(keyword)
        spotted = hits.get(norm, []) if norm else []
        parts = norm.split()
        in_text = bool(parts) and any(transcript_tokens[i:i + len(parts)] == parts
                                      for i in range(len(transcript_tokens)))
        times = [(a + b) / 2 for a, b, _ in spotted]
        if parts and len(parts) == 1:
            times += [t for w, t in term_times if w == parts[0]]
        keyword_times[keyword] = sorted(times)
        if spotted or in_text:
            detected.append(keyword)
        keyword_report.append({
            "keyword": keyword, "searched_as": norm,
            "spotted": [{"start": a, "end": b, "score": s} for a, b, s in spotted],
            "in_transcript": in_text, "detected": bool(spotted or in_text)})
    keywords_detected = list(dict.fromkeys(detected + salient))

    signals = {"energy": energy, "silences": silences, "has_audio": info["has_audio"],
               "speech_spans": speech_spans, "word_spans": word_spans, "faces": faces,
               "keyword_times": keyword_times, "scenes": scenes, "salient": salient,
               "term_times": term_times}
    described = [describe_candidate(iv, signals, params)
                 for iv in cut_points(duration, scenes, silences,
                                      params["min_clip_s"], params["max_clip_s"])]
    if len(described) > MAX_CANDIDATES:
        best = sorted(described, key=lambda cv: (-cv[1]["confidence"] * cv[1]["virality"],
                                                 cv[0]["start_time"]))[:MAX_CANDIDATES]
        described = sorted(best, key=lambda cv: (cv[0]["start_time"], cv[0]["end_time"]))

    top = sorted((v["virality"] for _, v in described), reverse=True)[:3]
    virality_score = sum(top) / len(top) if top else 0.0
    kw_fraction = len(detected) / len(keywords) if keywords else 0.0
    covered = sum(b - a for a, b in merge_spans(speech_spans))
    speech_coverage = clamp01(covered / duration)
    relevance_score = 0.7 * kw_fraction + 0.3 * speech_coverage

    result = {
        "video_id": video_id,
        "transcript": transcript,
        "keywords_detected": keywords_detected,
        "virality_score": round(clamp01(virality_score), 4),
        "relevance_score": round(clamp01(relevance_score), 4),
        "clip_candidates": [c for c, _ in described],
    }
    features = {
        "schema": "analyzer.features@1",
        "analyzer": {"module": "analyzer@1", "version": ANALYZER_VERSION},
        "tools": tool_versions(),
        "video": {"video_id": video_id, "video_id_source": id_source, "sha256": digest,
                  "duration_s": round(duration, 3), "width": info["width"],
                  "height": info["height"], "fps": round(info["fps"], 3),
                  "has_audio": info["has_audio"], "subtitles": subtitle_source},
        "parameters": params,
        "transcript": {"source": source, "words": len(transcript_tokens),
                       "salient_terms": salient, "speech_coverage": round(speech_coverage, 4),
                       "pronunciations_made": made},
        "keywords": keyword_report,
        "timelines": {
            "scene_changes": [{"time": t, "score": s} for t, s in scenes],
            "silences": [{"start": a, "end": b} for a, b in silences],
            "energy": {"window_s": ENERGY_WINDOW_S, "rms_db": energy},
            "faces": {"sample_fps": round(face_fps, 6),
                      "samples": [{"time": t, "faces": n} for t, n in faces]},
        },
        "candidates": [dict({"index": i, "start_time": c["start_time"],
                             "end_time": c["end_time"]}, **v)
                       for i, (c, v) in enumerate(described)],
        "scores": {"virality_score": result["virality_score"],
                   "relevance_score": result["relevance_score"],
                   "keyword_fraction": round(kw_fraction, 4)},
    }
    return result, features, caption_cues


def merge_spans(spans):
    merged = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description="analyzer@1 (see README.md)")
    parser.add_argument("--manifest", required=True, help="the input manifest")
    args = parser.parse_args()
    try:
        with open(args.manifest, encoding="utf-8") as f:
            manifest = json.load(f)
        out_dir = manifest["output_dir"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("analyzer: cannot read the input manifest: %s" % e, file=sys.stderr)
        return 2
    manifest_path = manifest.get("output_manifest") or os.path.join(out_dir,
                                                                    "output_manifest.json")
    work = tempfile.mkdtemp(prefix="analyzer-", dir=out_dir)
    try:
        result, features, cues = analyze(manifest, work)
        write_json(os.path.join(out_dir, "result.json"), result)
        write_json(os.path.join(out_dir, "features.json"), features)
        write_vtt(os.path.join(out_dir, "captions.vtt"), cues)
        write_json(manifest_path, {"outputs": {
            "result": {"path": "result.json", "media_type": "application/json"},
            "features": {"path": "features.json", "media_type": "application/json"},
            "captions": {"path": "captions.vtt", "media_type": "text/vtt"}}})
        return 0
    except AnalyzerError as e:
        error = {"code": e.code, "message": e.message, "transient": e.transient}
    except Exception as e:  # noqa: BLE001 (an unexpected failure: reported, not a traceback)
        where = traceback.extract_tb(e.__traceback__)[-1]
        error = {"code": "bad_command", "transient": False,
                 "message": "the analysis failed: %s: %s (analyze.py line %d)"
                            % (type(e).__name__, e, where.lineno)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_json(manifest_path, {"error": error})
    print("analyzer: %s: %s" % (error["code"], error["message"]), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
