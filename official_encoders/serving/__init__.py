"""In-graph text-in serving modules of the task models (no file writing; export/ writes them).

One module per task (`sequence_classification`, `token_classification`,
`multiple_choice`, `question_answering`) and `text_inputs`, which checks, tokenizes
and packs the raw strings they take.
"""
