"""A Hugging Face Hub stand-in on a loopback port, for download tests with the real huggingface_hub client.

It serves model folders in the hub's HTTP layout — the endpoints huggingface_hub calls:
``GET /api/models/{repo}/revision/{rev}`` (repo info with the commit ``sha``), ``GET
/api/models/{repo}/tree/{rev}`` (files with size, git ``oid`` and ``lfs.oid`` sha256), and
``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` with ``ETag``, ``X-Repo-Commit``, ``Content-Length``
and ``Range`` support. Errors carry the ``X-Error-Code`` header the client maps to its exceptions
(RepoNotFound, RevisionNotFound, GatedRepo). ``bytes_per_s`` throttles file bodies so a test can
kill a download half-way; ``requests`` records what the client asked for.

The same server also speaks ModelScope's layout, for the real ``modelscope`` client pointed at
it with ``endpoint=``: ``GET /api/v1/models/{repo}/repo/files`` (files with ``Size`` and
``Sha256``, which the client verifies) and ``GET /api/v1/models/{repo}/repo?FilePath=…`` (the
file). ``corrupt_sha`` names files whose listed sha256 is wrong (an integrity failure).

    hub = LocalHub({"acme/tiny": model_folder}); hub.start()
    HfApi(endpoint=hub.url).repo_info("acme/tiny")
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

LFS_SUFFIXES = (".safetensors", ".bin", ".pt")


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class LocalHub:
    def __init__(self, repos: dict[str, Path], gated: tuple[str, ...] = (), bytes_per_s: int | None = None,
                 corrupt_sha: tuple[str, ...] = ()):
        self.repos = {repo: Path(folder) for repo, folder in repos.items()}
        self.gated = set(gated)
        self.corrupt_sha = set(corrupt_sha)
        self.bytes_per_s = bytes_per_s
        self.commits = {repo: hashlib.sha1(repo.encode()).hexdigest() for repo in repos}
        self.requests: list[dict] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def files(self, repo: str) -> dict[str, Path]:
        root = self.repos[repo]
        return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}

    def tree(self, repo: str) -> list[dict]:
        entries = []
        for rel, path in self.files(repo).items():
            data = path.read_bytes()
            entry = {"type": "file", "path": rel, "size": len(data), "oid": git_sha1(data)}
            if rel.endswith(LFS_SUFFIXES):
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            entries.append(entry)
        return entries

    def modelscope_files(self, repo: str) -> list[dict]:
        rows = []
        for name, path in self.files(repo).items():
            data = path.read_bytes()
            sha = hashlib.sha256(data + (b"!" if name in self.corrupt_sha else b"")).hexdigest()
            rows.append({"Name": path.name, "Path": name, "Type": "blob", "Size": len(data), "Sha256": sha,
                         "Revision": self.commits[repo], "IsLFS": name.endswith(LFS_SUFFIXES)})
        return rows

    def start(self) -> "LocalHub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _error(self, code: int, error_code: str | None = None):
                body = json.dumps({"error": error_code or "error"}).encode()
                self.send_response(code)
                if error_code:
                    self.send_header("X-Error-Code", error_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, obj, code: int = 200):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _repo_and_rest(self, parts: list[str]) -> tuple[str | None, list[str]]:
                if len(parts) >= 2 and "/".join(parts[:2]) in hub.repos:
                    return "/".join(parts[:2]), parts[2:]
                return None, parts[2:]

            def _check(self, repo: str | None, rev: str) -> bool:
                if repo is None:
                    self._error(404, "RepoNotFound")
                    return False
                if repo in hub.gated:
                    self._error(401, "GatedRepo")
                    return False
                if rev not in ("main", hub.commits[repo]):
                    self._error(404, "RevisionNotFound")
                    return False
                return True

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                url = urlparse(self.path)
                parts = [unquote(p) for p in url.path.strip("/").split("/")]
                hub.requests.append({"method": self.command, "path": url.path, "range": self.headers.get("Range")})
                if parts[:3] == ["api", "v1", "models"]:
                    self._modelscope(parts[3:], parse_qs(url.query))
                    return
                if parts[:2] == ["api", "models"]:
                    repo, rest = self._repo_and_rest(parts[2:])
                    if rest[:1] == ["revision"] and self._check(repo, rest[1]):
                        files = list(hub.files(repo))
                        self._json({"id": repo, "modelId": repo, "sha": hub.commits[repo], "private": False,
                                    "siblings": [{"rfilename": f} for f in files]})
                    elif rest[:1] == ["tree"] and self._check(repo, rest[1]):
                        self._json(hub.tree(repo))
                    elif repo is None:
                        self._error(404, "RepoNotFound")
                    return
                repo, rest = self._repo_and_rest(parts)
                if rest[:1] != ["resolve"] or not self._check(repo, rest[1] if len(rest) > 1 else ""):
                    if repo is not None and rest[:1] != ["resolve"]:
                        self._error(404)
                    return
                path = hub.files(repo).get("/".join(rest[2:]))
                if path is None:
                    self._error(404, "EntryNotFound")
                    return
                self._send_file(repo, path)

            def _modelscope(self, parts: list[str], query: dict) -> None:
                repo, rest = self._repo_and_rest(parts)
                if repo is None or repo in hub.gated:
                    code = 404 if repo is None else 401
                    self._json({"Code": 10010205001 if code == 404 else 10010101001, "Success": False,
                                "Message": "model not found" if code == 404 else "login required"}, code)
                elif rest == ["repo", "files"]:
                    self._json({"Code": 200, "Success": True, "Data": {"Files": hub.modelscope_files(repo)}})
                elif rest == ["repo"] and query.get("FilePath", [""])[0] in hub.files(repo):
                    self._send_file(repo, hub.files(repo)[query["FilePath"][0]])
                else:
                    self._json({"Code": 10010205001, "Success": False, "Message": "file not found"}, 404)

            def _send_file(self, repo: str, path: Path):
                data = path.read_bytes()
                etag = hashlib.sha256(data).hexdigest() if path.name.endswith(LFS_SUFFIXES) else git_sha1(data)
                start = 0
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes="):
                    start = int(wanted[6:].split("-")[0] or 0)
                body = data[start:]
                self.send_response(206 if start else 200)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("X-Repo-Commit", hub.commits[repo])
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(body)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if self.command == "HEAD":
                    return
                chunk = 64 * 1024 if not hub.bytes_per_s else max(1024, hub.bytes_per_s // 20)
                try:
                    for i in range(0, len(body), chunk):
                        self.wfile.write(body[i:i + chunk])
                        if hub.bytes_per_s:
                            time.sleep(chunk / hub.bytes_per_s)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
