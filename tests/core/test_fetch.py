"""Downloads against a real HTTP server on 127.0.0.1: resume, retry, mirror, proxy, shared cache."""

import hashlib
import http.server
import io
import tarfile
import threading
import time

import pytest

from companion.data import fetch

PAYLOAD = bytes(range(256)) * 400  # 102 400 bytes


class Server(http.server.ThreadingHTTPServer):
    """Serves ``files`` (path -> bytes); ``cut`` paths send half their bytes once, then hang up."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files, self.cut, self.requests = {}, set(), []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_port}"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = int(self.headers["Range"][6:-1]) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.path in server.cut:  # a transfer that breaks halfway
            server.cut.discard(self.path)
            self.wfile.write(body[start : len(body) // 2])
            return
        self.wfile.write(body[start:])


@pytest.fixture
def server(monkeypatch, tmp_path):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in (fetch.MIRROR_ENV, fetch.CHECKSUMS_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fetch.time, "sleep", lambda seconds: None)
    httpd = Server()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_broken_transfer_resumes_where_it_stopped(server, tmp_path):
    server.files["/blob"], server.cut = PAYLOAD, {"/blob"}
    path = fetch.download(server.url + "/blob", tmp_path / "blob", sha256(PAYLOAD))
    assert path.read_bytes() == PAYLOAD
    half = len(PAYLOAD) // 2
    assert server.requests == [("/blob", None), ("/blob", f"bytes={half}-")]
    assert not (tmp_path / "blob.partial").exists()


def test_a_wrong_digest_leaves_no_file_and_md5_digests_work(server, tmp_path):
    server.files["/blob"] = PAYLOAD
    with pytest.raises(ValueError, match="does not match"):
        fetch.download(server.url + "/blob", tmp_path / "blob", "0" * 64)
    assert not (tmp_path / "blob").exists() and not (tmp_path / "blob.partial").exists()
    md5 = hashlib.md5(PAYLOAD).hexdigest()  # Keras publishes md5 digests
    assert fetch.download(server.url + "/blob", tmp_path / "blob", md5).read_bytes() == PAYLOAD


def test_a_mirror_serves_the_file_by_name_with_its_own_checksums(server, monkeypatch, tmp_path):
    stand_in = b"a stand-in, not the real file"
    server.files["/x.tgz"] = stand_in
    table = tmp_path / "checksums.json"
    table.write_text(f'{{"x.tgz": "{sha256(stand_in)}"}}')
    monkeypatch.setenv(fetch.MIRROR_ENV, server.url + "/")
    real = "https://example.invalid/far/away/x.tgz"
    with pytest.raises(ValueError, match="does not match"):  # the real digest: refused
        fetch.download(real, tmp_path / "x.tgz", sha256(b"the real file"))
    monkeypatch.setenv(fetch.CHECKSUMS_ENV, str(table))
    assert fetch.download(real, tmp_path / "x.tgz", sha256(b"the real file")).read_bytes() == (
        stand_in
    )
    assert server.requests[-1] == ("/x.tgz", None)


def test_a_refusing_proxy_fails_at_once_with_the_offline_hint(server, monkeypatch, tmp_path):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens on the discard port
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="Offline alternative: use shapes"):
        fetch.download("http://example.org/x", tmp_path / "x", None, offline_hint="use shapes")
    assert time.perf_counter() - start < 2 and server.requests == []


def test_processes_sharing_a_cache_download_and_extract_once(server):
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("data/hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    server.files["/data.tgz"] = archive.getvalue()
    digest = sha256(archive.getvalue())
    folders = []

    def fetch_it():
        folders.append(fetch.fetch_archive(server.url + "/data.tgz", digest, "data", ""))

    threads = [threading.Thread(target=fetch_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(folders)) == 1 and (folders[0] / "data" / "hello.txt").read_text() == "hello"
    assert server.requests == [("/data.tgz", None)]  # one download, the others waited
    assert (folders[0] / ".complete").exists()
