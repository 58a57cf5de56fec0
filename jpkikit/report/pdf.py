"""The certification (or campaign) report as a PDF to file: the HTML report with page CSS (A4, page numbers
"n / N", the report's title in the footer), rendered by WeasyPrint with a Japanese font (Noto Sans CJK JP,
Debian's ``fonts-noto-cjk``; tools/setup.sh installs it). The charts are the report's own inline SVG.

When the report is made for an evidence bundle (``jpkikit report RESULTS --bundle campaign.tar --pubkey
lab.pub``), the first page (section 1) shows the bundle ID (the sha256 of its signed manifest) and the
signer's key fingerprint (the sha256 of the raw Ed25519 public key), after the bundle verified with that key
and was found to hold these very results (:func:`bundle_facts`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tarfile
from pathlib import Path

from jpkikit.errors import KitError
from jpkikit.report.bundle import MANIFEST, BundleError, load_public_key, verify_bundle


class PdfError(KitError):
    """The PDF cannot be made (WeasyPrint or its libraries missing)."""


def to_pdf(html: str) -> bytes:
    """The PDF of an HTML page (the report's, made with ``certreport.to_html(report, for_print=True)``)."""
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)  # progress and font subsetting chatter
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: libpango missing
        raise PdfError(
            f"the PDF report needs WeasyPrint and libpango ({exc}); run tools/setup.sh "
            "(or pip install weasyprint)"
        ) from None
    return weasyprint.HTML(string=html, base_url=None).write_pdf()


def bundle_facts(bundle: str | Path, pubkey: str | Path, results_dir: str | Path) -> dict[str, str]:
    """Verify ``bundle`` with ``pubkey`` and check it holds the results of ``results_dir`` (the same JUnit
    XML); returns what the report's first page shows: file name, bundle ID, signer's key fingerprint."""
    path = Path(bundle)
    verified = verify_bundle(path, load_public_key(pubkey))
    with tarfile.open(path, "r:") as tar:
        handle = tar.extractfile(MANIFEST)
        assert handle is not None  # verify_bundle found it
        members = json.loads(handle.read())["members"]
    junit = Path(results_dir) / "junit.xml"
    listed = members.get("results/junit.xml", {}).get("sha256")
    if listed != hashlib.sha256(junit.read_bytes()).hexdigest():
        raise BundleError(
            f"{path}: this bundle does not hold these results (its results/junit.xml is not "
            f"{Path(results_dir).name}/junit.xml); give the bundle made from them"
        )
    return {"file": path.name, "bundle_id": verified.bundle_id, "key_id": verified.key_id}
