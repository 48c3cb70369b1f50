"""essim: an Elasticsearch 8 simulator for haes's tests (see ../README.md)."""
