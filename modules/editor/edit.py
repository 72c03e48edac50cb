#!/usr/bin/env python3
"""editor@1: cuts a selected clip candidate out of a video into a vertical,
loudness-normalised H.264/AAC MP4 with the transcript burned in.

Reads the input manifest given by `--manifest` (docs/modules.md), then:

1. probes the video with ffprobe and checks the candidate's times against it;
2. when `hardware` is "gpu", probes the GPU H.264 encoders (h264_nvenc, then
   h264_vaapi on each /dev/dri/renderD*) with a tiny encode;
3. plans an EditJob (contracts/schemas/EditJob.json): the ordered logical
   operations and the exact ffmpeg command lines of the render;
4. executes it in the editing context's cache folder, under a lock, written
   atomically, or reuses the render an earlier attempt finished there;
5. probes the clip with ffprobe and writes three outputs: `clip` (video/mp4),
   `edit_job` (EditJob) and `edit_summary` (schemas/editor.summary@1.json).

The editing context (`editing_context_id`, or one derived from the plan's
hash) makes a retry idempotent:
`${OMNIVA_EDITOR_CACHE:-$HOME/.cache/omniva-editor}/<id>/` holds

    .lock           flock(2)ed for the whole render: two attempts of one
                    context never render at once
    render.partial/ where ffmpeg writes (removed and remade by each render)
    render/         the finished render (render.partial renamed)
    complete.json   the completion marker, written last (temp + rename):
                    the plan, its SHA-256, the clip's SHA-256, the commands
                    run with their exit status and durations

A marker with the same plan hash (and a clip still matching its SHA-256)
means the render is reused: hard-linked (or copied) into the output folder.
A marker with another plan hash is `bad_command`: one context, one plan.

Failures are reported through the output manifest's `error` {code, message,
transient} and exit status 1, never a traceback for bad input:
`bad_command` (deterministic: a cut outside the video, a zero-length cut, a
video ffprobe cannot read, ffmpeg refusing the plan, a context holding
another plan), `gpu_starvation` (transient: "gpu" asked, no usable GPU
encoder), `io_error` (transient: the cache or output folder cannot be
written), `render_interrupted` (transient: ffmpeg killed by a signal).

Python 3 standard library, ffmpeg and ffprobe (Debian); no network.
"""

import argparse
import datetime
import fcntl
import glob
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid

MODULE = "editor@1"
# Bumped when the meaning of a plan changes (the same plan document must
# always give the same render): part of the plan, so of its hash.
PLAN_VERSION = 1

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

# Loudness normalisation (EBU R128, ffmpeg's loudnorm, one pass).
TRUE_PEAK_DB = -1.5
LOUDNESS_RANGE = 11.0

# Encoder settings per encoder (the command's codec arguments).
X264_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
             "-profile:v", "high", "-pix_fmt", "yuv420p"]
NVENC_ARGS = ["-c:v", "h264_nvenc", "-preset", "p4", "-rc", "vbr", "-cq", "23",
              "-b:v", "0", "-profile:v", "high", "-pix_fmt", "yuv420p"]
VAAPI_ARGS = ["-c:v", "h264_vaapi", "-qp", "23", "-profile:v", "high"]
AUDIO_ARGS = ["-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-ac", "2"]

# Caption style: DejaVu Sans (Debian's fonts-dejavu-core, what fontconfig
# falls back to anyway), white with a black outline, bottom centre, above the
# band a vertical player covers with its controls.
CAPTION_FONT = "DejaVu Sans"

# A cut may end this far past the probed duration (container rounding, the
# last frame's duration); further is "an end past the video".
END_TOLERANCE_S = 0.05

# Pixels per second one core of libx264 (veryfast) scales, filters and
# encodes, measured on the reference machine (AMD EPYC, 2 cores: 1080x1920,
# 63 frames in about 2 s); a GPU encoder counts for four cores.
PIXELS_PER_CORE_SECOND = 32e6
STARTUP_S = 1.0


class EditError(Exception):
    """A failure reported through the output manifest."""

    def __init__(self, code, message, transient=False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient


def bad_command(message):
    return EditError("bad_command", message, False)


# -- small helpers ---------------------------------------------------------------

def now_iso():
    """ISO 8601 UTC with milliseconds, as the node writes timestamps."""
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_json(doc):
    """The SHA-256 of a document's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ms(seconds):
    """Seconds as whole milliseconds (what identifiers are derived from)."""
    return int(round(seconds * 1000))


def write_atomically(path, data):
    """Writes bytes or text to `path` through a temporary file renamed over it
    (fsynced), so a reader sees the old content or the new, never a part."""
    tmp = f"{path}.tmp-{os.getpid()}"
    mode = "wb" if isinstance(data, bytes) else "w"
    kwargs = {} if isinstance(data, bytes) else {"encoding": "utf-8"}
    with open(tmp, mode, **kwargs) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))


def fsync_dir(path):
    try:
        fd = os.open(path or ".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


class CommandLog:
    """Runs commands and remembers each: what ran, why, its exit status and
    how long it took (the summary's `commands`)."""

    def __init__(self):
        self.entries = []

    def run(self, purpose, argv, timeout=None):
        """Runs argv (no shell, stdin closed); returns (exit status, stdout,
        stderr). A negative status is the signal that killed it."""
        started = time.monotonic()
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout)
            status, out, err = proc.returncode, proc.stdout, proc.stderr
        except FileNotFoundError:
            status, out, err = 127, b"", f"{argv[0]}: command not found".encode()
        except subprocess.TimeoutExpired as e:
            status, out, err = -9, e.stdout or b"", (e.stderr or b"") + b" (timed out)"
        entry = {"purpose": purpose, "command": shlex.join(argv), "exit_status": status,
                 "wall_seconds": round(time.monotonic() - started, 3)}
        self.entries.append(entry)
        return status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def tail(text, lines=4):
    """The last non-empty lines of a tool's stderr, joined (for messages)."""
    # "[h264_nvenc @ 0x55d1...] " prefixes name an address: the same failure
    # would read differently every time.
    text = re.sub(r"\[[^\]\n]* @ 0x[0-9a-fA-F]+\] ", "", text)
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])[-800:]


# -- probing -------------------------------------------------------------------------

def ffprobe(log, purpose, path):
    """The streams and duration of a media file by ffprobe, or None when it
    cannot read it (with ffprobe's complaint)."""
    argv = [FFPROBE, "-v", "error", "-show_entries",
            "format=duration:stream=index,codec_type,codec_name,width,height,pix_fmt,"
            "avg_frame_rate,r_frame_rate,duration,sample_rate,channels",
            "-of", "json", path]
    status, out, err = log.run(purpose, argv, timeout=120)
    if status != 0:
        return None, tail(err) or f"ffprobe exited with status {status}"
    try:
        doc = json.loads(out)
    except ValueError:
        return None, "ffprobe wrote no JSON"
    streams = doc.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)

    def number(value):
        try:
            x = float(value)
        except (TypeError, ValueError):
            return None
        return x if math.isfinite(x) else None

    duration = number((doc.get("format") or {}).get("duration"))
    if duration is None:
        durations = [number(s.get("duration")) for s in streams]
        durations = [d for d in durations if d is not None]
        duration = max(durations) if durations else None
    info = {}
    if duration is not None:
        info["duration_s"] = round(duration, 3)
    if video:
        if video.get("width") and video.get("height"):
            info["width"], info["height"] = int(video["width"]), int(video["height"])
        info["video_codec"] = video.get("codec_name", "unknown")
        if video.get("pix_fmt"):
            info["pix_fmt"] = video["pix_fmt"]
        fps = frame_rate(video.get("avg_frame_rate")) or frame_rate(video.get("r_frame_rate"))
        if fps:
            info["fps"] = round(fps, 3)
    if audio:
        info["audio_codec"] = audio.get("codec_name", "unknown")
        if number(audio.get("sample_rate")):
            info["audio_sample_rate"] = int(float(audio["sample_rate"]))
        if audio.get("channels"):
            info["audio_channels"] = int(audio["channels"])
    return info, None


def frame_rate(text):
    """"30000/1001" -> 29.97; None for 0/0 or nonsense."""
    try:
        num, _, den = str(text).partition("/")
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) and 0 < value < 1000 else None


def probe_gpu_encoders(log):
    """Tries the GPU H.264 encoders with a tiny encode, in order h264_nvenc,
    then h264_vaapi on each render node; returns (the first usable one as
    {"encoder", "device"?} or None, every probe's result)."""
    probes = []
    source = ["-f", "lavfi", "-i", "color=c=black:s=256x256:r=25:d=0.2"]
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error"] + source + \
        ["-frames:v", "3", "-c:v", "h264_nvenc", "-f", "null", "-"]
    status, _, err = log.run("probe_gpu", argv, timeout=30)
    probes.append({"encoder": "h264_nvenc", "usable": status == 0,
                   **({} if status == 0 else {"reason": tail(err, 2) or f"exit status {status}"})})
    if status == 0:
        return {"encoder": "h264_nvenc"}, probes
    devices = sorted(glob.glob("/dev/dri/renderD*"))
    if not devices:
        probes.append({"encoder": "h264_vaapi", "usable": False,
                       "reason": "no /dev/dri/renderD* device"})
    for device in devices:
        argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error",
                "-vaapi_device", device] + source + \
            ["-vf", "format=nv12,hwupload", "-frames:v", "3", "-c:v", "h264_vaapi",
             "-f", "null", "-"]
        status, _, err = log.run("probe_gpu", argv, timeout=30)
        probes.append({"encoder": "h264_vaapi", "device": device, "usable": status == 0,
                       **({} if status == 0 else {"reason": tail(err, 2) or f"exit status {status}"})})
        if status == 0:
            return {"encoder": "h264_vaapi", "device": device}, probes
    return None, probes


def hardware_facts():
    """CPU model and cores of this machine."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip() or model
                    break
    except OSError:
        pass
    cores = os.cpu_count() or 1
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = cores
    return {"cpu_model": model, "cores": cores, "cores_available": available}


def ffmpeg_version(log):
    status, out, _ = log.run("version", [FFMPEG, "-hide_banner", "-version"], timeout=30)
    first = out.splitlines()[0] if status == 0 and out else ""
    match = re.match(r"ffmpeg version (\S+)", first)
    return match.group(1) if match else "unknown"


# -- captions ------------------------------------------------------------------------

TIMESTAMP = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})$")
TAG = re.compile(r"<[^>]*>")


def parse_timestamp(text):
    match = TIMESTAMP.match(text.strip())
    if not match:
        return None
    hours, minutes, seconds, frac = match.groups()
    return (int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
            + int(frac.ljust(3, "0")) / 1000)


def parse_vtt(text):
    """The cues of a WebVTT document as [(start, end, text)], in order.
    Cue identifiers, settings, NOTE/STYLE/REGION blocks and inline tags
    (<c>, <v Speaker>, <00:00:01.000>) are dropped; entities decoded. A cue
    repeating the text of the one before it (auto-captions roll lines) is
    merged into it. Raises bad_command when it is not WebVTT."""
    text = text.lstrip("\ufeff")
    if not text.startswith("WEBVTT"):
        raise bad_command("the captions are not WebVTT (no WEBVTT header)")
    cues = []
    for block in re.split(r"\r?\n\s*\r?\n", text.replace("\r\n", "\n")):
        lines = [line for line in block.split("\n")]
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        left, _, right = lines[timing].partition("-->")
        start = parse_timestamp(left)
        end = parse_timestamp(right.strip().split()[0] if right.strip() else "")
        if start is None or end is None or end <= start:
            continue
        body = []
        for line in lines[timing + 1:]:
            line = TAG.sub("", line)
            line = (line.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ")
                    .replace("&lrm;", "").replace("&rlm;", "").replace("&amp;", "&"))
            line = " ".join(line.split())
            if line:
                body.append(line)
        if not body:
            continue
        words = "\n".join(body)
        if cues and cues[-1][2] == words and start <= cues[-1][1] + 0.05:
            cues[-1] = (cues[-1][0], max(end, cues[-1][1]), words)
            continue
        cues.append((start, end, words))
    return cues


def cues_in_cut(cues, start, end):
    """The cues overlapping [start, end], shifted to the clip's time (0 at
    `start`) and clipped to it."""
    out = []
    for s, e, words in cues:
        if e <= start or s >= end:
            continue
        out.append((max(0.0, s - start), min(end, e) - start, words))
    return [c for c in out if c[1] - c[0] >= 0.01]


def ass_time(seconds):
    centis = int(round(seconds * 100))
    h, rest = divmod(centis, 360000)
    m, rest = divmod(rest, 6000)
    s, cs = divmod(rest, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def ass_text(words):
    """Cue text as ASS dialogue text: no override blocks, no escapes."""
    words = words.replace("\\", "\\\u200b").replace("{", "(").replace("}", ")")
    return words.replace("\n", "\\N")


def ass_document(cues, width, height):
    """An ASS subtitle document drawn at the frame's own resolution."""
    size = max(12, round(min(width, height * 9 / 16) / 13.5))
    outline = max(1, round(size / 16))
    margin_v = round(height * 0.12)
    margin_h = round(width * 0.06)
    lines = [
        "[Script Info]",
        "; written by editor@1",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Caption,{CAPTION_FONT},{size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,"
        f"-1,0,0,0,100,100,0,0,1,{outline},0,2,{margin_h},{margin_h},{margin_v},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for s, e, words in cues:
        lines.append(f"Dialogue: 0,{ass_time(s)},{ass_time(e)},Caption,,0,0,0,,{ass_text(words)}")
    return "\n".join(lines) + "\n"


def filter_path(path):
    """A file name as the value of a filter option inside a filtergraph:
    quoted for the option parser, then escaped for the graph parser
    (ffmpeg-filters(1), "Notes on filtergraph escaping")."""
    if re.fullmatch(r"[A-Za-z0-9/._+@%-]+", path):
        return path  # nothing either parser would read as syntax
    quoted = "'" + path.replace("'", "'\\''") + "'"
    return re.sub(r"([\\'\[\],;])", r"\\\1", quoted)


# -- the plan ------------------------------------------------------------------------

def read_options(inputs):
    """The edit options from the manifest (defaults when absent), checked."""
    def value(key, default):
        entry = inputs.get(key)
        return entry.get("value", default) if isinstance(entry, dict) else default

    opts = {
        "frame": value("frame", "crop"),
        "width": value("width", 1080),
        "height": value("height", 1920),
        "loudness_lufs": value("loudness_lufs", -14),
        "burn_captions": value("burn_captions", True),
        "hardware": value("hardware", "cpu"),
    }
    context = value("editing_context_id", None)
    if opts["frame"] not in ("crop", "pad"):
        raise bad_command(f"frame must be crop or pad, not {opts['frame']!r}")
    if opts["hardware"] not in ("cpu", "gpu"):
        raise bad_command(f"hardware must be cpu or gpu, not {opts['hardware']!r}")
    for key in ("width", "height"):
        v = opts[key]
        if isinstance(v, bool) or not isinstance(v, int) or not 16 <= v <= 8192 or v % 2:
            raise bad_command(f"{key} must be an even integer from 16 to 8192, not {v!r} "
                              "(H.264 4:2:0 needs even frame sizes)")
    lufs = opts["loudness_lufs"]
    if isinstance(lufs, bool) or not isinstance(lufs, (int, float)) or not -70 <= lufs <= -5:
        raise bad_command(f"loudness_lufs must be from -70 to -5 (loudnorm's range), not {lufs!r}")
    opts["loudness_lufs"] = float(lufs)
    if not isinstance(opts["burn_captions"], bool):
        raise bad_command("burn_captions must be true or false")
    if context is not None and (not isinstance(context, str)
                                or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", context)):
        raise bad_command("editing_context_id must be 1 to 128 of A-Z a-z 0-9 . _ -, "
                          f"a letter or digit first: {context!r}")
    return opts, context


def read_candidate(inputs):
    entry = inputs.get("candidate")
    candidate = entry.get("value") if isinstance(entry, dict) else None
    if not isinstance(candidate, dict):
        raise bad_command("the candidate is not a ClipCandidate object")
    start, end = candidate.get("start_time"), candidate.get("end_time")
    for name, t in (("start_time", start), ("end_time", end)):
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise bad_command(f"the candidate's {name} is not a number of seconds >= 0: {t!r}")
    clip_id = candidate.get("clip_id")
    if clip_id is not None:
        try:
            clip_id = str(uuid.UUID(str(clip_id)))
        except ValueError:
            raise bad_command(f"the candidate's clip_id is not a UUID: {clip_id!r}")
    return candidate, float(start), float(end), clip_id


def derived_clip_id(video_sha256, start, end):
    """The clip id of a candidate Zenith has not promoted: a UUID v5 (URL
    namespace) of "omniva:clip:<video sha256>:<start ms>:<end ms>"."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL,
                          f"omniva:clip:{video_sha256}:{ms(start)}:{ms(end)}"))


def video_filter(opts, ass_path, gpu):
    """The video filter chain: timestamps from 0, the vertical frame (crop
    to fill, or pad to fit, centred), square pixels, captions, 4:2:0."""
    w, h = opts["width"], opts["height"]
    chain = ["setpts=PTS-STARTPTS"]
    if opts["frame"] == "crop":
        chain += [f"scale={w}:{h}:force_original_aspect_ratio=increase:force_divisible_by=2",
                  f"crop={w}:{h}"]
    else:
        chain += [f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2",
                  f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black"]
    chain.append("setsar=1")
    if ass_path:
        chain.append(f"subtitles=filename={filter_path(ass_path)}")
    if gpu and gpu["encoder"] == "h264_vaapi":
        chain += ["format=nv12", "hwupload"]
    else:
        chain.append("format=yuv420p")
    return ",".join(chain)


def audio_filter(opts):
    return ",".join([
        "asetpts=PTS-STARTPTS",
        f"loudnorm=I={opts['loudness_lufs']:g}:TP={TRUE_PEAK_DB:g}:LRA={LOUDNESS_RANGE:g}",
        "aresample=48000",
        "aformat=sample_fmts=fltp:channel_layouts=stereo",
    ])


def render_command(video, start, end, has_audio, opts, ass_path, gpu, out_path):
    """The one ffmpeg command of the render, as an argv."""
    duration = end - start
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y"]
    if gpu and gpu["encoder"] == "h264_vaapi":
        argv += ["-vaapi_device", gpu["device"]]
    # Input seeking with re-encoding is decode-accurate (ffmpeg decodes from
    # the key frame before `start` and drops what precedes it); -t as an
    # output option ends the clip at the frame boundary nearest `end`.
    argv += ["-accurate_seek", "-ss", f"{start:.3f}", "-i", video]
    if has_audio:
        graph = f"[0:v:0]{video_filter(opts, ass_path, gpu)}[v];[0:a:0]{audio_filter(opts)}[a]"
        maps = ["-map", "[v]", "-map", "[a]"]
    else:
        # No audio in the source: a silent stereo track, so the clip is
        # always H.264/AAC (nothing to normalise).
        argv += ["-f", "lavfi", "-t", f"{duration:.3f}", "-i",
                 "anullsrc=channel_layout=stereo:sample_rate=48000"]
        graph = f"[0:v:0]{video_filter(opts, ass_path, gpu)}[v]"
        maps = ["-map", "[v]", "-map", "1:a:0"]
    argv += ["-filter_complex", graph] + maps + ["-t", f"{duration:.3f}"]
    if gpu is None:
        argv += X264_ARGS
    elif gpu["encoder"] == "h264_nvenc":
        argv += NVENC_ARGS
    else:
        argv += VAAPI_ARGS
    argv += AUDIO_ARGS
    argv += ["-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart",
             "-f", "mp4", out_path]
    return argv


def estimate_seconds(duration, fps, opts, cores, gpu):
    """Predicted wall time of the render: a start-up second plus the pixels
    to scale, filter and encode over what the cores do per second."""
    frames = duration * (fps or 30.0)
    pixels = frames * opts["width"] * opts["height"]
    throughput = PIXELS_PER_CORE_SECOND * max(1, cores) * (4 if gpu else 1)
    return max(1, math.ceil(STARTUP_S + pixels / throughput))


def operations_of(info, start, end, opts, cue_count, captions_given, gpu, has_audio):
    """The EditJob's ordered logical steps, for people and the lineage."""
    w, h = opts["width"], opts["height"]
    ops = [
        f"probe: source {info.get('width', '?')}x{info.get('height', '?')}, "
        f"{info.get('duration_s', 0):.3f} s, {info.get('video_codec', '?')}"
        f"/{info.get('audio_codec', 'no audio')}",
        f"cut: {start:.3f} s to {end:.3f} s ({end - start:.3f} s), decode-accurate "
        "(input seek, re-encoded)",
    ]
    if opts["frame"] == "crop":
        ops.append(f"frame: scale to fill {w}x{h}, crop the overflow (centred)")
    else:
        ops.append(f"frame: scale to fit {w}x{h}, pad with black (centred)")
    if cue_count:
        ops.append(f"captions: burn {cue_count} transcript cue(s) inside the cut, shifted "
                   f"by -{start:.3f} s (libass, {CAPTION_FONT})")
    elif captions_given and opts["burn_captions"]:
        ops.append("captions: none, no transcript cue falls inside the cut")
    if has_audio:
        ops.append(f"loudness: EBU R128 normalisation to {opts['loudness_lufs']:g} LUFS "
                   f"(loudnorm, true peak {TRUE_PEAK_DB:g} dBTP, LRA {LOUDNESS_RANGE:g})")
    else:
        ops.append("audio: the source has none, a silent stereo track is added")
    encoder = gpu["encoder"] if gpu else "libx264"
    ops.append(f"encode: H.264 ({encoder}, yuv420p) + AAC 160 kb/s 48 kHz stereo, "
               "MP4 with +faststart")
    ops.append("publish: the render into the output folder")
    return ops


# -- the editing context (cache) -----------------------------------------------------

def cache_root():
    root = os.environ.get("OMNIVA_EDITOR_CACHE")
    if not root:
        home = os.environ.get("HOME") or os.path.expanduser("~")
        root = os.path.join(home, ".cache", "omniva-editor")
    return os.path.abspath(root)


def read_marker(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def publish(src, dst):
    """The render into the output folder: a hard link when both are on one
    file system, else a copy."""
    if os.path.lexists(dst):
        os.unlink(dst)
    try:
        os.link(src, dst)
        return "hardlink"
    except OSError:
        shutil.copyfile(src, dst)
        return "copy"


# -- the module ----------------------------------------------------------------------

def edit(manifest, log):
    """Plans and executes the edit; returns (outputs manifest entries)."""
    started = time.monotonic()
    inputs = manifest.get("inputs") or {}
    outputs = manifest.get("outputs") or {}
    out_dir = manifest["output_dir"]
    video_entry = inputs.get("video") or {}
    video = video_entry.get("path")
    if not video or not os.path.isfile(video):
        raise bad_command("the video input is missing")
    candidate, start, end, clip_id = read_candidate(inputs)
    opts, context_id = read_options(inputs)
    captions_entry = inputs.get("captions")
    captions_path = captions_entry.get("path") if isinstance(captions_entry, dict) else None

    # 1. What the video is.
    info, why = ffprobe(log, "probe_input", video)
    if info is None:
        raise bad_command(f"ffprobe cannot read the video: {why}")
    if "width" not in info:
        raise bad_command("the video has no video stream")
    if "duration_s" not in info:
        raise bad_command("the video's duration is unknown (ffprobe gives none)")
    info["sha256"] = sha256_file(video)
    video_duration = info["duration_s"]
    fps = info.get("fps") or 30.0
    if start >= video_duration:
        raise bad_command(f"the cut starts at {start:.3f} s, at or past the video's end "
                          f"({video_duration:.3f} s): a zero-length cut")
    if end > video_duration + END_TOLERANCE_S:
        raise bad_command(f"the cut ends at {end:.3f} s, past the video's end "
                          f"({video_duration:.3f} s)")
    end = min(end, video_duration)
    if end - start < 1.0 / fps:
        raise bad_command(f"the cut {start:.3f} s to {end:.3f} s is shorter than one frame "
                          f"({1.0 / fps:.3f} s): a zero-length cut")
    has_audio = "audio_codec" in info
    if clip_id is None:
        clip_id = derived_clip_id(info["sha256"], start, end)
        clip_id_source = "derived"
    else:
        clip_id_source = "candidate"

    # 2. The encoder.
    hardware = hardware_facts()
    gpu, gpu_probes = None, []
    if opts["hardware"] == "gpu":
        gpu, gpu_probes = probe_gpu_encoders(log)
        if gpu is None:
            reasons = "; ".join(f"{p['encoder']}: {p.get('reason', 'unusable')}"
                                for p in gpu_probes)
            raise EditError("gpu_starvation",
                            f"hardware \"gpu\" was asked and no GPU H.264 encoder is usable "
                            f"here ({reasons})", True)

    # 3. The captions inside the cut.
    cues, captions_sha256 = [], None
    if captions_path:
        try:
            with open(captions_path, encoding="utf-8", errors="replace") as f:
                vtt = f.read()
        except OSError as e:
            raise bad_command(f"the captions cannot be read: {e.strerror}")
        captions_sha256 = hashlib.sha256(vtt.encode("utf-8")).hexdigest()
        if opts["burn_captions"]:
            cues = cues_in_cut(parse_vtt(vtt), start, end)
    ass = ass_document(cues, opts["width"], opts["height"]) if cues else None

    # 4. The plan and its editing context.
    encoder = gpu["encoder"] if gpu else "libx264"
    plan = {
        "editor": MODULE, "plan_version": PLAN_VERSION,
        "video_sha256": info["sha256"], "start_time": start, "end_time": end,
        "frame": opts["frame"], "width": opts["width"], "height": opts["height"],
        "loudness_lufs": opts["loudness_lufs"], "burn_captions": opts["burn_captions"],
        "hardware": opts["hardware"], "encoder": encoder,
        "encoder_device": gpu.get("device") if gpu else None,
        "captions_sha256": captions_sha256,
        "ass_sha256": hashlib.sha256(ass.encode("utf-8")).hexdigest() if ass else None,
        "has_audio": has_audio,
    }
    plan_sha256 = sha256_json(plan)
    context_source = "given"
    if context_id is None:
        context_id = "plan-" + plan_sha256[:40]
        context_source = "derived"
    context_dir = os.path.join(cache_root(), context_id)
    partial = os.path.join(context_dir, "render.partial")
    final = os.path.join(context_dir, "render")
    marker_path = os.path.join(context_dir, "complete.json")
    ass_path = os.path.join(partial, "captions.ass") if ass else None
    render_argv = render_command(video, start, end, has_audio, opts, ass_path, gpu,
                                 os.path.join(partial, "clip.mp4"))
    clip_out = (outputs.get("clip") or {}).get("path") or os.path.join(out_dir, "clip.mp4")
    job_out = (outputs.get("edit_job") or {}).get("path") or os.path.join(out_dir, "edit_job.json")
    summary_out = ((outputs.get("edit_summary") or {}).get("path")
                   or os.path.join(out_dir, "edit_summary.json"))
    estimated = estimate_seconds(end - start, fps, opts, hardware["cores_available"], gpu)
    edit_job = {
        "clip_id": clip_id,
        "operations": operations_of(info, start, end, opts, len(cues), bool(captions_path),
                                    gpu, has_audio),
        "ffmpeg_commands": [shlex.join(render_argv)],
        "gpu_required": gpu is not None,
        "estimated_duration": estimated,
        "expected_outputs": ["file://" + os.path.abspath(p) for p in (clip_out, summary_out)],
    }

    # 5. Execute it, or reuse what an earlier attempt finished.
    try:
        os.makedirs(context_dir, exist_ok=True)
        lock = open(os.path.join(context_dir, ".lock"), "a+")
    except OSError as e:
        raise EditError("io_error", f"cannot create the editing context folder "
                        f"{context_dir}: {e.strerror}", True)
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        marker = read_marker(marker_path)
        reused = False
        if marker is not None and marker.get("plan_sha256") != plan_sha256:
            raise bad_command(
                f"the editing context {context_id!r} holds a finished render of another plan "
                f"(plan {str(marker.get('plan_sha256'))[:12]}…, this one {plan_sha256[:12]}…): "
                "a retry must ask for the same edit; give another editing_context_id")
        cached_clip = os.path.join(final, "clip.mp4")
        if marker is not None:
            try:
                reused = sha256_file(cached_clip) == marker.get("clip_sha256")
            except OSError:
                reused = False
            if not reused:  # the render went missing or changed: render again
                os.unlink(marker_path)
                marker = None
        if not reused:
            marker = render(log, context_dir, partial, final, marker_path, plan, plan_sha256,
                            render_argv, ass_path, ass, edit_job, context_id)
        # The EditJob names the commands that made the clip: this attempt's,
        # or the earlier attempt's whose render is reused.
        edit_job["ffmpeg_commands"] = [c["command"] for c in marker["commands"]]
        try:
            how = publish(cached_clip, clip_out)
        except OSError as e:
            raise EditError("io_error", f"cannot write the clip into the output folder: "
                            f"{e.strerror}", True)

    # 6. What came out, and the summary.
    out_info, why = ffprobe(log, "probe_output", clip_out)
    if out_info is None:
        raise bad_command(f"ffprobe cannot read the rendered clip: {why}")
    out_info["sha256"] = marker["clip_sha256"]
    out_info["size_bytes"] = os.path.getsize(clip_out)
    hardware.update({"requested": opts["hardware"], "encoder": encoder,
                     "gpu_probes": gpu_probes})
    if gpu and gpu.get("device"):
        hardware["device"] = gpu["device"]
    summary = {
        "editor": MODULE,
        "clip_id": clip_id,
        "clip_id_source": clip_id_source,
        "editing_context_id": context_id,
        "editing_context_source": context_source,
        "plan_sha256": plan_sha256,
        "reused": reused,
        "published_by": how,
        "operations": edit_job["operations"],
        "render": {
            "rendered_at": marker["rendered_at"],
            "wall_seconds": marker["wall_seconds"],
            "commands": marker["commands"],
        },
        "commands": log.entries,
        "cut": {"start_s": round(start, 3), "end_s": round(end, 3),
                "duration_s": round(end - start, 3)},
        "frame": {"mode": opts["frame"], "width": opts["width"], "height": opts["height"]},
        "loudness": {"target_lufs": opts["loudness_lufs"], "true_peak_db": TRUE_PEAK_DB,
                     "lra": LOUDNESS_RANGE, "normalised": has_audio},
        "captions": {"given": bool(captions_path), "burn": opts["burn_captions"],
                     "cues_burned": len(cues)},
        "input": info,
        "output": out_info,
        "hardware": hardware,
        "ffmpeg_version": ffmpeg_version(log),
        "estimated_duration_s": estimated,
        "wall_seconds": round(time.monotonic() - started, 3),
    }
    write_json(job_out, edit_job)
    write_json(summary_out, summary)
    return {"clip": {"path": os.path.relpath(clip_out, out_dir), "media_type": "video/mp4"},
            "edit_job": {"path": os.path.relpath(job_out, out_dir),
                         "media_type": "application/json"},
            "edit_summary": {"path": os.path.relpath(summary_out, out_dir),
                             "media_type": "application/json"}}


def render(log, context_dir, partial, final, marker_path, plan, plan_sha256, argv,
           ass_path, ass, edit_job, context_id):
    """Runs the render into `partial`, renames it to `final` and writes the
    completion marker (temp + rename). The caller holds the context's lock."""
    try:
        for leftover in (partial, final):
            if os.path.lexists(leftover):
                shutil.rmtree(leftover)
        os.makedirs(partial)
        if ass_path:
            write_atomically(ass_path, ass)
    except OSError as e:
        raise EditError("io_error", f"cannot prepare the render folder in {context_dir}: "
                        f"{e.strerror}", True)
    started = time.monotonic()
    first = len(log.entries)
    status, _, err = log.run("render", argv)
    if status < 0:
        raise EditError("render_interrupted", f"ffmpeg was killed by signal {-status}: "
                        f"{tail(err)}", True)
    if status != 0:
        if "No space left" in err:
            raise EditError("io_error", f"ffmpeg could not write the render: {tail(err)}", True)
        raise bad_command(f"ffmpeg refused the plan (exit status {status}): {tail(err)}")
    clip = os.path.join(partial, "clip.mp4")
    if not os.path.isfile(clip) or os.path.getsize(clip) == 0:
        raise bad_command("ffmpeg exited 0 but wrote no clip")
    try:
        with open(clip, "rb") as f:
            os.fsync(f.fileno())
        fsync_dir(partial)
        os.rename(partial, final)
        fsync_dir(context_dir)
        marker = {
            "editor": MODULE,
            "editing_context_id": context_id,
            "plan_sha256": plan_sha256,
            "plan": plan,
            "edit_job": edit_job,
            "clip_sha256": sha256_file(os.path.join(final, "clip.mp4")),
            "rendered_at": now_iso(),
            "wall_seconds": round(time.monotonic() - started, 3),
            "commands": [{k: e[k] for k in ("command", "exit_status", "wall_seconds")}
                         for e in log.entries[first:]],
        }
        write_atomically(marker_path, json.dumps(marker, indent=2, ensure_ascii=False) + "\n")
    except OSError as e:
        raise EditError("io_error", f"cannot finish the render in {context_dir}: {e.strerror}",
                        True)
    return marker


def report_error(manifest_path, error):
    """The failure in the output manifest (code, message, transient) and on
    stderr; the runtime reads the manifest of a module that exits 1."""
    doc = {"error": {"code": error.code, "message": error.message,
                     "transient": error.transient}}
    try:
        write_json(manifest_path, doc)
    except OSError:
        pass
    print(f"{error.code}: {error.message}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="input_manifest.json")
    args = parser.parse_args()
    try:
        with open(args.manifest, encoding="utf-8") as f:
            manifest = json.load(f)
        out_dir = manifest["output_dir"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"bad_command: cannot read the input manifest {args.manifest}: {e}",
              file=sys.stderr)
        return 1
    manifest_out = manifest.get("output_manifest") or os.path.join(out_dir,
                                                                   "output_manifest.json")
    log = CommandLog()
    try:
        listed = edit(manifest, log)
    except EditError as e:
        report_error(manifest_out, e)
        return 1
    except OSError as e:
        report_error(manifest_out, EditError("io_error", f"{e.filename or ''}: {e.strerror}",
                                             True))
        return 1
    write_json(manifest_out, {"outputs": listed})
    edited = json.load(open(os.path.join(out_dir, listed["edit_summary"]["path"]),
                            encoding="utf-8"))
    print(f"edited clip {edited['clip_id']}: {edited['cut']['duration_s']} s, "
          f"{edited['frame']['width']}x{edited['frame']['height']}, "
          f"{'reused' if edited['reused'] else 'rendered'} in context "
          f"{edited['editing_context_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
