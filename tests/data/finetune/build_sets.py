"""Builds the small real-text fine-tuning sets of tests/data/finetune/ (see tests/data/README.md).

    /work/main/.venv/bin/python -m tests.data.finetune.build_sets

Every set comes from text on this machine, never from a downloaded data set:

- Python's own documentation: the topics of `pydoc_data.topics` (the Language Reference
  text that `help()` shows) and the "History of the software" section of Python's
  LICENSE.txt, from the interpreter that runs this script (recorded in sources.json).
- Gazetteers for tagging, read from gazetteers.json, which `--collect_gazetteers` writes:
  country names of `pytz/zoneinfo/iso3166.tab` and city names of `zone1970.tab` (public
  domain tz database, pytz wheel), person and organisation names from the Author/Maintainer
  fields of the installed distributions' metadata, and a list of languages written here.
- tests/data/labelled_messages.tsv (Django UI messages) for the classification split.

The output is a function of those sources and SEED: rerunning the script with Python PYTHON
rewrites the same files (it warns under another version, whose documentation may differ).
"""

import collections
import csv
import importlib.metadata
import json
import os
import pathlib
import random
import re
import sys

from official_encoders.finetune.metrics import normalize_answer

OUT = pathlib.Path(__file__).resolve().parent
LABELLED_MESSAGES = OUT.parent / "labelled_messages.tsv"
SEED = 20261201
DEV_TOPIC_FRACTION = 0.35
MAX_CONTEXT_WORDS = 85
MAX_QA_PIECES = 128  # [CLS] question [SEP] context [SEP] in MiniLM word pieces
QA_TRAIN, QA_DEV = 240, 80
QUESTIONS_PER_PASSAGE = 4
QUESTIONS_PER_SENTENCE = 2
TAGGING_TRAIN, TAGGING_DEV = 240, 80
SWAG_TRAIN, SWAG_DEV = 160, 80
SWAG_MAX_WORDS = 25  # 4 packed choices per example: shorter sentences keep a training epoch short
STS_TRAIN, STS_DEV = 240, 80
CLASSIFICATION_DEV_FRACTION = 0.25
CLASSIFICATION_TRAIN_MAX = 300
LICENSE_TOPIC = "LICENSE.txt history"
GAZETTEERS = OUT / "gazetteers.json"
PYTHON = "3.11.7"  # whose pydoc topics and LICENSE.txt the committed sets were built from


# ---------------------------------------------------------------------------- source text

def _clean(text):
    text = re.sub(r"\*\*(\S[^*]*?)\*\*", r"\1", text)  # reST strong **word** -> word
    text = re.sub(r"\*(\S[^*]*?)\*", r"\1", text)  # reST emphasis *word* -> word
    text = re.sub(r"\s*\[\d+\]", "", text)  # footnote references
    text = re.sub(r"\s*\((?:see|See) [^)]*\)", "", text)  # cross references
    text = re.sub(r",? see https?://\S+?(?=\))", "", text)  # "(CWI, see https://...)" -> "(CWI)"
    return " ".join(text.replace("\u2019", "'").split())


def _paragraphs(text):
    """Prose paragraphs of a plain-text document: blocks without indented (code, table) lines."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines or any(line.startswith((" ", "\t")) for line in lines):
            continue
        if any(set(line.strip()) <= set("*=-^~") for line in lines):
            continue  # a heading and its underline
        paragraph = _clean(" ".join(lines))
        if ("::=" in paragraph or ">>>" in paragraph or "http" in paragraph or paragraph.endswith(":")
                or paragraph.startswith(("* ", "- ", "("))):
            continue
        out.append(paragraph)
    return out


_SENTENCE_END = re.compile(r'(?<=[.?!])\s+(?=["A-Z])')


def split_sentences(paragraph):
    """Sentences of a paragraph: a break after . ? ! followed by a capital or a quote."""
    sentences = []
    for piece in _SENTENCE_END.split(paragraph):
        if sentences and re.search(r"\b(e\.g|i\.e|etc|vs)\.$", sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


def documents():
    """{topic: [paragraph, ...]} of Python's documentation: pydoc topics and the LICENSE history."""
    from pydoc_data import topics

    docs = {name: _paragraphs(text) for name, text in sorted(topics.topics.items())}
    license_text = pathlib.Path(os.path.dirname(os.__file__), "LICENSE.txt").read_text(encoding="utf-8")
    history = license_text.split("A. HISTORY OF THE SOFTWARE", 1)[1].split("B. TERMS AND CONDITIONS", 1)[0]
    docs[LICENSE_TOPIC] = _paragraphs(history)
    return {name: paragraphs for name, paragraphs in docs.items() if paragraphs}


def split_topics(docs, rng):
    """(train topics, dev topics): a seeded split of whole topics. Some paragraphs occur in more than
    one topic, so a dev paragraph sharing a sentence with any train paragraph is dropped (from `docs`)."""
    names = sorted(docs)
    rng.shuffle(names)
    dev_count = round(len(names) * DEV_TOPIC_FRACTION)
    train, dev = sorted(names[dev_count:]), sorted(names[:dev_count])
    seen = {s for topic in train for paragraph in docs[topic] for s in split_sentences(paragraph)}
    for topic in dev:
        docs[topic] = [p for p in docs[topic] if not seen & set(split_sentences(p))]
    return train, dev


# ---------------------------------------------------------------------------- question answering

_QUOTED = re.compile(r'"([^"]{1,30})"')
_NUMBER = re.compile(r"(?<![\w.*(\[-])\d+(?:\.\d+)*(?![\w(\[])(?!\.\d)")
_NAME = re.compile(r"\b[A-Z][a-zA-Z.]+(?: (?:van |of |for )?[A-Z][a-zA-Z.]+)+")


def answer_candidates(sentence):
    """(answer start, answer stop, cloze start, cloze stop, wh-phrase) of the spans one can ask about.

    A quoted term ("for") is asked with "what" replacing the quotes too; a number with
    "what number" (a four-digit year with "what year"); a capitalised multi-word name
    with "who or what".
    """
    out = []
    for match in _QUOTED.finditer(sentence):
        out.append((match.start(1), match.end(1), match.start(), match.end(), "what"))
    quoted = [(m.start(), m.end()) for m in _QUOTED.finditer(sentence)]
    for match in _NUMBER.finditer(sentence):
        if any(a <= match.start() < b for a, b in quoted):
            continue
        year = len(match.group()) == 4 and match.group()[:2] in ("19", "20")
        out.append((match.start(), match.end(), match.start(), match.end(),
                    "what year" if year else "what number"))
    for match in _NAME.finditer(sentence):
        if match.start() == 0 or any(a <= match.start() < b for a, b in quoted):
            continue
        stop = match.start() + len(match.group().rstrip("."))
        out.append((match.start(), stop, match.start(), stop, "who or what"))
    return out


def cloze_question(sentence, cloze_start, cloze_stop, wh):
    """The sentence as a question: the span replaced by the wh-phrase (an article before it dropped),
    at most 12 words either side of it, ending in '?'."""
    before = re.sub(r"\b(?:[Tt]he|[Aa]n?)\s+$", "", sentence[:cloze_start]).split()[-12:]
    after = sentence[cloze_stop:].rstrip(" .!?:;").split()[:12]
    words = before + [wh] + after
    question = " ".join(words)
    question = re.sub(r"\s+([,;:)])", r"\1", question).rstrip(",;:")
    return question[0].upper() + question[1:] + "?"


def qa_passages(docs, topics_):
    """[(topic, context)]: paragraphs of 1-4 sentences and at most MAX_CONTEXT_WORDS words."""
    out = []
    for topic in topics_:
        for paragraph in docs[topic]:
            sentences = split_sentences(paragraph)
            if 1 <= len(sentences) <= 4 and 8 <= len(paragraph.split()) <= MAX_CONTEXT_WORDS:
                out.append((topic, paragraph))
    return out


def questions_of(context, rng, limit):
    """Up to `limit` (question, answer text, answer_start) of a context, at most QUESTIONS_PER_SENTENCE
    about the same sentence."""
    found, offset = [], 0
    for sentence in split_sentences(context):
        start = context.index(sentence, offset)
        offset = start + len(sentence)
        if len(sentence.split()) < 6:
            continue
        # An answer that SQuAD's normalisation empties ("*", "a") would score as "no answer".
        candidates = [c for c in answer_candidates(sentence) if normalize_answer(sentence[c[0]:c[1]])]
        for a, b, c, d, wh in rng.sample(candidates, min(len(candidates), QUESTIONS_PER_SENTENCE)):
            found.append((cloze_question(sentence, c, d, wh), sentence[a:b], start + a))
    rng.shuffle(found)
    return found[:limit]


def minilm_piece_counter():
    """(question, context) -> the number of all-MiniLM-L6-v2 word pieces of the packed pair, specials included."""
    from tokenizers import Tokenizer

    from export.main_job import minilm_dir

    tokenizer = Tokenizer.from_file(os.path.join(minilm_dir(), "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return lambda question, context: len(tokenizer.encode(question, context).ids)


def build_squad(docs, topics_, limit, rng, prefix, count_pieces):
    """SQuAD v1.1 and v2.0 documents: v2.0 adds to each passage whose topic has another one an unanswerable
    question made from that other passage (same vocabulary, but its answer text is not in this passage)."""
    passages = qa_passages(docs, topics_)
    rng.shuffle(passages)
    by_topic = collections.defaultdict(list)
    for topic, context in passages:
        by_topic[topic].append(context)
    articles_v1, articles_v2, count, count_v2 = {}, {}, 0, 0
    for topic, context in passages:
        if count >= limit:
            break
        qas = []
        for question, text, start in questions_of(context, rng, QUESTIONS_PER_PASSAGE):
            assert context[start:start + len(text)] == text
            if count >= limit or count_pieces(question, context) > MAX_QA_PIECES:
                continue
            count += 1
            qas.append({"id": f"{prefix}-{count:04d}", "question": question,
                        "answers": [{"text": text, "answer_start": start}]})
        if not qas:
            continue
        articles_v1.setdefault(topic, []).append({"context": context, "qas": qas})
        impossible = []
        others = [c for c in by_topic[topic] if c != context]
        if others:
            for question, text, _ in questions_of(rng.choice(others), rng, 1):
                if text.lower() not in context.lower() and count_pieces(question, context) <= MAX_QA_PIECES:
                    count_v2 += 1
                    impossible.append({"id": f"{prefix}-neg-{count_v2:04d}", "question": question,
                                       "answers": [], "is_impossible": True})
        answerable = [dict(qa, is_impossible=False) for qa in qas]
        articles_v2.setdefault(topic, []).append({"context": context, "qas": answerable + impossible})

    def layout(articles, version):
        return {"version": version, "data": [{"title": t, "paragraphs": p} for t, p in sorted(articles.items())]}

    return layout(articles_v1, "1.1"), layout(articles_v2, "v2.0")


# ---------------------------------------------------------------------------- tagging

# Sentence frames written for this set; {PER} {LOC} {ORG} {MISC} are filled from the gazetteers.
TRAIN_FRAMES = [
    "{PER} joined {ORG} after three years in {LOC} .",
    "The office of {ORG} in {LOC} opened on Monday .",
    "{PER} said the new release will support {MISC} text .",
    "{ORG} moved its headquarters from {LOC} to {LOC} .",
    "In {LOC} , {PER} gave a talk about the project .",
    "{PER} and {PER} wrote the first version together .",
    "The documentation was translated into {MISC} by volunteers from {LOC} .",
    "{ORG} hired {PER} as its new director .",
    "Flights from {LOC} to {LOC} were cancelled because of the storm .",
    "{PER} lives in {LOC} and works for {ORG} .",
    "A team from {ORG} visited {LOC} in May .",
    "{PER} thanked {ORG} for the grant .",
    "Most users in {LOC} read the manual in {MISC} .",
    "The conference will take place in {LOC} next spring .",
    "{ORG} announced a partnership with {ORG} on Tuesday .",
    "According to {PER} , the bug was fixed last week .",
    "{PER} was born in {LOC} .",
    "The {MISC} edition of the book sold well in {LOC} .",
    "{ORG} released the code under an open licence .",
    "{PER} reviewed the patch before it was merged .",
    "Students in {LOC} can now take the course in {MISC} .",
    "{PER} left {ORG} to start a company in {LOC} .",
    "The border between {LOC} and {LOC} was closed for a day .",
    "{ORG} sponsors the meeting every year .",
    "{PER} , a developer at {ORG} , answered the question .",
    "Prices in {LOC} rose again this month .",
    "{PER} met {PER} in {LOC} to discuss the plan .",
    "The mirror in {LOC} is run by {ORG} .",
    "Her first novel was written in {MISC} .",
    "{ORG} has more than a thousand members in {LOC} .",
    "{PER} maintains the {MISC} translation .",
    "The train from {LOC} arrived two hours late .",
    "{ORG} paid for the servers in {LOC} .",
    "{PER} is the author of the library .",
    "Volunteers in {LOC} organised the sprint .",
    "{PER} will speak on behalf of {ORG} .",
]
DEV_FRAMES = [
    "{PER} spent the summer in {LOC} .",
    "Engineers at {ORG} tested the update in {LOC} .",
    "The {MISC} version of the guide was finished by {PER} .",
    "{ORG} opened a second office in {LOC} .",
    "Yesterday {PER} flew from {LOC} to {LOC} .",
    "{PER} works with {PER} at {ORG} .",
    "Many people in {LOC} speak {MISC} at home .",
    "{ORG} signed an agreement with {ORG} .",
    "The meeting in {LOC} was chaired by {PER} .",
    "{PER} donated the books to {ORG} .",
    "A new bridge connects {LOC} and {LOC} .",
    "{PER} teaches {MISC} in {LOC} .",
]

# Languages, as the MISC entities (CoNLL-2003 tags nationalities and languages MISC).
LANGUAGES = [
    "English", "French", "German", "Spanish", "Portuguese", "Italian", "Dutch", "Swedish", "Norwegian",
    "Danish", "Finnish", "Polish", "Czech", "Greek", "Turkish", "Russian", "Ukrainian", "Arabic",
    "Hebrew", "Hindi", "Bengali", "Japanese", "Korean", "Chinese", "Vietnamese", "Thai", "Indonesian",
    "Swahili", "Hungarian", "Romanian", "Welsh", "Irish", "Basque", "Catalan", "Persian", "Tamil",
]
_ORG_WORDS = re.compile(r"\b(Inc\.?|LLC|Foundation|Corporation|Team|team|Authors|Contributors|Developers|"
                        r"Project|Software|Labs|Group|Ltd\.?|Organization|Python)\b")
_ORGANISATIONS_LIKE_NAMES = {"Hugging Face"}  # a company, though it reads like a person's name
_PERSON = re.compile(r"^[A-Z][a-z]+(?: (?:van |de |von )?[A-Z][a-z]+){1,2}$")


def collect_gazetteers():
    """{'PER'|'LOC'|'ORG'|'MISC': {name: where it came from}} from this machine's installed packages.

    LOC: pytz's tz database tables (country names of iso3166.tab, the city of each zone1970.tab
    zone), names of plain capitalised words only. PER and ORG: the Author/Maintainer fields of
    every installed distribution's metadata, split at commas and "and"; a part with an
    organisation word (Inc, Foundation, Team, Authors, Developers, ...) is an ORG, a part of 2-3
    capitalised words a PER. MISC: LANGUAGES, written here.
    """
    import pytz

    zoneinfo = pathlib.Path(pytz.__file__).parent / "zoneinfo"
    where = f"pytz=={pytz.__version__} zoneinfo/"
    places = {}
    for table, column in (("iso3166.tab", 1), ("zone1970.tab", 2)):
        for line in (zoneinfo / table).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                name = line.split("\t")[column].split("/")[-1].replace("_", " ")
                if re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*", name):
                    places.setdefault(name, where + table)
    people, organisations = {}, {}
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        meta = dist.metadata
        source = f"{meta['Name']}=={meta['Version']} metadata"
        for field in ("Author", "Maintainer", "Author-email", "Maintainer-email"):
            value = re.sub(r"<[^>]*>|\([^)]*\)|\[[^\]]*\]", "", meta.get(field) or "")
            for part in re.split(r",(?!\s*(?:Inc|LLC|Ltd)\b)|\band\b", value):
                part = " ".join(part.replace('"', "").split())
                if not part or "@" in part:
                    continue
                if ((_ORG_WORDS.search(part) or part in _ORGANISATIONS_LIKE_NAMES)
                        and re.fullmatch(r"[A-Z][\w.-]*(?: [\w.-]+){0,3}", part)):
                    name = re.sub(r",? (Inc\.?|LLC|Ltd\.?)$", "", part).removeprefix("The ")
                    organisations.setdefault(name, f"{source} {field}")
                elif _PERSON.fullmatch(part):
                    people.setdefault(part, f"{source} {field}")
    return {kind: dict(sorted(names.items())) for kind, names in
            (("PER", people), ("LOC", places), ("ORG", organisations),
             ("MISC", {name: "LANGUAGES of build_sets.py" for name in LANGUAGES}))}


def _fill(frame, names, rng):
    tokens, tags = [], []
    for word in frame.split():
        slot = re.fullmatch(r"\{(PER|LOC|ORG|MISC)\}", word)
        if slot:
            entity = rng.choice(names[slot.group(1)]).split()
            tokens += entity
            tags += [f"B-{slot.group(1)}"] + [f"I-{slot.group(1)}"] * (len(entity) - 1)
        else:
            tokens.append(word)
            tags.append("O")
    return tokens, tags


def build_tagging(gazetteer, rng):
    """(train, dev) sentences: train frames filled with train names; dev frames (none shared with
    train) filled half from names held out of train, half from train names."""
    train_names, held_out = {}, {}
    for kind, names in gazetteer.items():
        names = list(names)
        rng.shuffle(names)
        cut = round(len(names) * 0.3)
        held_out[kind], train_names[kind] = names[:cut], names[cut:]

    def sentences(frames, count, pools):
        out, seen = [], set()
        while len(out) < count:
            tokens, tags = _fill(rng.choice(frames), rng.choice(pools), rng)
            if tuple(tokens) not in seen:
                seen.add(tuple(tokens))
                out.append((tokens, tags))
        return out

    train = sentences(TRAIN_FRAMES, TAGGING_TRAIN, [train_names])
    dev = sentences(DEV_FRAMES, TAGGING_DEV, [held_out, train_names])
    return train, dev


def write_conll(path, sentences):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("-DOCSTART- O\n\n")
        for tokens, tags in sentences:
            f.writelines(f"{token} {tag}\n" for token, tag in zip(tokens, tags))
            f.write("\n")


# ---------------------------------------------------------------------------- multiple choice and STS

def topic_sentences(docs, topics_, max_words=35):
    """{topic: [[sentence, ...] per paragraph]} of sentences of 5 to max_words words."""
    out = {}
    for topic in topics_:
        out[topic] = [[s for s in split_sentences(p) if 5 <= len(s.split()) <= max_words] for p in docs[topic]]
    return out


def build_swag(docs, topics_, count, rng, prefix):
    """SWAG rows: sent1 a sentence, sent2 the first 3 words of the next sentence of its paragraph,
    the right ending the rest of that sentence, three wrong ones the rest of sentences of other topics."""
    by_topic = topic_sentences(docs, topics_, SWAG_MAX_WORDS)
    pairs = [(t, a, b) for t, paragraphs in by_topic.items() for sentences in paragraphs
             for a, b in zip(sentences, sentences[1:]) if len(b.split()) >= 6]
    rng.shuffle(pairs)
    others = [(t, s) for t, paragraphs in by_topic.items() for sentences in paragraphs for s in sentences
              if len(s.split()) >= 6]
    rows = []
    for number, (topic, first, second) in enumerate(pairs[:count]):
        words = second.split()
        stem, right = " ".join(words[:3]), " ".join(words[3:])
        wrong = []
        while len(wrong) < 3:
            other_topic, sentence = rng.choice(others)
            ending = " ".join(sentence.split()[3:])
            if other_topic != topic and ending not in wrong and ending != right:
                wrong.append(ending)
        label = rng.randrange(4)
        endings = wrong[:label] + [right] + wrong[label:]
        rows.append({"video-id": f"{prefix}-{topic}", "fold-ind": str(number), "startphrase": f"{first} {stem}",
                     "sent1": first, "sent2": stem, "gold-source": "gold",
                     **{f"ending{i}": e for i, e in enumerate(endings)}, "label": str(label)})
    return rows


STS_KEPT_FRACTIONS = (1.0, 0.8, 0.6, 0.4, 0.2, 0.0)


def build_sts(docs, topics_, count, rng):
    """STS rows: sentence2 keeps a fraction f of sentence1's words (in order, seeded choice) and takes the
    rest of its length from a sentence of another topic; the score is 5 * f (0 = unrelated sentence)."""
    by_topic = topic_sentences(docs, topics_)
    sentences = [(t, s) for t, paragraphs in by_topic.items() for ss in paragraphs for s in ss]
    rng.shuffle(sentences)
    rows, seen = [], set()
    for index, (topic, sentence) in enumerate(sentences):
        if len(rows) >= count:
            break
        if sentence in seen:
            continue
        seen.add(sentence)
        fraction = STS_KEPT_FRACTIONS[index % len(STS_KEPT_FRACTIONS)]
        words = sentence.split()
        kept = sorted(rng.sample(range(len(words)), round(fraction * len(words))))
        other_topic, other = rng.choice(sentences)
        while other_topic == topic or len(other.split()) < len(words) - len(kept):
            other_topic, other = rng.choice(sentences)
        filler = other.split()[:len(words) - len(kept)]
        second = " ".join([words[i] for i in kept] + filler)
        rows.append({"sentence1": sentence, "sentence2": second, "label": f"{5 * fraction:.1f}"})
    return rows


def build_classification(rng):
    """(train, dev) rows of labelled_messages.tsv: a seeded stratified split, dev a quarter of each label."""
    by_label = collections.defaultdict(list)
    for line in LABELLED_MESSAGES.read_text(encoding="utf-8").split("\n"):
        if line:
            label, text = line.split("\t")
            by_label[label].append(text)
    train, dev = [], []
    total = sum(len(texts) for texts in by_label.values())
    for label, texts in sorted(by_label.items()):
        texts = list(texts)
        rng.shuffle(texts)
        cut = round(len(texts) * CLASSIFICATION_DEV_FRACTION)
        dev += [{"sentence": t, "label": label} for t in texts[:cut]]
        keep = round((len(texts) - cut) * min(1.0, CLASSIFICATION_TRAIN_MAX / (total * 0.75)))
        train += [{"sentence": t, "label": label} for t in texts[cut:cut + keep]]
    rng.shuffle(train)
    rng.shuffle(dev)
    return train, dev


def write_rows(path, rows, delimiter):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_json(path, value):
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(out=OUT):
    """Writes every set into the directory `out` (this one by default)."""
    docs = documents()
    train_topics, dev_topics = split_topics(docs, random.Random(SEED))
    print(f"{len(docs)} documentation topics: {len(train_topics)} train, {len(dev_topics)} dev")
    count_pieces = minilm_piece_counter()
    squad_train, squad_v2_train = build_squad(docs, train_topics, QA_TRAIN, random.Random(SEED + 1), "train",
                                              count_pieces)
    squad_dev, squad_v2_dev = build_squad(docs, dev_topics, QA_DEV, random.Random(SEED + 2), "dev", count_pieces)
    for name, value in (("squad_train.json", squad_train), ("squad_dev.json", squad_dev),
                        ("squad_v2_train.json", squad_v2_train), ("squad_v2_dev.json", squad_v2_dev)):
        write_json(out / name, value)
        questions = [qa for a in value["data"] for p in a["paragraphs"] for qa in p["qas"]]
        print(f"{name}: {len(questions)} questions, {sum(not q['answers'] for q in questions)} unanswerable")
    gazetteer = {kind: sorted(names) for kind, names in json.loads(GAZETTEERS.read_text(encoding="utf-8")).items()}
    tagging_train, tagging_dev = build_tagging(gazetteer, random.Random(SEED + 3))
    write_conll(out / "conll_train.txt", tagging_train)
    write_conll(out / "conll_dev.txt", tagging_dev)
    print(f"conll: {len(tagging_train)} train, {len(tagging_dev)} dev sentences; gazetteer sizes "
          + ", ".join(f"{k} {len(v)}" for k, v in gazetteer.items()))
    write_rows(out / "swag_train.csv", build_swag(docs, train_topics, SWAG_TRAIN, random.Random(SEED + 4), "train"), ",")
    write_rows(out / "swag_dev.csv", build_swag(docs, dev_topics, SWAG_DEV, random.Random(SEED + 5), "dev"), ",")
    write_rows(out / "sts_train.tsv", build_sts(docs, train_topics, STS_TRAIN, random.Random(SEED + 6)), "\t")
    write_rows(out / "sts_dev.tsv", build_sts(docs, dev_topics, STS_DEV, random.Random(SEED + 7)), "\t")
    classification_train, classification_dev = build_classification(random.Random(SEED + 8))
    write_rows(out / "classification_train.tsv", classification_train, "\t")
    write_rows(out / "classification_dev.tsv", classification_dev, "\t")
    print(f"classification: {len(classification_train)} train, {len(classification_dev)} dev messages")
    write_json(out / "sources.json", {"python": PYTHON, "seed": SEED, "train_topics": train_topics,
                                      "dev_topics": dev_topics})
    print(f"wrote {out}")


def define_flags():
    from absl import flags

    flags.DEFINE_bool("collect_gazetteers", False,
                      f"Rewrite {GAZETTEERS.name} from this machine's installed packages first (the sets are "
                      "built from that file, so they do not change when packages are installed).")


def run(argv):
    from absl import flags

    del argv
    if sys.version.split()[0] != PYTHON:
        print(f"warning: the sets were built with Python {PYTHON}'s documentation; this is Python "
              f"{sys.version.split()[0]}, whose pydoc topics may differ")
    if flags.FLAGS.collect_gazetteers:
        gazetteer = collect_gazetteers()
        write_json(GAZETTEERS, gazetteer)
        print(f"wrote {GAZETTEERS}: " + ", ".join(f"{kind} {len(names)}" for kind, names in gazetteer.items()))
    main()


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(run)
