"""Token encoders: how a word becomes numbers (1-of-N ids, hashed letter trigrams, subwords)."""
