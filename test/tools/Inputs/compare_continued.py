#!/usr/bin/env python3
"""Compares a conversation continued with lazy-run --continue against the
same questions asked in one run (lazy-run-continue.test).

    compare_continued.py FIRST.json CONTINUED.json REFERENCE.json

FIRST asked question 1 and saved the session; CONTINUED restored it and asked
questions 2, 3, ...; REFERENCE asked them all. Prints whether CONTINUED
restored FIRST's whole context, then per later question whether its answer's
tokens and its revived token-layers (the question's step, the answer's decode
steps) are the reference's.
"""
import json
import sys

first, continued, ref = (json.load(open(p)) for p in sys.argv[1:4])
# FIRST's context at the end: the prompt, the answers as fed, the question.
asked = len(first["follow_ups"])
restored = continued["session_reused_tokens"]
whole = continued["prompt_tokens"] == restored > first["prompt_tokens"]
print(f"continued {continued['continued']}; restored the first run's {restored} tokens {whole}")
for i, turn in enumerate(continued["follow_ups"]):
    want = ref["follow_ups"][asked + i]
    print(f"question {asked + i + 1}: "
          f"same tokens {turn['generated_ids'] == want['generated_ids']}, "
          f"same question revivals "
          f"{turn['question_revived_tokens'] == want['question_revived_tokens']}, "
          f"same answer revivals {turn['revived_tokens'] == want['revived_tokens']}")
