"""`make screenshots`: the site's pictures, taken from a real run of a rendered project.

    uv run python scripts/screenshots.py

Runs the newcomer's loop (`ml_template_dev.loop`, as `make demo` does) in a temporary folder, plus
the smoke run and the metrics gate, then takes headless-Chromium screenshots of the MLflow UI
showing the registered version, the drift report and the gate's table (metrics/gate.md rendered
as GitHub shows a job summary), and writes them, reduced to a palette, to docs/images/. Needs
Debian's chromium (`apt-get install -y chromium`; CHROMIUM names another binary). Stops
everything it started, also on failure and Ctrl-C.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import markdown
from PIL import Image, ImageChops

from ml_template_dev import ROOT
from ml_template_dev.loop import LoopError, fail, newcomer_loop, processes, run

IMAGES = ROOT / "docs" / "images"
WIDTH, HEIGHT = 1280, 800
# Virtual time Chromium grants a page's scripts before the shot: the MLflow UI and Evidently's
# report are JavaScript apps that render after load.
RENDER_MS = 20000
GATE_PAGE = """<!doctype html><meta charset="utf-8"><style>
body {{ font: 15px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
       margin: 24px; }}
h1, h2, h3 {{ font-size: 20px; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #d1d9e0; padding: 6px 13px; }}
tr:nth-child(2n) {{ background: #f6f8fa; }}
code {{ background: #eff1f3; padding: 2px 4px; border-radius: 4px; }}
</style><body>{body}</body>"""


def chromium() -> str:
    """The Chromium binary: CHROMIUM, else `chromium` on PATH; exit with the install hint."""
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not binary:
        sys.exit(
            "error: no chromium on PATH; install it (apt-get install -y chromium) or set CHROMIUM"
        )
    return binary


def trimmed(image: Image.Image, margin: int = 16) -> Image.Image:
    """The image without the blank right and bottom beyond its content (plus a margin)."""
    blank = Image.new(image.mode, image.size, image.getpixel((image.width - 1, image.height - 1)))
    box = ImageChops.difference(image, blank).getbbox()
    if box is None:
        return image
    return image.crop((0, 0, min(image.width, box[2] + margin), min(image.height, box[3] + margin)))


def shoot(url: str, image: Path, height: int = HEIGHT) -> None:
    """Screenshot `url` at WIDTH x height into `image`, trimmed, as a small palette PNG."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{height}",
                f"--virtual-time-budget={RENDER_MS}",
                f"--screenshot={image}",
                url,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
    with Image.open(image) as taken:
        small = trimmed(taken.convert("RGB")).quantize(colors=128)
    small.save(image, optimize=True)
    print(f"    {image.relative_to(ROOT)}: {image.stat().st_size // 1024} KiB", flush=True)


def gate_page(project: Path, folder: Path) -> str:
    """metrics/gate.md as an HTML page (GitHub's summary look); returns its file URL."""
    body = markdown.markdown((project / "metrics" / "gate.md").read_text(), extensions=["tables"])
    page = folder / "gate.html"
    page.write_text(GATE_PAGE.format(body=body), encoding="utf-8")
    return page.as_uri()


def main() -> None:
    """Run the loop, take the pictures, stop everything."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    chromium()
    with tempfile.TemporaryDirectory(prefix="ml-template-screenshots-") as scratch:
        project = Path(scratch) / "my-ml-project"
        try:
            with processes() as children:
                done = newcomer_loop(project, children)
                run("smoke run", ["make", "smoke"], project)
                run("metrics gate", ["make", "gate"], project)
                print("\n==> screenshots", flush=True)
                name, version = done.model.removeprefix("models:/").split("/")
                shoot(
                    f"{done.registry}/#/models/{name}/versions/{version}",
                    IMAGES / "mlflow-registry.png",
                )
                shoot(done.report.as_uri(), IMAGES / "drift-report.png", height=1000)
                shoot(gate_page(project, Path(scratch)), IMAGES / "gate.png", height=420)
        except (LoopError, KeyboardInterrupt, subprocess.SubprocessError) as error:
            fail(LoopError(str(error)) if isinstance(error, subprocess.SubprocessError) else error)


if __name__ == "__main__":
    main()
