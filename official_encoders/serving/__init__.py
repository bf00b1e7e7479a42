"""Text-in serving modules for task models: raw strings in, task answers out, all in the graph.

`question_answering.QuestionAnsweringServer` (with `span_selection`) serves span QA;
`text_serving` holds what every text-in SavedModel shares (its TF Serving notes, the
custom-op list).
"""
