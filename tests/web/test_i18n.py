"""Every message of the code and templates is translated into Vietnamese, placeholders kept."""

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")


def extract(pot: Path) -> list:
    """The messages, extracted afresh with scripts/i18n.sh's own options (read from the script)."""
    script = (ROOT / "scripts/i18n.sh").read_text()
    ignore = re.search(r"--ignore-dirs '([^']*)'", script)
    assert ignore, "scripts/i18n.sh no longer names the folders to ignore"
    command = next(line for line in script.splitlines() if line.startswith("pybabel extract"))
    keywords = [arg for k in re.findall(r"-k (\S+)", command) for arg in ("-k", k)]
    assert keywords == ["-k", "N_", "-k", "translate:2"]
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg", *keywords,
                    "--ignore-dirs", ignore.group(1), "-o", str(pot), "."], cwd=ROOT, check=True)
    with pot.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def test_extraction_reads_every_file_that_holds_a_message(tmp_path):
    """The rule that let English into the Vietnamese pages: a folder the extraction skipped."""
    read = {Path(file).as_posix() for m in extract(tmp_path / "all.pot") for file, _ in m.locations}
    marked = re.compile(r"""\b(?:_|N_|ngettext|translate)\(\s*['"]""")
    holding = {p.relative_to(ROOT).as_posix() for pattern in ("web/**/*.html", "web/**/*.py", "assessment/**/*.py")
               for p in ROOT.glob(pattern) if marked.search(p.read_text(encoding="utf-8"))}
    assert "web/templates/_partials/actions.html" in holding
    assert sorted(holding - read) == []


def test_catalogue_is_complete_and_keeps_placeholders(tmp_path):
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract(tmp_path / "messages.pot")}
    with (ROOT / "web/locale/vi/LC_MESSAGES/messages.po").open("rb") as f:
        catalogue = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(f) if m.id}
    missing = sorted(w for w in wanted if w not in catalogue or not catalogue[w].string
                     or (isinstance(catalogue[w].string, tuple) and not all(catalogue[w].string)))
    assert missing == [], f"untranslated: {missing[:10]}"
    for msgid in wanted:
        translated = catalogue[msgid].string
        text = translated if isinstance(translated, str) else translated[0]
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid


# A message marked in the source: _("..."), N_("..."), ngettext("...", or translate(lang, "...").
MARKED = re.compile(r"""(?:\b(?:_|N_|ngettext)\(|\btranslate\(\s*[\w.]+\s*,)\s*(["'])((?:(?!\1).)*?)\1\s*[,)%]""")


def test_every_message_the_code_marks_is_extracted(tmp_path):
    """The rule that let "Page 1 of 2" and "Submitted" into the Vietnamese PDF: a message marked where
    the extraction can't see it (inside an f-string, or as the second argument of ``translate``)."""
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract(tmp_path / "messages.pot")}
    marked = {(p.relative_to(ROOT).as_posix(), m.group(2))
              for pattern in ("web/**/*.html", "web/**/*.py", "assessment/**/*.py") for p in ROOT.glob(pattern)
              for m in MARKED.finditer(p.read_text(encoding="utf-8")) if "\\" not in m.group(2)}
    assert len(marked) > 300
    assert sorted((path, text) for path, text in marked if text not in extracted) == []


JS_LITERAL = re.compile(r"""(["'])((?:(?!\1).)*)\1""")
TAGS = {"a", "button", "fieldset", "form", "input", "label", "table", "tbody", "td", "th", "thead", "tr"}


def test_the_scripts_carry_no_words_of_their_own():
    """JavaScript is outside the gettext extraction, so a message written in a script would reach the
    Vietnamese page in English: every text a script shows is the page's own (rendered, translated,
    by a template); the scripts hold only event names, attributes and selectors."""
    scripts = [p for p in (ROOT / "web/static").glob("*.js")]
    assert scripts
    for path in scripts:
        code = re.sub(r"(?m)^\s*//.*$|\s//\s.*$", "", path.read_text(encoding="utf-8"))
        literals = [m.group(2) for m in JS_LITERAL.finditer(code)]
        assert literals, path  # the pattern reads the script's strings (each holds some)
        wording = [text for text in literals if text != "use strict" and (
            not text.isascii() or re.match(r"[A-Z][a-z]+\b", text)
            or len([w for w in text.split() if w.isalpha() and w not in TAGS]) >= 2)]
        assert wording == [], f"{path.name} writes words a person reads: {wording}"
        assert not re.search(r"\b(alert|confirm|prompt)\(|\.(textContent|innerText|innerHTML)\s*=", code), path.name
