"""Tiny random Hugging Face ALBERT task models saved with the ALBERT tokenizer of a SentencePiece model.

The tokenizer is transformers' AlbertTokenizer (tokenizers-backed) converted from the
spiece.model the test trained, saved so that transformers 5 and 4.57 both load it; the
directory keeps spiece.model too, which our importer reads. The head is scaled (`head_scale`) so the best label or span is well separated
and float rounding cannot decide it.
"""

import json
import shutil


def write_hf_albert_dir(directory, sp_model_dir, model_class, do_lower_case, head_scale, labels=None, seed=0):
    """Saves a random `model_class` (AlbertForQuestionAnswering, AlbertForTokenClassification, ...)."""
    import torch
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = transformers.AlbertTokenizer.from_pretrained(str(sp_model_dir), do_lower_case=do_lower_case)
    assert tokenizer.is_fast
    label_settings = dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                          label2id={label: i for i, label in enumerate(labels)}) if labels else {}
    config = transformers.AlbertConfig(
        vocab_size=len(tokenizer), embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, **label_settings)
    torch.manual_seed(seed)
    model = model_class(config).eval()
    head = model.qa_outputs if hasattr(model, "qa_outputs") else model.classifier
    with torch.no_grad():
        head.weight.normal_(0.0, head_scale)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    shutil.copyfile(sp_model_dir / "spiece.model", directory / "spiece.model")
    path = directory / "tokenizer_config.json"
    settings = json.loads(path.read_text())
    assert settings.get("do_lower_case") is do_lower_case  # what our importer reads
    # transformers 5 writes this key as a list; 4.57 (the QA pipeline's reference) reads it as a dict.
    settings.pop("extra_special_tokens", None)
    path.write_text(json.dumps(settings, indent=2))
    return directory
