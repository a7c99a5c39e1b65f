"""Full-text search (Whoosh + jieba). Not built yet: it arrives with the search issue.

This package exists so the source root and its entry point are in place; it
registers no hooks and claims no features.
"""
