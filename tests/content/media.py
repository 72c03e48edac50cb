#!/usr/bin/python3
"""Test media for the content pipeline: small MP4 files whose content is known.

Every content test (the Analyzer's, the Editor's, the end-to-end `clips@1`
test), the `make run` demo and the benchmark make their videos here, at run
time, from ffmpeg's test sources, espeak-ng speech and a face drawn with
OpenCV. Nothing is downloaded, and each function returns what it put where
(cut times, speech start and end, the face's interval and box), so a test can
check an analysis against the truth.

A video made by `make_video` is, on its timeline:

- scenes: one lavfi test source per scene (testsrc2, smptebars, a plain
  colour, rgbtestsrc, ...), consecutive scenes visibly different, so each
  cut in `scene_cuts` is a hard cut a scene detector sees;
- a face: with `face=True`, a shaded frontal face (drawn by `face_image`,
  detected by OpenCV's haarcascade_frontalface_default.xml) overlaid on one
  whole scene (by default the scene after the first cut);
- audio: silence, a sine tone (by default early in the first scene), and a
  sentence spoken by espeak-ng (voice en-us+klatt, which PocketSphinx's
  English model recognises far better than espeak's default voice) starting
  at a known time; silences before and after;
- optionally subtitles: a WebVTT file with the sentence as one cue (and
  timed per word group), written beside the video and/or embedded into the
  MP4 as a mov_text stream;
- optionally metadata tags: `title` and `comment=omniva_video_id=<uuid>`.

Command line (a small "channel" for the end-to-end test, the demo and the
benchmark):

    /usr/bin/python3 tests/content/media.py --out DIR --videos N --seconds S

writes DIR/video-<i>.mp4 (every other one with DIR/video-<i>.en.vtt) and
DIR/channel.json listing each video's title, date, files and known content.

Needs ffmpeg, espeak-ng and python3-opencv (Debian packages). Importable
from any Python 3 (the face is drawn by Debian's /usr/bin/python3 when the
running interpreter has no cv2); `face_image` and `detect_faces` need cv2.
"""

import argparse
import datetime
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
import wave

# The voice and rate PocketSphinx's en-us model recognises espeak-ng best in
# (measured: keyword search finds "omniva" in en-us+klatt speech at a
# threshold of 1e-10, in the default voice not even at 1e-40).
VOICE = "en-us+klatt"
WORDS_PER_MINUTE = 140
AUDIO_RATE = 22050  # espeak-ng's own rate; ffmpeg resamples when encoding

DEFAULT_SENTENCE = "Omniva turns long videos into short clips."

# One lavfi source per scene, cycled; consecutive entries differ strongly in
# colour and layout, so every cut between them is a clear scene change.
SCENE_SOURCES = [
    "testsrc2",
    "smptebars",
    "color=c=0x1f4e79",
    "rgbtestsrc",
    "color=c=0x6b8e23",
    "testsrc",
    "color=c=0x7a1f3d",
]

# The interpreter that has python3-opencv (Debian's, not a pyenv one).
DEBIAN_PYTHON = "/usr/bin/python3"

CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"


def _run(argv):
    """Runs a tool; raises RuntimeError with its stderr when it fails."""
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            argv[0], done.returncode, done.stderr.decode("utf-8", "replace")[-2000:]))
    return done.stdout


def face_image(size=200):
    """A BGR numpy image (size x size) of a drawn, shaded frontal face.

    OpenCV's Debian package ships no sample photo, so the face is drawn:
    a skin-coloured ellipse shaded darker towards its rim, hair, eyebrows,
    eye sockets with white eyes and dark pupils, a nose with nostrils and a
    mouth, then blurred a little. The Haar frontal-face cascade looks for
    exactly these contrasts (dark eye band over brighter cheeks, bright nose
    bridge between the eyes); it detects this face at 80 to 300 pixels.
    """
    import cv2
    import numpy as np

    s = size
    img = np.full((s, s, 3), (90, 120, 150), np.uint8)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    cx, cy = s / 2, s * 0.52
    ellipse = ((xx - cx) / (s * 0.36)) ** 2 + ((yy - cy) / (s * 0.47)) ** 2
    shade = np.clip(1.0 - 0.35 * ellipse, 0, 1)
    skin = np.array([140, 170, 215], np.float32)  # BGR
    inside = ellipse < 1
    img[inside] = (skin * shade[..., None])[inside].astype(np.uint8)

    def blob(x, y, rx, ry, colour):
        cv2.ellipse(img, (int(x), int(y)), (max(1, int(rx)), max(1, int(ry))),
                    0, 0, 360, colour, -1, cv2.LINE_AA)

    for side in (-1, 1):
        ex = cx + side * s * 0.15
        blob(ex, s * 0.36, s * 0.09, s * 0.025, (40, 50, 70))     # eyebrow
        blob(ex, s * 0.43, s * 0.085, s * 0.045, (90, 110, 150))  # socket
        blob(ex, s * 0.43, s * 0.055, s * 0.028, (235, 235, 235))  # eye
        blob(ex, s * 0.43, s * 0.022, s * 0.022, (30, 30, 40))    # pupil
    nose = np.array([[cx, s * 0.45], [cx - s * 0.05, s * 0.6], [cx + s * 0.05, s * 0.6]],
                    np.int32)
    cv2.fillPoly(img, [nose], (120, 150, 200), cv2.LINE_AA)
    blob(cx - s * 0.03, s * 0.61, s * 0.015, s * 0.01, (60, 70, 100))
    blob(cx + s * 0.03, s * 0.61, s * 0.015, s * 0.01, (60, 70, 100))
    blob(cx, s * 0.72, s * 0.1, s * 0.03, (70, 70, 150))  # mouth
    cv2.ellipse(img, (int(cx), int(s * 0.2)), (int(s * 0.38), int(s * 0.16)),
                0, 180, 360, (30, 40, 50), -1, cv2.LINE_AA)  # hair
    return cv2.GaussianBlur(img, (0, 0), s / 100)


def write_face_png(path, size):
    """Writes face_image(size) as a PNG. Works from any Python 3: when this
    interpreter has no cv2 (a pyenv python3 running the tests), Debian's
    /usr/bin/python3 draws it (this file's --face-png mode)."""
    try:
        import cv2
    except ImportError:
        _run([DEBIAN_PYTHON, os.path.abspath(__file__), "--face-png", path, str(size)])
        return
    if not cv2.imwrite(path, face_image(size)):
        raise RuntimeError("cannot write " + path)


def detect_faces(bgr_image, cascade_path=CASCADE):
    """The faces the frontal-face cascade finds in an image: a list of [x, y, w, h]."""
    import cv2

    cascade = cv2.CascadeClassifier(cascade_path)
    if cascade.empty():
        raise RuntimeError("cannot load the cascade " + cascade_path)
    gray = cv2.cvtColor(bgr_image, cv2.COLOR_BGR2GRAY)
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                     minSize=(40, 40))
    return [list(map(int, box)) for box in found]


def speak(sentence, wav_path, voice=VOICE, wpm=WORDS_PER_MINUTE):
    """Writes the sentence spoken by espeak-ng to wav_path, its leading and
    trailing silence cut off (so the speech starts and ends where the caller
    puts the file); returns its duration (s)."""
    raw = wav_path + ".raw.wav"
    _run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", raw, sentence])
    samples, rate = _read_mono16(raw)
    os.remove(raw)
    loud = [i for i, v in enumerate(samples) if abs(v) > 300]
    if loud:
        samples = samples[loud[0]:loud[-1] + 1]
    with wave.open(wav_path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % len(samples), *samples))
    return len(samples) / float(rate)


def _read_mono16(path):
    """The samples (a list of ints) and rate of a 16-bit mono WAV."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError("expected 16-bit mono audio in " + path)
        frames = w.readframes(w.getnframes())
        return list(struct.unpack("<%dh" % (len(frames) // 2), frames)), w.getframerate()


def _write_audio(path, seconds, speech_wav, speech_at, tone):
    """Writes the soundtrack: room tone, a sine tone (start, end, hz) and the speech.

    The "silence" is faint white noise (about -50 dBFS, seeded, so the same
    call writes the same file): real recordings have a noise floor, and
    PocketSphinx's cepstral mean normalisation goes astray on digital zeros
    followed by a pure tone (it then hears nothing of the speech)."""
    total = int(round(seconds * AUDIO_RATE))
    noise = random.Random(16)
    samples = [int(noise.gauss(0, 100)) for _ in range(total)]
    if tone is not None:
        start, end, hz = tone
        for i in range(int(start * AUDIO_RATE), min(total, int(end * AUDIO_RATE))):
            t = i / AUDIO_RATE
            fade = min(1.0, (t - start) / 0.02, (end - t) / 0.02)  # no clicks
            samples[i] = int(6000 * fade * math.sin(2 * math.pi * hz * t))
    if speech_wav is not None:
        speech, rate = _read_mono16(speech_wav)
        if rate != AUDIO_RATE:
            raise RuntimeError("espeak-ng wrote %d Hz, expected %d" % (rate, AUDIO_RATE))
        offset = int(round(speech_at * AUDIO_RATE))
        for i, v in enumerate(speech):
            if offset + i < total:
                samples[offset + i] = max(-32768, min(32767, samples[offset + i] + v))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(AUDIO_RATE)
        w.writeframes(struct.pack("<%dh" % total, *samples))


def _vtt_time(t):
    ms = int(round(t * 1000))
    return "%02d:%02d:%02d.%03d" % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)


def write_vtt(path, sentence, start, end, cue_words=6):
    """Writes a WebVTT file: the sentence in cues of about cue_words words,
    spread over [start, end] in proportion to their length in characters."""
    words = sentence.split()
    groups = [words[i:i + cue_words] for i in range(0, len(words), cue_words)] or [[]]
    total_chars = sum(len(" ".join(g)) for g in groups) or 1
    lines = ["WEBVTT", ""]
    t = start
    for n, group in enumerate(groups):
        text = " ".join(group)
        span = (end - start) * len(text) / total_chars
        lines += [str(n + 1), "%s --> %s" % (_vtt_time(t), _vtt_time(t + span)), text, ""]
        t += span
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def make_video(path, seconds=8.0, scene_cuts=(3.0,), sentence=DEFAULT_SENTENCE,
               face=True, size=(640, 360), subtitles=None, embed_subtitles=False,
               speech_at=None, tone=True, face_scene=None, video_id=None, title=None,
               fps=25):
    """Makes an H.264/AAC MP4 at `path` and returns what it put where.

    seconds: the duration. scene_cuts: times (s) of hard cuts, strictly
    inside (0, seconds). sentence: spoken by espeak-ng (None or "" for no
    speech), starting at speech_at (default: 0.5 s after the first cut when
    it fits there, else 0.5 s). face: overlay a drawn face on scene face_scene
    (default: the scene after the first cut, or the only scene) for that
    whole scene. size: (width, height). subtitles: a path to write a WebVTT
    file of the sentence to; embed_subtitles: also mux the cues into the MP4
    as a mov_text stream. tone: a 440 Hz tone, 0.8 s, in the first silence
    long enough (before the speech when there is room, else after it).
    video_id: written as the tag comment=omniva_video_id=<id> (what the
    Scraper writes); title: the title tag.

    Returns a dict: path, seconds, size, fps, scene_cuts, scenes (start, end,
    source), speech (start, end, sentence, voice) or None, tone (start, end,
    hz) or None, face (start, end, box [x, y, w, h]) or None, subtitles (the
    VTT path) or None, embedded_subtitles, video_id, title.
    Raises ValueError for a layout that does not fit, RuntimeError when a
    tool fails.
    """
    width, height = size
    cuts = sorted(float(c) for c in scene_cuts)
    if any(c <= 0 or c >= seconds for c in cuts):
        raise ValueError("scene cuts must lie strictly inside (0, %g): %r" % (seconds, cuts))
    bounds = [0.0] + cuts + [float(seconds)]
    scenes = [{"start": bounds[i], "end": bounds[i + 1],
               "source": SCENE_SOURCES[i % len(SCENE_SOURCES)]}
              for i in range(len(bounds) - 1)]
    if embed_subtitles and not sentence:
        raise ValueError("embedded subtitles need a sentence")

    work = tempfile.mkdtemp(prefix="omniva-media-")
    try:
        speech = None
        speech_wav = None
        if sentence:
            speech_wav = os.path.join(work, "speech.wav")
            length = speak(sentence, speech_wav)
            if speech_at is not None:
                start = speech_at
            elif cuts and cuts[0] + 0.5 + length <= seconds - 0.1:
                start = cuts[0] + 0.5
            else:
                start = 0.5
            if start < 0 or start + length > seconds - 0.1:
                raise ValueError("the sentence (%.2f s) does not fit at %.2f s in %g s"
                                 % (length, start, seconds))
            speech = {"start": round(start, 3), "end": round(start + length, 3),
                      "sentence": sentence, "voice": VOICE}

        tone_info = None
        if tone:
            gaps = [(0.0, speech["start"]), (speech["end"], float(seconds))] if speech \
                else [(0.0, float(seconds))]
            for a, b in gaps:
                if b - a >= 1.4:
                    tone_info = {"start": round(a + 0.3, 3), "end": round(a + 1.1, 3), "hz": 440}
                    break
        audio = os.path.join(work, "audio.wav")
        _write_audio(audio, seconds, speech_wav, speech["start"] if speech else 0,
                     (tone_info["start"], tone_info["end"], tone_info["hz"]) if tone_info else None)

        argv = ["ffmpeg", "-v", "error", "-y"]
        filters = []
        for i, scene in enumerate(scenes):
            source = scene["source"]
            argv += ["-f", "lavfi", "-i", "%s%ssize=%dx%d:rate=%d:duration=%.3f" % (
                source, ":" if "=" in source else "=", width, height, fps,
                scene["end"] - scene["start"])]
        n = len(scenes)
        filters.append("".join("[%d:v]" % i for i in range(n))
                       + "concat=n=%d:v=1:a=0,format=yuv420p[scenes]" % n)
        argv += ["-i", audio]
        audio_index = n
        next_index = n + 1
        video_label = "[scenes]"

        face_info = None
        if face:
            k = face_scene if face_scene is not None else (1 if cuts else 0)
            if not 0 <= k < len(scenes):
                raise ValueError("face_scene %r: there are %d scenes" % (k, len(scenes)))
            side = int(height * 0.6) // 2 * 2
            png = os.path.join(work, "face.png")
            write_face_png(png, side)
            x, y = (width - side) // 2, (height - side) // 2
            argv += ["-loop", "1", "-framerate", str(fps), "-i", png]
            filters.append("[%d:v]format=yuv420p[face]" % next_index)
            filters.append("%s[face]overlay=%d:%d:shortest=1:enable='between(t,%.3f,%.3f)'[v]"
                           % (video_label, x, y, scenes[k]["start"], scenes[k]["end"] - 0.001))
            next_index += 1
            video_label = "[v]"
            face_info = {"start": scenes[k]["start"], "end": scenes[k]["end"],
                         "box": [x, y, side, side]}

        if subtitles or embed_subtitles:
            vtt = subtitles or os.path.join(work, "subtitles.vtt")
            write_vtt(vtt, sentence, speech["start"], speech["end"])
        if embed_subtitles:
            argv += ["-i", vtt]
        argv += ["-filter_complex", ";".join(filters), "-map", video_label,
                 "-map", "%d:a" % audio_index]
        if embed_subtitles:
            argv += ["-map", "%d:s" % next_index, "-c:s", "mov_text",
                     "-metadata:s:s:0", "language=eng"]
        argv += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", str(fps),
                 "-c:a", "aac", "-b:a", "96k", "-ar", "44100", "-ac", "1",
                 "-t", "%.3f" % seconds, "-movflags", "+faststart"]
        if title:
            argv += ["-metadata", "title=" + title]
        if video_id:
            argv += ["-metadata", "comment=omniva_video_id=" + str(video_id)]
        argv.append(path)
        _run(argv)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return {
        "path": os.path.abspath(path),
        "seconds": float(seconds),
        "size": [width, height],
        "fps": fps,
        "scene_cuts": cuts,
        "scenes": scenes,
        "speech": speech,
        "tone": tone_info,
        "face": face_info,
        "subtitles": os.path.abspath(subtitles) if subtitles else None,
        "embedded_subtitles": bool(embed_subtitles),
        "video_id": str(video_id) if video_id else None,
        "title": title,
    }


CHANNEL_SENTENCES = [
    DEFAULT_SENTENCE,
    "Welcome back. Today omniva finds the best moments.",
    "Omniva publishes new clips every day.",
    "The quick brown fox jumps over omniva.",
]


def make_channel(out, videos=3, seconds=8.0, start_date="2024-01-01", embed_subtitles=False):
    """Writes `videos` videos into `out` and channel.json listing them.

    Video i is video-<i>.mp4, dated start_date + i days, with two cuts (at
    40% and 75% of its length, rounded to 0.1 s), a sentence containing
    "omniva", a face in its second scene; even-numbered videos also get
    subtitles, video-<i>.en.vtt (embedded too with embed_subtitles).
    Returns the channel document (also written to out/channel.json):
    {"title", "videos": [{"id", "title", "date" (YYYY-MM-DD), "upload_date"
    (YYYYMMDD), "file", "subtitles" (file name or null), "duration",
    "content" (what make_video returned, paths relative to out)}]}.
    """
    os.makedirs(out, exist_ok=True)
    first = datetime.date.fromisoformat(start_date)
    listing = {"title": "Omniva test channel", "videos": []}
    for i in range(videos):
        cuts = [round(seconds * 0.4, 1), round(seconds * 0.75, 1)]
        name = "video-%d.mp4" % i
        vtt = "video-%d.en.vtt" % i if i % 2 == 0 else None
        title = "Omniva test video %d" % (i + 1)
        info = make_video(os.path.join(out, name), seconds, scene_cuts=cuts,
                          sentence=CHANNEL_SENTENCES[i % len(CHANNEL_SENTENCES)],
                          subtitles=os.path.join(out, vtt) if vtt else None,
                          embed_subtitles=bool(vtt) and embed_subtitles, title=title)
        info["path"] = name
        info["subtitles"] = vtt
        day = first + datetime.timedelta(days=i)
        listing["videos"].append({
            "id": "video-%d" % i, "title": title, "date": day.isoformat(),
            "upload_date": day.strftime("%Y%m%d"), "file": name, "subtitles": vtt,
            "duration": float(seconds), "content": info})
    with open(os.path.join(out, "channel.json"), "w", encoding="utf-8") as f:
        json.dump(listing, f, indent=2)
    return listing


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--face-png"] and len(argv) == 3:  # write_face_png's helper mode
        write_face_png(argv[1], int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description="Makes test videos for a test channel.")
    parser.add_argument("--out", required=True, help="folder to write into")
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--start-date", default="2024-01-01")
    parser.add_argument("--embed-subtitles", action="store_true",
                        help="also mux the subtitles of the videos that have them")
    args = parser.parse_args(argv)
    if args.videos < 0 or args.seconds < 6:
        parser.error("--videos >= 0 and --seconds >= 6 (the sentence must fit)")
    try:
        listing = make_channel(args.out, args.videos, args.seconds, args.start_date,
                               args.embed_subtitles)
    except (ValueError, RuntimeError) as e:
        print("media.py: " + str(e), file=sys.stderr)
        return 1
    print(json.dumps({"out": os.path.abspath(args.out), "videos": len(listing["videos"])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
