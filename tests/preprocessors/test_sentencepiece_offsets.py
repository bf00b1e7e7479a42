"""AlbertSentencepieceTokenizer.tokenize_with_offsets / tokenize_words_with_offsets.

Every piece must span exactly its own input characters, also where the
normalisation (NFKD, dropped combining marks, lower-casing, collapsed whitespace,
`` -> ") changes the text's length, and the offsets and words must be those of
Hugging Face's ALBERT tokenizer (built from the same spiece.model, in this run)
wherever the two tokenize alike. Where they do not, the departure is one of those
named in albert_departures.
"""

import unicodedata

import pytest
import tensorflow as tf

from preprocessors import sentencepiece
from preprocessors.sentencepiece import AlbertSentencepieceTokenizer
from tests.preprocessors.albert_departures import hf_albert_departure

EDGE_TEXTS = [
    "Café naïve façade, ÉCOLE — crème brûlée",
    "中文字，日本語のテキスト。한국어 문장입니다",
    "emoji 😀👍🏽 and flags 🇫🇷 between words",
    "İSTANBUL İzmir ǅemal ẞtraße Ⱥ",  # lower-casing that changes length
    "  leading\t\ttabs  and \u00a0no-break\u3000ideographic   spaces \n\n",
    "``quoted'' and ```three''' ticks, l'été",
    "½ ﬁne ㍿ ① fractions and ligatures",
    "The year 1998, was great; 100,000, and 3,4",
    "e\u0301te\u0301 with combining accents \u0308alone",
    "", "   ", "x",
]


def python_normalize(text, lower):
    """The reference's per-character steps 2-4 (module doc of preprocessors.sentencepiece), then what
    SentencePiece's nmt_nfkc does to the pieces (NFKC, control characters dropped)."""
    text = text.replace("``", '"').replace("''", '"')
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    # nmt_nfkc also drops control characters.
    text = "".join(c for c in text if unicodedata.category(c) != "Cc")
    return unicodedata.normalize("NFKC", text.lower() if lower else text)


def char_offsets(text, starts, ends):
    raw = text.encode("utf-8")
    return [(len(raw[:s].decode("utf-8")), len(raw[:e].decode("utf-8"))) for s, e in zip(starts, ends)]


@pytest.fixture(scope="module")
def texts(passages):
    return EDGE_TEXTS + passages[::40]


def test_whitespace_codes_are_the_whitespace_class():
    code_points = list(range(0x3100))
    chars = tf.constant([chr(cp) if not 0xD800 <= cp < 0xE000 else "a" for cp in code_points])
    matched = tf.strings.regex_full_match(chars, sentencepiece._PY_WHITESPACE).numpy()
    assert [cp for cp, hit in zip(code_points, matched) if hit] == list(sentencepiece._WHITESPACE_CODES)


@pytest.mark.parametrize("lower", [True, False])
def test_every_piece_spans_its_own_characters(sp_model_dir, texts, lower):
    tokenizer = AlbertSentencepieceTokenizer(str(sp_model_dir / "spiece.model"), lower)
    ids, starts, ends = tokenizer.tokenize_with_offsets(tf.constant(texts))
    assert ids.to_list() == tokenizer.tokenize(tf.constant(texts)).to_list()
    pieces = tokenizer._sp.id_to_string(ids).to_list()
    unknown = tokenizer.special_ids["unknown_id"]
    checked = shared = 0
    for text, row_ids, row_pieces, row_starts, row_ends in zip(
            texts, ids.to_list(), pieces, starts.to_list(), ends.to_list()):
        spans = char_offsets(text, row_starts, row_ends)
        previous_end = 0
        for i, (piece_id, piece, (start, end)) in enumerate(zip(row_ids, row_pieces, spans)):
            piece = piece.decode("utf-8")
            assert 0 <= start < end <= len(text) and not text[start].isspace(), (text, piece, start, end)
            assert start >= previous_end or start == spans[i - 1][0], (text, piece, spans[i - 1], (start, end))
            previous_end = max(previous_end, end)
            # The '"' that replaces `` or '' spans the second tick only, as Hugging Face aligns it.
            pair = piece.lstrip("▁").startswith('"') and text[start] in "`'"
            first = start - 1 if pair and start and text[start - 1] == text[start] else start
            own = python_normalize(text[first:end], lower)
            # A lone "▁" spans the first character of its word, as in Hugging Face; an
            # unknown piece's text is not in the vocabulary.
            if piece == "▁" or piece_id == unknown:
                continue
            stem = piece.replace("▁", "")
            # One input character can become several pieces ("½" -> "1", "⁄", "2"; "ǅe" -> "d", "ze"):
            # each spans it whole.
            neighbours = [spans[j] for j in (i - 1, i + 1) if 0 <= j < len(spans)]
            if any(s < end and start < e for s, e in neighbours):
                assert stem in own, (text, piece, own)
                shared += 1
            else:
                assert own == stem, (text, piece, text[start:end], own)
            checked += 1
    assert checked > 1000 and shared > 0


@pytest.mark.parametrize("lower", [True, False])
def test_offsets_and_words_equal_hugging_face_albert(sp_model_dir, texts, lower):
    import transformers

    hf = transformers.AlbertTokenizer.from_pretrained(str(sp_model_dir), do_lower_case=lower)
    assert hf.is_fast
    tokenizer = AlbertSentencepieceTokenizer(str(sp_model_dir / "spiece.model"), lower)
    ids, starts, ends = tokenizer.tokenize_words_with_offsets(tf.constant(texts))
    compared, departures = 0, {}
    for text, words, word_starts, word_ends in zip(texts, ids.to_list(), starts.to_list(), ends.to_list()):
        encoded = hf(text, add_special_tokens=False, return_offsets_mapping=True)
        flat_ids = [i for word in words for i in word]
        if flat_ids != encoded["input_ids"]:
            departure = hf_albert_departure(text, lower)
            assert departure, text
            departures[departure] = departures.get(departure, 0) + 1
            continue
        ours = char_offsets(text, [s for w in word_starts for s in w], [e for w in word_ends for e in w])
        assert ours == [tuple(o) for o in encoded["offset_mapping"]], text
        our_words = [w for w, word in enumerate(words) for _ in word]
        assert our_words == encoded.word_ids(), text
        compared += 1
    assert compared >= 0.8 * len(texts)
    print(f"lower={lower}: offsets and words equal HF on {compared}/{len(texts)} texts; departures {departures}")


def test_digit_comma_resplit_pieces_stay_inside_their_piece(large_sp_model):
    tokenizer = AlbertSentencepieceTokenizer(large_sp_model, False)
    text = "In 1990, 2000, and 2010, the population was 100,000, or 20,"
    ids, starts, ends = tokenizer.tokenize_with_offsets(tf.constant([text]))
    assert ids.to_list() == tokenizer.tokenize(tf.constant([text])).to_list()
    pieces = [p.decode("utf-8") for p in tokenizer._sp.id_to_string(ids[0]).numpy()]
    spans = char_offsets(text, starts[0].numpy(), ends[0].numpy())
    commas = [span for piece, span in zip(pieces, spans) if piece == ","]
    assert len(commas) == text.count(",")
    assert all(text[s:e] == "," for s, e in commas)
    for piece, (s, e) in zip(pieces, spans):
        assert text[s:e] == piece.replace("▁", "") or piece == "▁", (piece, text[s:e])


def test_empty_batch_and_empty_strings(tiny_sp_model):
    tokenizer = AlbertSentencepieceTokenizer(tiny_sp_model, True)
    for batch in ([], ["", "  "]):
        ids, starts, ends = tokenizer.tokenize_words_with_offsets(tf.constant(batch, tf.string))
        assert ids.shape[0] == len(batch) and ids.flat_values.shape[0] == 0
        assert starts.flat_values.dtype == tf.int64 and ends.shape[0] == len(batch)
