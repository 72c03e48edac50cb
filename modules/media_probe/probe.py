#!/usr/bin/env python3
"""media-probe@1: reports what a media file is, as JSON.

Reads the input manifest given by `--manifest`, probes the `source` file by
its leading bytes (WAV, PNG, GIF, JPEG, MP4/MOV, UTF-8 text) and writes the
`metadata` output plus `output_manifest.json` into the output directory.
Python standard library only; no network.
"""

import argparse
import hashlib
import json
import os
import struct
import sys


def sha256_and_size(path):
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def probe_wav(data, info):
    # RIFF chunks after the 12-byte header: 'fmt ' then 'data'.
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt " and len(body) >= 16:
            channels, rate, byte_rate, _, bits = struct.unpack("<HIIHH", body[2:16])
            info["audio"] = {"channels": max(channels, 1),
                             "sample_rate_hz": max(rate, 1),
                             "bits_per_sample": max(bits, 1)}
        elif cid == b"data" and byte_rate:
            info["duration_ms"] = size * 1000 // byte_rate
        pos += 8 + size + (size & 1)


def probe_jpeg(data, info):
    pos = 2
    while pos + 9 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            if width and height:
                info["resolution"] = {"width": width, "height": height}
            return
        pos += 2 + length


def mp4_boxes(data, start, end):
    """Yields (type, body_start, body_end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def probe_mp4(data, info):
    for kind, start, end in mp4_boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for sub, s, e in mp4_boxes(data, start, end):
            if sub == b"mvhd" and e - s >= 20:
                version = data[s]
                if version == 1 and e - s >= 32:
                    timescale, duration = struct.unpack(">IQ", data[s + 20:s + 32])
                else:
                    timescale, duration = struct.unpack(">II", data[s + 12:s + 20])
                if timescale:
                    info["duration_ms"] = duration * 1000 // timescale
            elif sub == b"trak" and "resolution" not in info:
                for box, ts, te in mp4_boxes(data, s, e):
                    if box == b"tkhd" and te - ts >= 8:
                        width, height = struct.unpack(">II", data[te - 8:te])
                        width, height = width >> 16, height >> 16
                        if width and height:
                            info["resolution"] = {"width": width, "height": height}


def probe(path):
    with open(path, "rb") as f:
        data = f.read(64 << 20)  # headers are near the start; cap memory
    info = {"container": "unknown", "duration_ms": 0}
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        info["container"] = "wav"
        info["media_type"] = "audio/wav"
        probe_wav(data, info)
    elif data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        info["container"] = "png"
        info["media_type"] = "image/png"
        width, height = struct.unpack(">II", data[16:24])
        if width and height:
            info["resolution"] = {"width": width, "height": height}
    elif data[:4] == b"GIF8" and len(data) >= 10:
        info["container"] = "gif"
        info["media_type"] = "image/gif"
        width, height = struct.unpack("<HH", data[6:10])
        if width and height:
            info["resolution"] = {"width": width, "height": height}
    elif data[:2] == b"\xff\xd8":
        info["container"] = "jpeg"
        info["media_type"] = "image/jpeg"
        probe_jpeg(data, info)
    elif data[4:8] == b"ftyp":
        info["container"] = "mp4"
        info["media_type"] = "video/mp4"
        probe_mp4(data, info)
    elif b"\0" not in data:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return info
        info["container"] = "text"
        info["media_type"] = "text/plain"
        info["text"] = {"lines": text.count("\n") + (1 if text and not text.endswith("\n") else 0),
                        "words": len(text.split())}
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="input_manifest.json")
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)

    source = manifest["inputs"]["source"]["path"]
    sample_rate = manifest["inputs"].get("sample_rate", {}).get("value", 16000)

    metadata = {"title": os.path.splitext(os.path.basename(source))[0]}
    metadata.update(probe(source))
    metadata["sha256"], metadata["size_bytes"] = sha256_and_size(source)
    metadata["sample_rate"] = int(sample_rate)
    metadata["analysis_frames"] = metadata["duration_ms"] * int(sample_rate) // 1000

    out_dir = manifest["output_dir"]
    with open(os.path.join(out_dir, "metadata.json"), "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out_dir, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"outputs": {"metadata": {"path": "metadata.json",
                                            "media_type": "application/json"}}}, f)
    print(f"probed {source}: {metadata['container']}, {metadata['size_bytes']} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
