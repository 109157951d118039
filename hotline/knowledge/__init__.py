"""Knowledge base (知识库): articles operators read out, with Chinese full-text search.

- ``models``: ``KnowledgeArticle`` (+ Create/Update/Public) and its index ``KnowledgeToken``
- ``search``: jieba segmentation, query plans with synonyms (``synonyms.yaml``), snippets
- ``service``: add/update/retire articles, ``search``, ``get``, ``load_seed`` (``seed.yaml``)

Nothing is re-exported here: ``service.search`` would shadow the ``search`` module.
"""
