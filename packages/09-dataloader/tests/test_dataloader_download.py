"""Downloads from a local HTTP server (127.0.0.1) and file:// URLs: checksums, mirrors, tar."""

from __future__ import annotations

import functools
import hashlib
import io
import socket
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tinytorch.dataloader.remote as remote
from tinytorch.dataloader import (
    MNIST,
    RESOURCES,
    DownloadError,
    RemoteFile,
    Resource,
    download,
    download_file,
    load_cifar10,
    load_mnist,
    sha256_file,
)


class Server(SimpleNamespace):
    url: str
    folder: Path
    requests: list[str]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A static file server on 127.0.0.1 serving tmp_path/www, shut down after the test."""
    folder = tmp_path / "www"
    folder.mkdir()
    requests: list[str] = []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Server(
            url=f"http://127.0.0.1:{httpd.server_address[1]}/", folder=folder, requests=requests
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there any more


def mnist_resource(folder: Path, mirrors: tuple[str, ...]) -> Resource:
    """A Resource for the MNIST files in ``folder``, with their real checksums."""
    names = [f.name for f in RESOURCES["mnist"].files]
    return Resource(
        "mnist",
        "mnist",
        tuple(RemoteFile(name, sha256_file(folder / name)) for name in names),
        mirrors,
    )


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    content = bytes(range(256)) * 10_000  # 2.5 MB: several 1 MiB chunks
    path.write_bytes(content)
    assert sha256_file(path) == hashlib.sha256(content).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_download_from_http_then_load(
    tmp_path: Path, server: Server, files: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = files.mnist(server.folder, n_train=9, n_test=4)
    resource = mnist_resource(server.folder, (server.url,))
    chunks: list[int] = []

    def spy_track(iterable, total=None, description="", unit="it"):  # type: ignore[no-untyped-def]
        for item in iterable:
            chunks.append(total)
            yield item

    monkeypatch.setattr(remote, "track", spy_track)
    folder = download(resource, tmp_path / "data")
    assert folder == tmp_path / "data" / "mnist"
    assert chunks == [1, 1, 1, 1]  # one progress step per MiB, the total from Content-Length
    images, labels = load_mnist(tmp_path / "data")
    np.testing.assert_array_equal(images, written[True][0])
    np.testing.assert_array_equal(labels, written[True][1])
    assert not list(folder.glob("*.part"))
    fetched = len(server.requests)
    download(resource, tmp_path / "data")  # every file present with the right checksum
    assert len(server.requests) == fetched
    download(resource, tmp_path / "data", force=True)
    assert len(server.requests) == 2 * fetched


def test_checksum_mismatch_names_file_checksums_and_where(
    tmp_path: Path, server: Server, files: SimpleNamespace
) -> None:
    files.mnist(server.folder)  # generated files: not the real MNIST checksums
    with pytest.raises(DownloadError) as info:
        download("mnist", tmp_path / "data", mirrors=[server.url])
    message = str(info.value)
    actual = sha256_file(server.folder / "train-images-idx3-ubyte.gz")
    assert "train-images-idx3-ubyte.gz" in message
    assert "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609" in message
    assert f"checksum mismatch, sha256 {actual}" in message
    assert str(tmp_path / "data" / "mnist") in message and "$TINYTORCH_DATA" in message
    assert list((tmp_path / "data" / "mnist").iterdir()) == []  # nothing half-written stays


def test_mirrors_are_tried_in_order(tmp_path: Path, server: Server, files: SimpleNamespace) -> None:
    files.mnist(server.folder)
    broken = closed_port_url()
    resource = mnist_resource(server.folder, (broken, server.url.rstrip("/")))
    download(resource, tmp_path)
    assert len(load_mnist(tmp_path)[0]) == 12
    with pytest.raises(DownloadError, match=r"could not fetch train-images.*\n  http://127"):
        download(resource, tmp_path / "other", mirrors=[broken])
    with pytest.raises(DownloadError, match="404"):
        download(resource, tmp_path / "third", mirrors=[server.url + "missing/"])


def test_file_urls_and_unknown_names(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"tiny file")
    target = download_file([source.as_uri()], tmp_path / "out" / "copy.bin", None)
    assert target.read_bytes() == b"tiny file"
    good = hashlib.sha256(b"tiny file").hexdigest()
    download_file([source.as_uri()], tmp_path / "out" / "checked.bin", good)
    with pytest.raises(DownloadError, match=f"expected sha256 {'0' * 64}"):
        download_file([source.as_uri()], tmp_path / "out" / "bad.bin", "0" * 64)
    assert not (tmp_path / "out" / "bad.bin").exists()
    with pytest.raises(KeyError, match="unknown dataset 'imagenet'"):
        download("imagenet", tmp_path)


def cifar_tarball(path: Path, files: SimpleNamespace, staging: Path) -> dict:
    written = files.cifar(staging / "cifar-10-batches-py", rows=(2, 1, 1, 1, 3))
    with tarfile.open(path, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return written


def test_cifar_tarball_is_downloaded_and_extracted(
    tmp_path: Path, server: Server, files: SimpleNamespace
) -> None:
    tarball = server.folder / "cifar-10-python.tar.gz"
    written = cifar_tarball(tarball, files, tmp_path / "staging")
    resource = Resource(
        "cifar-10",
        "",
        (RemoteFile(tarball.name, sha256_file(tarball)),),
        (server.url,),
        extract=True,
    )
    folder = download(resource, tmp_path / "data")
    assert (folder / "cifar-10-batches-py" / "test_batch").is_file()
    images, labels = load_cifar10(tmp_path / "data")
    assert images.shape == (8, 3, 32, 32)
    np.testing.assert_array_equal(labels, written[True][1])


def test_unsafe_tar_members_are_refused(tmp_path: Path, server: Server) -> None:
    tarball = server.folder / "evil.tar"
    with tarfile.open(tarball, "w") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    resource = Resource("evil", "inside", (RemoteFile("evil.tar"),), (server.url,), extract=True)
    with pytest.raises(DownloadError, match=r"'../outside.txt', a link or a path outside"):
        download(resource, tmp_path / "data")
    assert not (tmp_path / "data" / "outside.txt").exists()


def test_dataset_download_flag_fetches_missing_files(
    tmp_path: Path, server: Server, files: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.mnist(server.folder, n_train=5)
    monkeypatch.setitem(RESOURCES, "mnist", mnist_resource(server.folder, (server.url,)))
    data = MNIST(tmp_path / "data", download=True)
    assert len(data) == 5
    assert (tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    requests = len(server.requests)
    MNIST(tmp_path / "data", download=True)  # present: nothing fetched
    assert len(server.requests) == requests
