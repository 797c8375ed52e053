"""OpenAI-compatible servers for a base model and its checkpoints, run as background jobs.

server.py starts/stops/lists them and checks parity with the in-app chat; worker.py is the server
process (``transformers serve`` in our venv, or vLLM from its own venv); vllm_env.py builds that venv
and vLLM's command line.
"""
