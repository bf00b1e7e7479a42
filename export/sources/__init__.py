"""Weight importers: Hugging Face safetensors, google-research TF1, our own TF2 checkpoints."""
