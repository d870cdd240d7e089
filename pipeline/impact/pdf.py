"""Impact cards as PDF, printed by headless Chromium: ``python -m pipeline.impact.pdf [reports/impact]``.

Optional and outside the DVC stage: a commissioning board often wants a PDF to file with its papers. The HTML
cards are self-contained (style inline, charts as data URIs), so Chromium prints them exactly as a browser shows
them; the cards' print style keeps colours and does not split a table row or chart across pages. Needs Debian's
``chromium`` (``apt-get install chromium``; .ci/run installs it), never a downloaded browser.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline.core.io import write_bytes

log = logging.getLogger(__name__)

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--no-pdf-header-footer")


class PdfError(RuntimeError):
    """Chromium is missing or could not print a card."""


def chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def print_to_pdf(html: Path, pdf: Path, *, browser: str | None = None, timeout: int = 120) -> Path:
    """Print one HTML file to ``pdf`` (A4 as Chromium lays it out) and return the path.

    Raises:
        PdfError: no Chromium, Chromium failed, or it wrote no PDF.
    """
    browser = browser or chromium()
    if browser is None:
        raise PdfError("no Chromium on PATH: install Debian's chromium (apt-get install chromium) to print cards")
    with tempfile.TemporaryDirectory(prefix="riskpipe-pdf-") as tmp:
        out = Path(tmp) / "card.pdf"
        command = [browser, *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out}",
                   Path(html).resolve().as_uri()]
        try:
            subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise PdfError(f"Chromium could not print {html}: {type(exc).__name__}") from exc
        if not out.exists() or not out.read_bytes().startswith(b"%PDF"):
            raise PdfError(f"Chromium wrote no PDF for {html}")
        return write_bytes(out.read_bytes(), Path(pdf))


def cards_to_pdf(report_dir: Path, *, browser: str | None = None) -> list[Path]:
    """Every card in ``report_dir`` (``*.html`` but the index) printed beside it as ``<card id>.pdf``."""
    cards = sorted(p for p in Path(report_dir).glob("*.html") if p.name != "index.html")
    if not cards:
        raise PdfError(f"no impact cards in {report_dir}: run `riskpipe impact` first")
    return [print_to_pdf(card, card.with_suffix(".pdf"), browser=browser) for card in cards]


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.impact.pdf [reports/impact]``: 0 when every card was printed, 1 otherwise."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = sys.argv[1:] if argv is None else argv
    try:
        written = cards_to_pdf(Path(args[0] if args else "reports/impact"))
    except PdfError as exc:
        log.error("%s", exc)
        return 1
    log.info("%d card(s) printed to PDF: %s", len(written), ", ".join(p.name for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
