"""A synthetic, annotated travel corpus: what the bundled default model is trained on."""
