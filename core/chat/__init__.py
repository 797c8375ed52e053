"""Chat: prompts from the tokenizer's chat template, streaming generation, N-way comparison."""
