"""Import and export of assistants in AI Studio's JSON format v1.0 (issue 12, DESIGN §3 and §8).

`aistudio` is the format, pure; `models_map` maps model names; `service` does the database work.
"""
