"""In-graph text-in serving modules of the task models (no file writing; export/ writes them).

One module per task (`sequence_classification`, `token_classification`,
`multiple_choice`, `question_answering` with `span_selection`), `text_inputs`, which
checks, tokenizes and packs the raw strings they take, and `text_serving`, what every
text-in SavedModel shares (its TF Serving notes, the custom-op list).
"""
