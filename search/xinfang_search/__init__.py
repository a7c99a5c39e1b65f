"""Full-text search in Chinese (Whoosh 3 + jieba), duplicate and repeat-petition detection, frequent words.

A plugin on the platform's own hooks (entry point ``search``): it indexes after
the store is written, through one writer per index, and answers 503 rather than
partial results while an index cannot answer.
"""
