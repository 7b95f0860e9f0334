#!/usr/bin/env python3
"""Sessions: what `lazy-run --session` and `--continue` save over a fresh prefill.

    python3 bench/session.py [--tokens 1024 2048 4096] [--variants dense default]

For each model (dense; `default`: lazy-compile --schedule=default, LazyLLM)
and each document length, one process per run, in this order:
  fresh     the document + question 1, no session: TTFT (the prefill);
  saved     the same with --session S (new): the prefill, and S's size;
  other     the document + question 2 with --session S: S restored as far as
            the two prompts agree (the document), question 2 fed: session_ms
            (reading S) + TTFT (the step over the rest);
  same      the document + question 1 again with --session S: restored whole,
            nothing fed: session_ms only;
  continue  a conversation (the document + question 1, --follow-up question
            2, --session C), then --continue --session C --follow-up question
            3: session_ms + question 3's step, against question 3's step in
            one run asking all three (`one run`).
"Speedup" is the fresh TTFT over the time to the first token with a session
(its reading included). Every run generates 8 tokens (--ignore-eos); a
session run's tokens are compared with the fresh run's (`same tokens`).
Prints a table and writes bench/results/session.json.

The document is the GPL-3 text Debian ships, cut to the exact token count.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
BIN = os.path.join(ROOT, "build", "bin")
RESULTS = os.path.join(ROOT, "bench", "results")
VARIANTS = {"dense": [], "default": ["--schedule=default"]}
QUESTIONS = ["\n\nQuestion: What does this license let you do? Answer:",
             "\n\nQuestion: Who wrote this license? Answer:",
             "\n\nQuestion: What must you keep when you copy it? Answer:"]


def tokenize(text):
    out = subprocess.check_output([os.path.join(BIN, "lazy-tokenize"), MODEL],
                                  input=text.encode())
    return [int(i) for i in out.split()]


def run(so, ids_file=None, extra=()):
    cmd = [os.path.join(BIN, "lazy-run"), so, "-m", MODEL, "-n", "8", "--ignore-eos", "--json"]
    if ids_file:
        cmd += ["--ids", ids_file]
    out = subprocess.run(cmd + list(extra), check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = ap.parse_args()
    if not os.path.exists(MODEL):
        sys.exit(f"session.py: run scripts/setup.sh first (no {MODEL})")
    subprocess.run(["ninja", "-C", os.path.join(ROOT, "build"), "-j2", "lazy-compile", "lazy-run",
                    "lazy-tokenize"], check=True, stdout=subprocess.DEVNULL)
    license_text = open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read() * 3
    document = tokenize(license_text)
    questions = [tokenize(q) for q in QUESTIONS]
    work = tempfile.mkdtemp(prefix="lazyc-session-")
    rows = []
    for variant in args.variants:
        so = os.path.join(work, f"{variant}.so")
        ctx = str(max(args.tokens) + 256)
        subprocess.run([os.path.join(BIN, "lazy-compile"), MODEL, "--ctx", ctx, "-o", so,
                        *VARIANTS[variant]], check=True, stderr=subprocess.DEVNULL)
        for n in args.tokens:
            files = []
            for k in range(2):
                path = os.path.join(work, f"q{k + 1}-{n}.ids")
                with open(path, "w") as f:
                    f.write(" ".join(map(str, document[:n] + questions[k])))
                files.append(path)
            ses, conv = os.path.join(work, f"{variant}-{n}.ses"), os.path.join(work, "c.ses")
            for path in (ses, conv):
                if os.path.exists(path):
                    os.remove(path)
            fresh = run(so, files[0])
            fresh2 = run(so, files[1])
            saved = run(so, files[0], ["--session", ses])
            size = os.path.getsize(ses)
            other = run(so, files[1], ["--session", ses])
            same = run(so, files[0], ["--session", ses])
            # The conversation: question 2 and 3 as text follow-ups.
            run(so, files[0], ["--follow-up", QUESTIONS[1], "--session", conv])
            cont = run(so, None, ["--continue", "--session", conv, "--follow-up", QUESTIONS[2]])
            one = run(so, files[0], ["--follow-up", QUESTIONS[1], "--follow-up", QUESTIONS[2]])
            q3 = cont["follow_ups"][0]
            row = {
                "variant": variant, "prompt_tokens": fresh["prompt_tokens"],
                "fresh_ttft_ms": fresh["ttft_ms"], "saved_ttft_ms": saved["ttft_ms"],
                "session_bytes": size,
                "other_session_ms": other["session_ms"], "other_ttft_ms": other["ttft_ms"],
                "other_reused_tokens": other["session_reused_tokens"],
                "other_same_tokens": other["generated_ids"] == fresh2["generated_ids"],
                "same_session_ms": same["session_ms"],
                "same_same_tokens": same["generated_ids"] == fresh["generated_ids"],
                "continue_session_ms": cont["session_ms"],
                "continue_step_ms": q3["ttft_ms"],
                "one_run_step_ms": one["follow_ups"][1]["ttft_ms"],
                "continue_same_tokens": q3["generated_ids"] == one["follow_ups"][1]["generated_ids"],
            }
            rows.append(row)
            print(f"{variant} {n}: done", file=sys.stderr)
    header = ("| model | prompt tokens | fresh TTFT | other question: read + step (speedup) | "
              "same prompt: read (speedup) | session | continue: read + step (one run's step) | "
              "same tokens |")
    lines = [header, "|" + "---|" * 8]
    for r in rows:
        other = r["other_session_ms"] + r["other_ttft_ms"]
        same = r["same_session_ms"]
        same_tokens = all(r[k] for k in ("other_same_tokens", "same_same_tokens",
                                         "continue_same_tokens"))
        lines.append(
            f"| {r['variant']} | {r['prompt_tokens']:,} | {r['fresh_ttft_ms']:,.0f} ms | "
            f"{r['other_session_ms']:.0f} + {r['other_ttft_ms']:.0f} ms "
            f"({r['fresh_ttft_ms'] / other:.1f}x) | {same:.0f} ms ({r['fresh_ttft_ms'] / same:.1f}x) | "
            f"{r['session_bytes'] / 1e6:.0f} MB | {r['continue_session_ms']:.0f} + "
            f"{r['continue_step_ms']:.0f} ms ({r['one_run_step_ms']:.0f} ms) | {same_tokens} |")
    print("\n".join(lines))
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "session.json"), "w") as f:
        json.dump({"rows": rows}, f, indent=1)
    with open(os.path.join(RESULTS, "session.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
