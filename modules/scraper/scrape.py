#!/usr/bin/env python3
"""scraper@1: lists a target with yt-dlp, keeps the videos uploaded in the
job's range, downloads each as an MP4 with its subtitles embedded.

Reads the input manifest given by `--manifest` (docs/modules.md):

- `job`: a ScraperJob (contracts/schemas/ScraperJob.json): `target_url` (a
  channel page, an RSS feed, a playlist, a video page or a direct media
  URL; http or https), `requested_range` {since, until}, `platform`;
- `max_videos` (default 20): at most this many videos, the first in the
  target's own order;
- `socket_timeout_s` (default 30): yt-dlp's socket timeout.

Credentials come from the environment only, by the names the contract
lists: SCRAPER_COOKIES (a Netscape cookies file's content) and
SCRAPER_TOKEN (sent as `Authorization: Bearer <token>`).

Writes, in the target's order, one `videos` file (MP4; H.264/AAC as the
site gave it, remuxed; subtitles as mov_text streams; the MP4's `comment`
tag `omniva_video_id=<uuid>`) and one `metadata` record
(schemas/scraper.video@1.json) per video, then the `job` output (the job,
status DONE, updated_at now) and `output_manifest.json`.

A failure is written to the output manifest as
{"error": {"code", "message", "transient"}} and the program exits 1:
`network_timeout` (transient), `rate_limited` (HTTP 429, transient),
`auth_failed` (HTTP 401/403, a login wall, unusable credentials) and
`bad_command` (a job it cannot carry out: since after until, a URL that is
not http(s), a target where yt-dlp finds nothing). See README.md.

Python 3 standard library; runs /usr/bin/yt-dlp, ffmpeg and ffprobe.
"""

import argparse
import datetime
import hashlib
import html.parser
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) omniva-scraper/1"
# yt-dlp runs through the interpreter running this file when it is Debian's
# (the `yt_dlp` package), else as the `yt-dlp` program.
YT_DLP = "/usr/bin/yt-dlp" if os.path.exists("/usr/bin/yt-dlp") else (shutil.which("yt-dlp") or "yt-dlp")
LIST_DEPTH = 3            # nested playlists (a channel's tabs) followed this deep
MAX_PAGE_BYTES = 2 << 20  # what feed discovery reads of an HTML page
TWO_LETTER_TO_ISO639_2 = {  # used when yt_dlp's table cannot be imported
    "en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "pt": "por",
    "nl": "nld", "ru": "rus", "ja": "jpn", "zh": "zho", "ko": "kor", "ar": "ara",
}


class ScrapeError(Exception):
    """A failure with a stable code, reported in the output manifest."""

    def __init__(self, code, message, transient=False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# -- times ---------------------------------------------------------------------

def parse_instant(text, where):
    """An RFC 3339 date-time as an aware UTC datetime; bad_command otherwise."""
    if not isinstance(text, str):
        raise ScrapeError("bad_command", f"{where} must be an RFC 3339 date-time")
    s = text.strip()
    if s[-1:] in ("Z", "z"):
        s = s[:-1] + "+00:00"
    try:
        value = datetime.datetime.fromisoformat(s)
    except ValueError:
        raise ScrapeError("bad_command", f"{where} is not an RFC 3339 date-time: {text!r}")
    if value.tzinfo is None:
        raise ScrapeError("bad_command", f"{where} has no time zone: {text!r}")
    return value.astimezone(datetime.timezone.utc)


def iso_z(when, ms=False):
    text = when.astimezone(datetime.timezone.utc).isoformat(
        timespec="milliseconds" if ms else "seconds")
    return text.replace("+00:00", "Z")


def entry_time(info):
    """When a yt-dlp info dict says the video was uploaded (aware UTC), or None.
    A timestamp wins over a date alone (midnight UTC of that day)."""
    for key in ("timestamp", "release_timestamp"):
        value = info.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
            except (OverflowError, OSError, ValueError):
                pass
    for key in ("upload_date", "release_date"):
        value = info.get(key)
        if isinstance(value, str) and re.match(r"^\d{8}$", value):
            try:
                return datetime.datetime.strptime(value, "%Y%m%d").replace(
                    tzinfo=datetime.timezone.utc)
            except ValueError:
                pass
    return None


# -- the job ---------------------------------------------------------------------

def read_job(manifest):
    """The ScraperJob of the manifest and its checked parts; bad_command for a
    job this module cannot carry out (pre-flight already checked the schema)."""
    entry = manifest.get("inputs", {}).get("job")
    if not isinstance(entry, dict):
        raise ScrapeError("bad_command", "the input manifest has no job")
    job = entry.get("value")
    if job is None and entry.get("path"):
        try:
            with open(entry["path"], encoding="utf-8") as f:
                job = json.load(f)
        except (OSError, ValueError) as e:
            raise ScrapeError("bad_command", f"the job cannot be read: {e}")
    if not isinstance(job, dict):
        raise ScrapeError("bad_command", "the job is not a JSON object")
    try:
        job_uuid = uuid.UUID(str(job.get("job_id")))
    except ValueError:
        raise ScrapeError("bad_command", "job_id is not a UUID")
    url = job.get("target_url")
    if not isinstance(url, str) or not url.strip():
        raise ScrapeError("bad_command", "target_url is missing")
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ScrapeError("bad_command",
                          f"target_url must be an http or https URL, not {parts.scheme or 'no'} scheme")
    if not parts.hostname:
        raise ScrapeError("bad_command", "target_url has no host")
    rng = job.get("requested_range")
    if not isinstance(rng, dict):
        raise ScrapeError("bad_command", "requested_range is missing")
    since = parse_instant(rng.get("since"), "requested_range.since")
    until = parse_instant(rng.get("until"), "requested_range.until")
    if since > until:
        raise ScrapeError("bad_command",
                          f"requested_range.since ({rng['since']}) is after until ({rng['until']})")
    return job, job_uuid, url, since, until


def read_value(manifest, key, default, low, high):
    entry = manifest.get("inputs", {}).get(key)
    value = entry.get("value", default) if isinstance(entry, dict) else default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ScrapeError("bad_command", f"{key} must be an integer from {low} to {high}")
    return value


# -- credentials -----------------------------------------------------------------

class Credentials:
    """The secrets from the environment: a cookies file (written to a private
    temporary file for yt-dlp, removed by `close`) and a bearer token."""

    def __init__(self):
        self.cookie_file = None
        self.jar = None
        self.token = os.environ.get("SCRAPER_TOKEN") or None
        if self.token is not None:
            self.token = self.token.strip()
            if not self.token or any(c in self.token for c in "\r\n\0"):
                raise ScrapeError("auth_failed", "the secret SCRAPER_TOKEN is not a usable token "
                                  "(empty, or a line break in it)")
        text = os.environ.get("SCRAPER_COOKIES")
        if text:
            if not text.lstrip().startswith(("# Netscape HTTP Cookie File", "# HTTP Cookie File")):
                text = "# Netscape HTTP Cookie File\n" + text
            fd, self.cookie_file = tempfile.mkstemp(prefix="scraper-cookies-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text if text.endswith("\n") else text + "\n")
            self.jar = http.cookiejar.MozillaCookieJar(self.cookie_file)
            try:
                self.jar.load(ignore_discard=True, ignore_expires=True)
            except (http.cookiejar.LoadError, OSError, ValueError):
                self.close()
                raise ScrapeError("auth_failed",
                                  "the secret SCRAPER_COOKIES is not a Netscape cookies file")
            for cookie in self.jar:
                if not cookie.expires:
                    # 0 is a session cookie in the Netscape format (and to yt-dlp),
                    # not one that expired in 1970 (http.cookiejar's reading).
                    cookie.expires = None
                    cookie.discard = True

    def ytdlp_args(self):
        args = []
        if self.cookie_file:
            args += ["--cookies", self.cookie_file]
        if self.token:
            args += ["--add-header", f"Authorization:Bearer {self.token}"]
        return args

    def close(self):
        if self.cookie_file:
            try:
                os.unlink(self.cookie_file)
            except OSError:
                pass
            self.cookie_file = None


# -- yt-dlp ----------------------------------------------------------------------

def classify(text):
    """The error code (code, transient) a failure's text means, or None.

    An HTTP status wins: 429 rate_limited, 401/403 auth_failed, 5xx
    network_timeout (the site is failing: worth a later try). Then timeouts
    and broken connections (network_timeout), then login walls (auth_failed).
    """
    m = re.search(r"HTTP Error (\d{3})", text)
    if m:
        status = int(m.group(1))
        if status == 429:
            return "rate_limited", True
        if status in (401, 403):
            return "auth_failed", False
        if 500 <= status <= 599:
            return "network_timeout", True
    if re.search(r"timed? ?out|TimeoutError", text, re.I):
        return "network_timeout", True
    if re.search(r"Connection (refused|reset|aborted)|Name or service not known|"
                 r"Temporary failure in name resolution|Network is unreachable|"
                 r"RemoteDisconnected|IncompleteRead|No route to host", text, re.I):
        return "network_timeout", True
    if re.search(r"sign in|log ?in (required|to)|login required|private video|"
                 r"members[- ]only|use --cookies|requires authentication", text, re.I):
        return "auth_failed", False
    return None


def error_line(stderr):
    """yt-dlp's ERROR line (its last), without its boilerplate; else the last line."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("ERROR:")]
    line = (errors or lines or ["yt-dlp failed without a message"])[-1]
    line = re.sub(r";? *please report this issue on.*$", "", line)
    line = re.sub(r"^ERROR: (\[[^\]]+\] (None: )?)?", "", line)
    return line[:600]


def run_ytdlp(args, creds, timeout_s, what):
    """Runs yt-dlp; returns its stdout. A failure raises ScrapeError with the
    code `classify` finds, else `bad_command` (unsupported_url marks it)."""
    cmd = [YT_DLP, "--ignore-config", "--no-cache-dir", "--no-progress", "--no-warnings",
           "--user-agent", USER_AGENT] + creds.ytdlp_args() + args
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ScrapeError("network_timeout", f"{what}: yt-dlp did not finish in {timeout_s} s",
                          True)
    except OSError as e:
        raise ScrapeError("bad_command", f"{what}: yt-dlp cannot be started: {e}")
    if done.returncode == 0:
        return done.stdout
    line = error_line(done.stderr)
    found = classify(done.stderr)
    if found:
        raise ScrapeError(found[0], f"{what}: {line}", found[1])
    err = ScrapeError("bad_command", f"{what}: {line}")
    err.unsupported = "Unsupported URL" in done.stderr
    raise err


class FeedLinks(html.parser.HTMLParser):
    """Collects the RSS feeds an HTML page announces
    (<link rel="alternate" type="application/rss+xml" href=...>)."""

    def __init__(self):
        super().__init__()
        self.feeds = []

    def handle_starttag(self, tag, attrs):
        if tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        if "alternate" in a.get("rel", "").lower().split() \
                and a.get("type", "").lower().split(";")[0].strip() == "application/rss+xml" \
                and a.get("href"):
            self.feeds.append(a["href"])


def discover_feed(url, creds, timeout_s):
    """The first RSS feed the HTML page at `url` names (absolute), or None.
    What yt-dlp does for a site it has no extractor for and whose page has no
    player: a blog's or a channel's page announcing its feed."""
    headers = {"User-Agent": USER_AGENT}
    if creds.token:
        headers["Authorization"] = f"Bearer {creds.token}"
    handlers = [urllib.request.HTTPCookieProcessor(creds.jar)] if creds.jar else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(urllib.request.Request(url, headers=headers),
                         timeout=timeout_s) as resp:
            ctype = resp.headers.get("Content-Type", "")
            body = resp.read(MAX_PAGE_BYTES)
            final = resp.geturl()
    except urllib.error.HTTPError as e:
        found = classify(f"HTTP Error {e.code}")
        if found:
            raise ScrapeError(found[0], f"listing {url}: HTTP Error {e.code}: {e.reason}",
                              found[1])
        return None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as e:
        reason = getattr(e, "reason", e)
        found = classify(str(reason)) or ("network_timeout", True)
        raise ScrapeError(found[0], f"listing {url}: {reason}", found[1])
    if "html" not in ctype.lower():
        return None
    parser = FeedLinks()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
    except Exception:  # noqa: BLE001 (a page html.parser cannot read names no feed)
        return None
    for href in parser.feeds:
        feed = urllib.parse.urljoin(final, href)
        if urllib.parse.urlsplit(feed).scheme in ("http", "https"):
            return feed
    return None


def unsmuggle(url):
    """yt-dlp's entry URL without its private `#__youtubedl_smuggle=` part."""
    return url.split("#__youtubedl_smuggle=", 1)[0]


def flatten(info, depth=0):
    """The video entries of a yt-dlp -J --flat-playlist document, in order:
    dicts {url, title, when, info}."""
    kind = info.get("_type", "video")
    if kind in ("playlist", "multi_video"):
        out = []
        for entry in info.get("entries") or []:
            if isinstance(entry, dict) and depth < LIST_DEPTH:
                out += flatten(entry, depth + 1)
        return out
    url = None
    for key in ("webpage_url", "url", "original_url"):
        value = info.get(key)
        if isinstance(value, str) and urllib.parse.urlsplit(value).scheme in ("http", "https"):
            url = value
            break
    if url is None:
        return []
    return [{"url": unsmuggle(url), "title": info.get("title"), "when": entry_time(info),
             "info": info}]


def list_target(url, creds, timeout_s):
    """The target's video entries, in its order. A page where yt-dlp finds
    nothing is read for an RSS feed link, which is then listed."""
    args = ["-J", "--flat-playlist", "--extractor-retries", "0",
            "--socket-timeout", str(timeout_s)]
    try:
        out = run_ytdlp(args + [url], creds, 20 * timeout_s + 60, f"listing {url}")
    except ScrapeError as e:
        if not getattr(e, "unsupported", False):
            raise
        feed = discover_feed(url, creds, timeout_s)
        if not feed:
            raise ScrapeError("bad_command",
                              f"listing {url}: yt-dlp finds no video there and the page names "
                              "no RSS feed")
        log(f"yt-dlp finds no video on {url}; listing the feed it names: {feed}")
        out = run_ytdlp(args + [feed], creds, 20 * timeout_s + 60, f"listing {feed}")
    try:
        info = json.loads(out)
    except ValueError:
        raise ScrapeError("bad_command", f"listing {url}: yt-dlp wrote no JSON document")
    if not isinstance(info, dict):
        raise ScrapeError("bad_command", f"listing {url}: yt-dlp wrote no JSON object")
    entries = flatten(info)
    if len(entries) == 1 and info.get("_type", "video") not in ("playlist", "multi_video"):
        # A single video: its page URL is the one asked for.
        entries[0]["url"] = unsmuggle(info.get("webpage_url") or url)
    return entries


# -- one video -------------------------------------------------------------------

def iso639_2(lang):
    """The ISO 639-2 code MP4 wants for a subtitle language ("en-US" -> "eng")."""
    primary = lang.split("-")[0].split("_")[0].lower()
    if len(primary) == 3 and primary.isalpha():
        return primary
    try:
        from yt_dlp.utils import ISO639Utils  # Debian's yt-dlp package
        return ISO639Utils.short2long(primary) or "und"
    except Exception:  # noqa: BLE001 (any trouble importing it: the small table)
        return TWO_LETTER_TO_ISO639_2.get(primary, "und")


def ffprobe(path):
    done = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                           "-of", "json", path], capture_output=True, text=True,
                          errors="replace", stdin=subprocess.DEVNULL, timeout=120)
    if done.returncode != 0:
        return None
    try:
        return json.loads(done.stdout)
    except ValueError:
        return None


def remux(video, subs, dest, video_id, title):
    """Writes `dest`: the first video and audio streams of `video`, each
    subtitle file of `subs` ({lang: path}) as a mov_text stream with its
    language, the `comment` tag omniva_video_id=<uuid> and the title. Copies
    the streams; re-encodes (H.264/AAC) only when MP4 cannot hold them.
    Returns the languages embedded."""
    def command(encode, langs):
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", video]
        for lang in langs:
            cmd += ["-i", subs[lang]]
        cmd += ["-map", "0:v:0", "-map", "0:a:0?"]
        for i in range(len(langs)):
            cmd += ["-map", f"{i + 1}:0"]
        cmd += (["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                 "-c:a", "aac"] if encode else ["-c:v", "copy", "-c:a", "copy"])
        if langs:
            cmd += ["-c:s", "mov_text"]
        for i, lang in enumerate(langs):
            cmd += [f"-metadata:s:s:{i}", f"language={iso639_2(lang)}"]
        cmd += ["-map_metadata", "-1", "-metadata", f"comment=omniva_video_id={video_id}",
                "-metadata", f"title={title}", "-movflags", "+faststart", "-f", "mp4", dest]
        return cmd

    langs = sorted(subs)
    last = ""
    for encode, use in ((False, langs), (False, []), (True, langs), (True, [])):
        done = subprocess.run(command(encode, use), capture_output=True, text=True,
                              errors="replace", stdin=subprocess.DEVNULL, timeout=3600)
        if done.returncode == 0:
            if use != langs:
                log(f"subtitles {langs} could not be embedded ({last}); kept the video without")
            return use
        last = (done.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
    raise ScrapeError("bad_command", f"ffmpeg cannot make an MP4 of {os.path.basename(video)}: {last}")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def clean_title(info, fallback):
    """The listing's title, else yt-dlp's; the HTML5 embed's " (1)" suffix
    (yt-dlp numbers the players of a page) dropped."""
    title = info.get("title") if isinstance(info.get("title"), str) else None
    if title and info.get("extractor") == "html5" and re.search(r"-1$", str(info.get("id"))):
        title = re.sub(r" \(1\)$", "", title)
    return (title or fallback or "untitled").strip()[:500] or "untitled"


def download(entry, index, work, dest, job, job_uuid, creds, timeout_s):
    """Downloads one entry into `dest` (MP4) and returns its metadata record."""
    folder = os.path.join(work, str(index))
    os.makedirs(folder, exist_ok=True)
    out = run_ytdlp(
        ["-j", "--no-simulate", "--no-playlist", "--no-mtime", "--no-part",
         "--socket-timeout", str(timeout_s), "--retries", "1", "--fragment-retries", "1",
         "--extractor-retries", "0",
         "-f", "bv*[ext=mp4]+ba[ext=m4a]/b[ext=mp4]/bv*+ba/b", "--merge-output-format", "mp4",
         "--write-subs", "--sub-langs", "all,-live_chat", "--sub-format", "vtt/srt/best",
         "-o", os.path.join(folder, "video.%(ext)s"), entry["url"]],
        creds, 3600, f"downloading {entry['url']}")
    info = {}
    for line in out.splitlines():
        if line.startswith("{"):
            try:
                info = json.loads(line)
            except ValueError:
                pass
    names = os.listdir(folder)
    videos = [n for n in names if n.startswith("video.") and n.count(".") == 1
              and not n.endswith((".vtt", ".srt", ".json", ".part", ".ytdl"))]
    if not videos:
        raise ScrapeError("bad_command", f"downloading {entry['url']}: yt-dlp wrote no video file")
    subs = {}
    for n in names:
        m = re.match(r"^video\.([A-Za-z0-9_-]+)\.(vtt|srt|ass|ttml)$", n)
        if m:
            subs[m.group(1)] = os.path.join(folder, n)
    video_id = str(uuid.uuid5(job_uuid, entry["url"]))
    title = clean_title({**info, "title": entry.get("title") or info.get("title")},
                        info.get("id"))
    embedded = remux(os.path.join(folder, videos[0]), subs, dest, video_id, title)
    probe = ffprobe(dest)
    streams = (probe or {}).get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if not video or not video.get("width") or not video.get("height"):
        raise ScrapeError("bad_command", f"downloading {entry['url']}: the file has no video stream")
    try:
        duration = float(probe.get("format", {}).get("duration") or video.get("duration") or 0)
    except ValueError:
        duration = 0.0
    when = entry["when"] or entry_time(info)
    return {
        "video_id": video_id,
        "job_id": str(job["job_id"]),
        "platform": job.get("platform", "other"),
        "source_url": entry["url"],
        "title": title,
        "uploaded_at": iso_z(when),
        "duration_s": round(max(duration, 0.0), 3),
        "width": int(video["width"]),
        "height": int(video["height"]),
        "subtitle_languages": embedded,
        "size_bytes": os.path.getsize(dest),
        "sha256": sha256_of(dest),
        "extractor": str(info.get("extractor") or info.get("extractor_key") or "unknown"),
    }


# -- the run ---------------------------------------------------------------------

def scrape(manifest):
    """Runs the job; returns the output manifest's `outputs`."""
    job, job_uuid, url, since, until = read_job(manifest)
    max_videos = read_value(manifest, "max_videos", 20, 1, 1000)
    timeout_s = read_value(manifest, "socket_timeout_s", 30, 1, 300)
    out_dir = manifest["output_dir"]
    outputs = manifest.get("outputs", {})
    creds = Credentials()
    work = tempfile.mkdtemp(prefix=".scraper-work-", dir=out_dir)
    try:
        entries = list_target(url, creds, timeout_s)
        log(f"listed {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} at {url}")
        kept = []
        for entry in entries:
            if entry["when"] is None:
                # The listing had no date (a playlist of bare links): ask for the video itself.
                try:
                    full = json.loads(run_ytdlp(
                        ["-J", "--no-playlist", "--extractor-retries", "0",
                         "--socket-timeout", str(timeout_s), entry["url"]],
                        creds, 20 * timeout_s + 60, f"reading {entry['url']}"))
                    entry["when"] = entry_time(full) if isinstance(full, dict) else None
                except ScrapeError as e:
                    if e.code != "bad_command":
                        raise
                    log(f"left out {entry['url']}: {e.message}")
                    continue
                except ValueError:
                    pass
            if entry["when"] is None:
                log(f"left out {entry['url']}: its upload date is unknown")
                continue
            if not since <= entry["when"] <= until:
                log(f"left out {entry['url']}: uploaded {iso_z(entry['when'])}, "
                    f"outside {iso_z(since)} .. {iso_z(until)}")
                continue
            if any(k["url"] == entry["url"] for k in kept):
                continue  # listed twice: one video, one file
            kept.append(entry)
            if len(kept) >= max_videos:
                break
        log(f"{len(kept)} video(s) in range")

        vprefix = outputs.get("videos", {}).get("prefix") or os.path.join(out_dir, "videos-")
        mprefix = outputs.get("metadata", {}).get("prefix") or os.path.join(out_dir, "metadata-")
        video_paths, meta_paths, skipped = [], [], []
        for entry in kept:
            i = len(video_paths)
            dest = f"{vprefix}{i}.mp4"
            try:
                record = download(entry, i, work, dest, job, job_uuid, creds, timeout_s)
            except ScrapeError as e:
                if e.code != "bad_command":
                    raise  # rate limits, timeouts, refused credentials end the run
                log(f"skipped {entry['url']}: {e.message}")
                skipped.append(e.message)
                if os.path.exists(dest):
                    os.unlink(dest)
                continue
            meta = f"{mprefix}{i}.json"
            with open(meta, "w", encoding="utf-8") as f:
                json.dump(record, f, indent=2)
                f.write("\n")
            video_paths.append({"path": dest, "media_type": "video/mp4"})
            meta_paths.append({"path": meta, "media_type": "application/json"})
            log(f"video {i}: {record['title']!r} {record['uploaded_at']} "
                f"{record['duration_s']} s {record['width']}x{record['height']} "
                f"subtitles {record['subtitle_languages']} from {record['source_url']}")
        if kept and not video_paths:
            raise ScrapeError("bad_command", f"none of the {len(kept)} video(s) in range could "
                              f"be downloaded; the first: {skipped[0]}")

        done = dict(job)
        done["status"] = "DONE"
        done["updated_at"] = iso_z(datetime.datetime.now(datetime.timezone.utc), ms=True)
        job_path = outputs.get("job", {}).get("path") or os.path.join(out_dir, "job.json")
        with open(job_path, "w", encoding="utf-8") as f:
            json.dump(done, f, indent=2)
            f.write("\n")
        return {"videos": {"paths": video_paths},
                "metadata": {"paths": meta_paths},
                "job": {"path": job_path, "media_type": "application/json"}}
    finally:
        creds.close()
        shutil.rmtree(work, ignore_errors=True)


def write_manifest(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="input_manifest.json")
    args = parser.parse_args()
    try:
        with open(args.manifest, encoding="utf-8") as f:
            manifest = json.load(f)
        out_dir = manifest["output_dir"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        log(f"scraper: cannot read the input manifest {args.manifest}: {e}")
        return 2
    result = os.path.join(out_dir, "output_manifest.json")
    try:
        outputs = scrape(manifest)
    except ScrapeError as e:
        log(f"scraper: {e.code}{' (transient)' if e.transient else ''}: {e.message}")
        write_manifest(result, {"error": {"code": e.code, "message": e.message,
                                          "transient": e.transient}})
        return 1
    write_manifest(result, {"outputs": outputs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
