#!/usr/bin/env python3
"""check_chat_ids.py LAZY_TOKENIZE CHECKPOINT: runs `LAZY_TOKENIZE CHECKPOINT --chat
[--system S]` on each case of the
checkpoint's expected.txt (make_spm_chat_fixture.py: "<system>\\n<user>\\n<ids>\\n",
the ids transformers' apply_chat_template gives) and prints one line per case:
"case N: match" or the two id lists."""
import subprocess
import sys

tool, checkpoint = sys.argv[1], sys.argv[2]
lines = open(f"{checkpoint}/expected.txt", encoding="utf-8").read().split("\n")
for n in range(len(lines) // 3):
    system, user, want = lines[3 * n], lines[3 * n + 1], lines[3 * n + 2]
    args = [tool, checkpoint, "--chat"] + (["--system", system] if system else [])
    got = subprocess.run(args, input=user.encode(), capture_output=True, check=True).stdout
    got = got.decode().strip()
    print(f"case {n}: match" if got == want else f"case {n}: lazyc {got} != transformers {want}")
