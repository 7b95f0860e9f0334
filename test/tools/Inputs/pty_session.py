#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as a person at a terminal would.

    pty_session.py [--line TEXT]... -- COMMAND [ARG]...

Waits for the command's "> " prompt before typing each line, then types
Ctrl-D (end of input) at the next prompt; prints everything the terminal
showed (carriage returns dropped) and exits with the command's status.
lit's tests of `lazy-run --interactive` on a terminal use it (stdin, stdout
and stderr are all the terminal there).
"""
import os
import pty
import select
import sys
import time

TIMEOUT_S = 300


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: pty_session.py [--line TEXT]... -- COMMAND [ARG]...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    lines = [options[i + 1] for i in range(0, len(options), 2) if options[i] == "--line"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    shown = b""
    prompts = 0

    def read_until_prompt():
        nonlocal shown, prompts
        deadline = time.time() + TIMEOUT_S
        while shown.count(b"> ") <= prompts:
            if time.time() > deadline:
                sys.exit(f"pty_session.py: no prompt within {TIMEOUT_S} s; shown so far:\n"
                         + shown.decode(errors="replace"))
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # the command ended
                return False
            if not data:
                return False
            shown += data
        prompts = shown.count(b"> ")
        return True

    for line in lines + [None]:
        if not read_until_prompt():
            break
        os.write(fd, b"\x04" if line is None else line.encode() + b"\n")
    while True:  # the rest of the output
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        shown += data
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(shown.decode(errors="replace").replace("\r", ""))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
