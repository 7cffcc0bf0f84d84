"""An OpenAI-compatible stub server for offline tests of your own pipelines (stdlib only).

`selfinstruct.testing.openai_stub` holds the names (`StubServer`, `Fault`, `Thinking`) and the
command line (`python -m selfinstruct.testing.openai_stub --help`); `import selfinstruct` does
not load this package.
"""
