#!/usr/bin/env python3
"""A local test "channel" that yt-dlp scrapes as it would a real site.

Serves a folder of MP4 files on 127.0.0.1 (Python standard library only:
http.server with a thread per request), for the content modules' tests, the
`make run` demo and the dashboard's browser tests. Nothing leaves the
machine; nothing is downloaded.

The folder
----------
    D/<id>.mp4            a video; <id> (the file's stem) is its id
    D/<id>.vtt            its subtitles in English (optional), or
    D/<id>.<lang>.vtt     its subtitles in <lang> (any number of languages)
    D/channel.json        optional sidecar:
        {"title": "Test channel",
         "videos": {"<id>": {"title": "...",
                             "uploaded_at": "2024-05-01T12:00:00Z",
                             "description": "..."}}}

A video without a sidecar entry is titled by its id and dated by its file's
modification time. Videos are listed newest first (then by id).

What it serves (yt-dlp 2023.03.04's generic extractor reads all of it)
-----------------------------------------------------------------------
    /                      the channel page (HTML): a link per video and the
                           feed's autodiscovery link
                           <link rel="alternate" type="application/rss+xml">.
                           yt-dlp alone finds no video on it ("Unsupported
                           URL"); scraper@1 then follows the feed link.
    /feed.xml              RSS 2.0: per video an <item> with <title>, <link>
                           (its page), <guid> (its id), <pubDate> (RFC 2822),
                           <description>. yt-dlp lists it as a playlist whose
                           entries carry title and timestamp (--flat-playlist).
                           /feed.xml?enclosures=1 adds <enclosure url=MP4>:
                           yt-dlp then takes the MP4 directly (no subtitles).
    /v/<id>                the video's page: <video><source type=video/mp4>
                           <track kind="subtitles" srclang=..> (yt-dlp's HTML5
                           embed: formats and subtitles); Last-Modified is the
                           upload date (yt-dlp's `timestamp`).
    /media/<id>.mp4        the file (video/mp4, Range requests, Last-Modified
                           = the upload date): a direct media URL.
    /media/<id>.<lang>.vtt the subtitles (text/vtt).
    /_requests             JSON: every request served so far, [{method, path,
                           status}] (never faulted, never counted).
    /_faults               GET: the fault settings; POST a JSON object with
                           any of the settings below to change them.

Fault modes (for error-path tests; all off by default)
------------------------------------------------------
    rate_limit=N     the next N requests answer 429 Too Many Requests
                     (Retry-After: 1); -1: every request. Counted down per
                     request, so N=1 fails one attempt's first request and
                     lets a retry through.
    auth="cookie"    every request needs the cookie <cookie_name>=<cookie_value>
                     (default omniva_channel=letmein); "token": the header
                     Authorization: Bearer <token> (default s3cret);
                     "either": one of the two. No credentials: 401 (with
                     WWW-Authenticate); wrong ones: 403.
    slow=S           waits S seconds before answering each request (a client
                     with a shorter socket timeout times out).

Library
-------
    from channel_server import start, ChannelServer, make_channel
    url, stop = start(folder, port=0, **faults)   # url: "http://127.0.0.1:P/"
    ...; stop()
    server = ChannelServer(folder, port=0, title=None, videos=None, rate_limit=0,
                           auth=None, token="s3cret", cookie=("omniva_channel", "letmein"),
                           slow=0)   # the same, as an object (videos: {id: {title?,
                                     # uploaded_at?, description?}} over the sidecar):
    server.url, server.feed_url, server.page_url(id), server.media_url(id)
    server.set_faults(rate_limit=0, auth=None, slow=0); server.requests; server.stop()
    make_channel(folder, videos)   # writes test media with ffmpeg (and espeak-ng):
        videos: [{"id": "v1", "title": "...", "uploaded_at": "...Z",
                  "seconds": 2, "subtitles": "text" | None, "speech": "text" | None}]
    cookies_file_text(url, name, value) -> a Netscape cookies file's content

Command line
------------
    /usr/bin/python3 tests/content/channel_server.py --folder D [--port P]
        [--make N] [--rate-limit N] [--auth cookie|token|either]
        [--token T] [--cookie NAME=VALUE] [--slow S]
Prints the channel's URL on stdout (one line, flushed) and serves until
SIGINT or SIGTERM. --make N fills an empty folder with N short videos first
(the first with subtitles).
"""

import argparse
import datetime
import email.utils
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape as xml_escape

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")  # no dot: <id>.<lang>.vtt
DEFAULT_COOKIE = ("omniva_channel", "letmein")
DEFAULT_TOKEN = "s3cret"


# -- the folder ------------------------------------------------------------------

def _parse_time(text):
    """An ISO 8601 time (`Z` or an offset; a date alone is midnight UTC) as
    an aware datetime in UTC."""
    text = text.strip()
    if len(text) == 10:
        text += "T00:00:00Z"
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def load_videos(folder, overrides=None):
    """The channel's videos: a list of dicts {id, title, description,
    uploaded (aware datetime), path, size, subtitles: {lang: path}}, newest
    first. `overrides` ({id: {title?, uploaded_at?, description?}}) wins
    over the sidecar."""
    sidecar = {}
    side_path = os.path.join(folder, "channel.json")
    if os.path.exists(side_path):
        with open(side_path, encoding="utf-8") as f:
            sidecar = json.load(f).get("videos", {})
    if isinstance(sidecar, list):
        # tests/content/media.py's channel.json: a list of {id, title, date}.
        sidecar = {v["id"]: {"title": v.get("title"),
                             "uploaded_at": v.get("uploaded_at") or v.get("date"),
                             "description": v.get("description")}
                   for v in sidecar if isinstance(v, dict) and "id" in v}
    videos = []
    names = sorted(os.listdir(folder))
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() != ".mp4" or not ID_RE.match(stem):
            continue
        path = os.path.join(folder, name)
        meta = dict(sidecar.get(stem, {}))
        meta.update((overrides or {}).get(stem, {}))
        if meta.get("uploaded_at"):
            uploaded = _parse_time(meta["uploaded_at"])
        else:
            uploaded = datetime.datetime.fromtimestamp(
                int(os.path.getmtime(path)), datetime.timezone.utc)
        subtitles = {}
        for other in names:
            if other == stem + ".vtt":
                subtitles.setdefault("en", os.path.join(folder, other))
            elif other.startswith(stem + ".") and other.endswith(".vtt"):
                lang = other[len(stem) + 1:-4]
                if re.match(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", lang):
                    subtitles[lang] = os.path.join(folder, other)
        videos.append({
            "id": stem,
            "title": meta.get("title") or stem,
            "description": meta.get("description") or "",
            "uploaded": uploaded,
            "path": path,
            "size": os.path.getsize(path),
            "subtitles": subtitles,
        })
    videos.sort(key=lambda v: (-v["uploaded"].timestamp(), v["id"]))
    return videos


def _http_date(when):
    return email.utils.format_datetime(when, usegmt=True)


# -- the server ------------------------------------------------------------------

class ChannelServer:
    """The channel on 127.0.0.1:`port` (0: a free port), serving from a
    thread of its own until `stop()`. Fault options: see the module's
    docstring (`rate_limit`, `auth`, `token`, `cookie`, `slow`)."""

    def __init__(self, folder, port=0, title=None, videos=None, rate_limit=0,
                 auth=None, token=DEFAULT_TOKEN, cookie=DEFAULT_COOKIE, slow=0.0):
        self.folder = os.path.abspath(folder)
        self.overrides = videos or {}
        self.title = title
        self.lock = threading.Lock()
        self.requests = []
        self.faults = {}
        self.set_faults(rate_limit=rate_limit, auth=auth, token=token,
                        cookie=cookie, slow=slow)
        handler = type("Handler", (_Handler,), {"channel": self})
        self.httpd = _Server(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.feed_url = self.url + "feed.xml"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       name="channel-server", daemon=True)
        self.thread.start()

    def set_faults(self, **faults):
        """Changes fault settings: rate_limit (int), auth (None, "cookie",
        "token", "either"), token (str), cookie ((name, value) or
        "name=value"), slow (seconds)."""
        with self.lock:
            for key, value in faults.items():
                if key == "rate_limit":
                    value = int(value or 0)
                elif key == "auth":
                    if value not in (None, "", "cookie", "token", "either"):
                        raise ValueError(f"auth must be cookie, token or either, not {value!r}")
                    value = value or None
                elif key == "slow":
                    value = float(value or 0)
                elif key == "cookie":
                    if isinstance(value, str):
                        value = tuple(value.split("=", 1))
                    value = tuple(value)
                elif key == "token":
                    value = str(value)
                else:
                    raise ValueError(f"unknown fault setting {key!r}")
                self.faults[key] = value

    def faults_doc(self):
        with self.lock:
            doc = dict(self.faults)
        doc["cookie"] = "=".join(doc["cookie"])
        return doc

    def page_url(self, video_id):
        return f"{self.url}v/{urllib.parse.quote(video_id)}"

    def media_url(self, video_id):
        return f"{self.url}media/{urllib.parse.quote(video_id)}.mp4"

    def videos(self):
        return load_videos(self.folder, self.overrides)

    def channel_title(self):
        if self.title:
            return self.title
        side = os.path.join(self.folder, "channel.json")
        if os.path.exists(side):
            with open(side, encoding="utf-8") as f:
                title = json.load(f).get("title")
            if title:
                return title
        return "Omniva test channel"

    def stop(self):
        """Stops serving and closes the socket (requests in flight are left
        to their daemon threads)."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    # What a request gets when a fault applies: (status, headers) or None.
    def fault_for(self, headers):
        with self.lock:
            slow = self.faults["slow"]
            auth = self.faults["auth"]
            token = self.faults["token"]
            cookie = self.faults["cookie"]
            limited = self.faults["rate_limit"] != 0
            if self.faults["rate_limit"] > 0:
                self.faults["rate_limit"] -= 1
        if slow > 0:
            time.sleep(slow)
        if limited:
            return 429, {"Retry-After": "1"}
        if auth:
            given_token = None
            authz = headers.get("Authorization", "")
            if authz.lower().startswith("bearer "):
                given_token = authz[7:].strip()
            given_cookie = None
            for part in headers.get("Cookie", "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == cookie[0]:
                    given_cookie = value
            ok_token = auth in ("token", "either") and given_token == token
            ok_cookie = auth in ("cookie", "either") and given_cookie == cookie[1]
            if not (ok_token or ok_cookie):
                if given_token is None and given_cookie is None:
                    return 401, {"WWW-Authenticate": 'Bearer realm="channel"'}
                return 403, {}
        return None


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that goes away mid-answer (a player seeking, a timed-out
        # scraper) is normal here; anything else is printed as usual.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    channel = None  # the ChannelServer (set on the subclass)
    protocol_version = "HTTP/1.1"
    server_version = "OmnivaChannel/1"

    def log_message(self, fmt, *args):  # quiet: the tests read /_requests
        pass

    def _record(self, status):
        with self.channel.lock:
            self.channel.requests.append(
                {"method": self.command, "path": self.path, "status": status})

    def _send(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=None,
              head_only=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head_only:
            self.wfile.write(body)
        self._record(status)

    def do_HEAD(self):
        self.do_GET(head_only=True)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path != "/_faults":
            return self._send(405, b"method not allowed\n")
        try:
            self.channel.set_faults(**json.loads(body or b"{}"))
        except (ValueError, TypeError) as e:
            return self._send(400, f"{e}\n".encode())
        self._send(200, json.dumps(self.channel.faults_doc()).encode(), "application/json")

    def do_GET(self, head_only=False):
        parts = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parts.path)
        query = urllib.parse.parse_qs(parts.query)
        if path == "/_requests":
            with self.channel.lock:
                body = json.dumps(self.channel.requests).encode()
            return self._send(200, body, "application/json", head_only=head_only)
        if path == "/_faults":
            return self._send(200, json.dumps(self.channel.faults_doc()).encode(),
                              "application/json", head_only=head_only)
        fault = self.channel.fault_for(self.headers)
        if fault:
            status, headers = fault
            return self._send(status, f"{status}\n".encode(), headers=headers,
                              head_only=head_only)
        try:
            videos = self.channel.videos()
        except (OSError, ValueError) as e:
            return self._send(500, f"cannot read the channel folder: {e}\n".encode())
        by_id = {v["id"]: v for v in videos}
        if path in ("/", "/channel", "/index.html"):
            return self._send(200, self._channel_page(videos).encode(),
                              "text/html; charset=utf-8", head_only=head_only)
        if path in ("/feed.xml", "/feed", "/rss"):
            enclosures = query.get("enclosures", ["0"])[0] not in ("0", "", "false")
            return self._send(200, self._feed(videos, enclosures).encode(),
                              "application/rss+xml; charset=utf-8", head_only=head_only)
        m = re.match(r"^/v/([^/]+)$", path)
        if m and m.group(1) in by_id:
            v = by_id[m.group(1)]
            return self._send(200, self._video_page(v).encode(), "text/html; charset=utf-8",
                              {"Last-Modified": _http_date(v["uploaded"])}, head_only)
        m = re.match(r"^/media/([^/]+)\.mp4$", path)
        if m and m.group(1) in by_id:
            return self._file(by_id[m.group(1)]["path"], "video/mp4",
                              by_id[m.group(1)]["uploaded"], head_only)
        m = re.match(r"^/media/([^/]+)\.([A-Za-z0-9-]+)\.vtt$", path)
        if m and m.group(1) in by_id and m.group(2) in by_id[m.group(1)]["subtitles"]:
            v = by_id[m.group(1)]
            return self._file(v["subtitles"][m.group(2)], "text/vtt; charset=utf-8",
                              v["uploaded"], head_only)
        self._send(404, b"not found\n", head_only=head_only)

    def _file(self, path, ctype, uploaded, head_only):
        size = os.path.getsize(path)
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range", "")
        m = re.match(r"^bytes=(\d*)-(\d*)$", rng.strip())
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:
                start = max(0, size - int(m.group(2)))
            if start > end or start >= size:
                return self._send(416, b"", headers={"Content-Range": f"bytes */{size}"},
                                  head_only=head_only)
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", _http_date(uploaded))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not head_only:
            with open(path, "rb") as f:
                f.seek(start)
                left = end - start + 1
                while left > 0:
                    chunk = f.read(min(left, 1 << 16))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
        self._record(status)

    def _channel_page(self, videos):
        title = html.escape(self.channel.channel_title())
        rows = "\n".join(
            f'  <li><a href="/v/{urllib.parse.quote(v["id"])}">{html.escape(v["title"])}</a>'
            f' <time datetime="{v["uploaded"].strftime("%Y-%m-%dT%H:%M:%SZ")}">'
            f'{v["uploaded"].strftime("%Y-%m-%d")}</time></li>'
            for v in videos)
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n"
                f'<link rel="alternate" type="application/rss+xml" title="{title}" '
                f'href="/feed.xml">\n</head><body>\n<h1>{title}</h1>\n<ul>\n{rows}\n</ul>\n'
                "</body></html>\n")

    def _video_page(self, v):
        title = html.escape(v["title"])
        tracks = "".join(
            f'\n  <track kind="subtitles" srclang="{lang}" label="{lang}" '
            f'src="/media/{urllib.parse.quote(v["id"])}.{lang}.vtt">'
            for lang in sorted(v["subtitles"]))
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n"
                f'<meta property="og:title" content="{title}">\n'
                f'<meta property="og:description" content="{html.escape(v["description"])}">\n'
                f"</head><body>\n<h1>{title}</h1>\n"
                f'<video controls width="640">\n'
                f'  <source src="/media/{urllib.parse.quote(v["id"])}.mp4" type="video/mp4">'
                f"{tracks}\n</video>\n"
                f'<p>uploaded <time datetime="{v["uploaded"].strftime("%Y-%m-%dT%H:%M:%SZ")}">'
                f'{v["uploaded"].strftime("%Y-%m-%d %H:%M")}</time></p>\n'
                f'<p>{html.escape(v["description"])}</p>\n<p><a href="/">all videos</a></p>\n'
                "</body></html>\n")

    def _feed(self, videos, enclosures):
        base = self.channel.url
        items = []
        for v in videos:
            enclosure = ""
            if enclosures:
                enclosure = (f'\n    <enclosure url="{xml_escape(self.channel.media_url(v["id"]))}"'
                             f' length="{v["size"]}" type="video/mp4"/>')
            items.append(
                "  <item>\n"
                f"    <title>{xml_escape(v['title'])}</title>\n"
                f"    <link>{xml_escape(self.channel.page_url(v['id']))}</link>\n"
                f'    <guid isPermaLink="false">{xml_escape(v["id"])}</guid>\n'
                f"    <pubDate>{email.utils.format_datetime(v['uploaded'])}</pubDate>\n"
                f"    <description>{xml_escape(v['description'])}</description>"
                f"{enclosure}\n  </item>")
        title = xml_escape(self.channel.channel_title())
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
                f"  <title>{title}</title>\n  <link>{xml_escape(base)}</link>\n"
                f"  <description>{title}</description>\n" + "\n".join(items)
                + "\n</channel>\n</rss>\n")


def start(folder, port=0, **options):
    """Starts a ChannelServer; returns (url, stop): the channel page's URL
    ("http://127.0.0.1:P/") and a function that stops it."""
    server = ChannelServer(folder, port, **options)
    return server.url, server.stop


def cookies_file_text(url, name=DEFAULT_COOKIE[0], value=DEFAULT_COOKIE[1]):
    """A Netscape cookies file (what SCRAPER_COOKIES holds) with one cookie
    for the host of `url`."""
    host = urllib.parse.urlsplit(url).hostname
    return ("# Netscape HTTP Cookie File\n"
            f"{host}\tFALSE\t/\tFALSE\t0\t{name}\t{value}\n")


# -- test media --------------------------------------------------------------------

def _vtt(text, seconds):
    """A WebVTT file: `text` split into cues of about a second each."""
    words = text.split()
    cues = max(1, min(len(words), int(seconds)))
    per = max(1, -(-len(words) // cues))
    lines = ["WEBVTT", ""]
    span = seconds / cues
    for i in range(cues):
        chunk = " ".join(words[i * per:(i + 1) * per])
        if not chunk:
            break
        a, b = i * span, min(seconds, (i + 1) * span)
        fmt = lambda t: f"00:{int(t // 60):02d}:{t % 60:06.3f}"  # noqa: E731
        lines += [f"{fmt(a)} --> {fmt(b)}", chunk, ""]
    return "\n".join(lines)


def make_video(path, seconds=2.0, size="320x240", rate=25, tone=440, speech=None,
               pattern="testsrc"):
    """Writes an H.264/AAC MP4 of `seconds` of ffmpeg's `pattern` source
    (testsrc, testsrc2, smptebars, ...) with a sine `tone`, or the spoken
    `speech` (espeak-ng) padded or cut to that length."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y",
           "-f", "lavfi", "-i", f"{pattern}=size={size}:rate={rate}:duration={seconds}"]
    tmp = None
    if speech:
        tmp = tempfile.NamedTemporaryFile(suffix=".wav", delete=False)
        tmp.close()
        subprocess.run(["espeak-ng", "-w", tmp.name, speech], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cmd += ["-i", tmp.name, "-filter_complex", f"[1:a]apad,atrim=0:{seconds}[a]",
                "-map", "0:v", "-map", "[a]"]
    else:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency={tone}:duration={seconds}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", path]
    try:
        subprocess.run(cmd, check=True)
    finally:
        if tmp:
            os.unlink(tmp.name)


def make_channel(folder, videos, title="Omniva test channel"):
    """Fills `folder` with test media: for each dict of `videos` (`id`,
    `title`, `uploaded_at`, `seconds` (2), `subtitles` (a text, written as
    <id>.vtt, or a {lang: text} dict), `speech`, `size`, `tone`, `pattern`)
    an MP4, its subtitles and its channel.json entry. Returns the folder."""
    os.makedirs(folder, exist_ok=True)
    side = {"title": title, "videos": {}}
    for i, v in enumerate(videos):
        vid = v["id"]
        seconds = float(v.get("seconds", 2))
        make_video(os.path.join(folder, vid + ".mp4"), seconds, v.get("size", "320x240"),
                   tone=v.get("tone", 440 + 110 * i), speech=v.get("speech"),
                   pattern=v.get("pattern", "testsrc"))
        subs = v.get("subtitles")
        if isinstance(subs, str):
            subs = {"en": subs}
        for lang, text in (subs or {}).items():
            name = f"{vid}.vtt" if lang == "en" and len(subs) == 1 else f"{vid}.{lang}.vtt"
            with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
                f.write(_vtt(text, seconds))
        entry = {"title": v.get("title", vid)}
        if v.get("uploaded_at"):
            entry["uploaded_at"] = v["uploaded_at"]
        if v.get("description"):
            entry["description"] = v["description"]
        side["videos"][vid] = entry
    with open(os.path.join(folder, "channel.json"), "w", encoding="utf-8") as f:
        json.dump(side, f, indent=2)
    return folder


def sample_videos(count):
    """`count` videos for --make: a day apart, ending now; the first with
    subtitles."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    out = []
    for i in range(count):
        when = now - datetime.timedelta(days=count - 1 - i)
        out.append({"id": f"video{i + 1}", "title": f"Test video {i + 1}",
                    "uploaded_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "seconds": 3,
                    "subtitles": "hello from the omniva test channel" if i == 0 else None})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True, help="the folder of MP4 files")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--title", help="the channel's title")
    parser.add_argument("--make", type=int, default=0, metavar="N",
                        help="make N short test videos first when the folder has no MP4")
    parser.add_argument("--rate-limit", type=int, default=0, metavar="N",
                        help="the next N requests answer 429 (-1: all)")
    parser.add_argument("--auth", choices=["cookie", "token", "either"])
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--cookie", default="=".join(DEFAULT_COOKIE), metavar="NAME=VALUE")
    parser.add_argument("--slow", type=float, default=0.0, metavar="S",
                        help="wait S seconds before each answer")
    args = parser.parse_args(argv)
    os.makedirs(args.folder, exist_ok=True)
    if args.make and not any(n.endswith(".mp4") for n in os.listdir(args.folder)):
        if not shutil.which("ffmpeg"):
            parser.error("--make needs ffmpeg")
        make_channel(args.folder, sample_videos(args.make), args.title or "Omniva test channel")
    server = ChannelServer(args.folder, args.port, title=args.title,
                           rate_limit=args.rate_limit, auth=args.auth, token=args.token,
                           cookie=args.cookie, slow=args.slow)
    print(server.url, flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(1):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
