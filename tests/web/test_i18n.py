"""Every message of the code and templates is translated into Vietnamese, placeholders kept."""

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")


def test_catalogue_is_complete_and_keeps_placeholders(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg", "-k", "N_",
                    "-o", str(pot), "--no-location", "."], cwd=ROOT, check=True)
    with pot.open("rb") as f:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    with (ROOT / "web/locale/vi/LC_MESSAGES/messages.po").open("rb") as f:
        catalogue = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(f) if m.id}
    missing = sorted(w for w in wanted if w not in catalogue or not catalogue[w].string
                     or (isinstance(catalogue[w].string, tuple) and not all(catalogue[w].string)))
    assert missing == [], f"untranslated: {missing[:10]}"
    for msgid in wanted:
        translated = catalogue[msgid].string
        text = translated if isinstance(translated, str) else translated[0]
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid
