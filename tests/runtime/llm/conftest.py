"""The LLM client tests use `openai_server` and `redis_url` from tests/conftest.py."""
