"""The knowledge base (知识库): articles, their versions and life cycle, Chinese search."""
