"""Did the fine-tune work? Measurements per checkpoint against the base.

identity.py     identity meter: hit rate on the training phrasings vs held-out ways to ask who it is
general.py      forgetting check: perplexity on a general text, drift of answers on general prompts
bench.py        multiple-choice accuracy on a local C-Eval / MMLU-layout CSV through lm-evaluation-harness
scoreboard.py   all of the above per run: checkpoints × scores, best checkpoint, saved with the run
job.py          "evaluate every checkpoint" as a background process that survives the UI
commands.py     CLI: eval identity | general | bench | run
"""
