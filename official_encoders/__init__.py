"""Keras 3 BERT, ALBERT and ELECTRA text encoders in the TF-Hub style."""
