"""What tests/serve_test.sh's Python steps share: the IDX test set read
with gzip and struct (no numpy), psc-export's probabilities, TF Serving
answers compared with them, and a small HTTP client on the standard
library for the requests the chapter's client does not make."""

import gzip
import http.client
import json
import struct

DATA = "/usr/share/datasets/fashion-mnist"
IMAGES = DATA + "/t10k-images-idx3-ubyte.gz"
LABELS = DATA + "/t10k-labels-idx1-ubyte.gz"


class Images(list):
    """28x28 uint8 images as nested lists; a slice is Images again and
    tolist() gives the plain lists, as numpy's X_test[:3].tolist() does."""

    def __getitem__(self, i):
        got = list.__getitem__(self, i)
        return Images(got) if isinstance(i, slice) else got

    def tolist(self):
        return [[list(row) for row in im] for im in self]


def read_images(path=IMAGES, n=None):
    with gzip.open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, f"{path} is not an IDX file of images"
        count = count if n is None else min(n, count)
        data = f.read(count * rows * cols)
    size = rows * cols
    return Images(
        [[list(data[i * size + r * cols:i * size + (r + 1) * cols])
          for r in range(rows)] for i in range(count)])


def read_labels(path=LABELS):
    with gzip.open(path, "rb") as f:
        magic, count = struct.unpack(">II", f.read(8))
        assert magic == 0x801, f"{path} is not an IDX file of labels"
        return list(f.read(count))


def flat(image):
    return [p for row in image for p in row]


def read_probs(path, classes=10):
    """psc-export --evaluate's probabilities: float32 rows of classes."""
    with open(path, "rb") as f:
        raw = f.read()
    vals = struct.unpack(f"<{len(raw) // 4}f", raw)
    return [list(vals[i:i + classes]) for i in range(0, len(vals), classes)]


def argmax(row):
    return max(range(len(row)), key=lambda j: row[j])


def check_close(got, want, tol=1e-6, what="predictions"):
    """got and want: rows of probabilities; raises naming the worst cell."""
    assert len(got) == len(want), f"{what}: {len(got)} rows, not {len(want)}"
    worst = (0.0, None)
    for i, (g, w) in enumerate(zip(got, want)):
        assert len(g) == len(w), f"{what}[{i}]: {len(g)} values, not {len(w)}"
        for j, (a, b) in enumerate(zip(g, w)):
            d = abs(a - b)
            if not d <= worst[0]:
                worst = (d, (i, j))
    assert worst[0] <= tol, f"{what}: |diff| {worst[0]:.3e} at {worst[1]}"
    return worst[0]


def request(port, method, path, body=None, headers=None):
    """One request on its own connection: (status, parsed JSON or text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text
    finally:
        c.close()
