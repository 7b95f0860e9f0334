#!/usr/bin/env python3
"""Compares lazy-run --session runs with runs without one (lazy-run-session.test).

    compare_runs.py SESSION.json[:REFERENCE.json]...

One line per run: how many prompt tokens the session restored, and
- with a reference run: whether the same tokens were generated;
- when it restored something: whether the whole prompt (its saved state and
  logits: nothing fed) or how many tokens short of it;
- a dense model's partial restore: whether every layer computed only the rest;
- a whole restore: whether its decode steps revived as many token-layers as
  the reference's (a pruned model: the same state).
"""
import json
import sys

for arg in sys.argv[1:]:
    paths = arg.split(":")
    run = json.load(open(paths[0]))
    ref = json.load(open(paths[1])) if len(paths) > 1 else None
    restored, prompt = run["session_reused_tokens"], run["prompt_tokens"]
    line = f"restored {restored} of {prompt}"
    if ref is not None:
        line += f"; same tokens {run['generated_ids'] == ref['generated_ids']}"
    if restored > 0:
        whole = restored == prompt
        line += "; whole prompt" if whole else f"; {prompt - restored} tokens fed"
        if not run["pruned"] and not whole:
            rest = prompt - restored
            line += ("; layers computed those only "
                     f"{all(c == rest for c in run['computed_tokens_per_layer'])}")
        if whole and ref is not None:
            line += f"; same revivals {run['revived_tokens'] == ref['revived_tokens']}"
    print(line)
