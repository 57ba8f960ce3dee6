"""Run a command on a pseudo-terminal, as a person at a terminal would, and press Ctrl-C once.

Used by test/integration/exec.test.ts. Usage: pty-ctrl-c.py <ready-regex> <after-regex> <command...>
  1. start the command as the foreground job of a new terminal;
  2. wait until its output matches <ready-regex>, then type Ctrl-C (the terminal sends SIGINT to
     the whole foreground process group, as a real one does);
  3. wait until the output matches <after-regex> (the terminal echoes "^C" first, as ttys do), then send SIGTERM to the command itself;
  4. read until the terminal closes and print one JSON line: {"output": ..., "status": ...}.
Every wait is on output, bounded by a 60-s deadline (then it kills the job and exits 3).
"""
import json
import os
import pty
import re
import select
import signal
import sys
import time

ready, after, command = re.compile(sys.argv[1], re.M), re.compile(sys.argv[2], re.M), sys.argv[3:]
pid, master = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

deadline = time.monotonic() + 60
output = b''


def read_until(pattern):
    """Read the terminal until the text matches pattern (None: until it closes). False on the deadline."""
    global output
    while pattern is None or not pattern.search(output.decode('utf-8', 'replace')):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        readable, _, _ = select.select([master], [], [], left)
        if not readable:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every process holding the terminal is gone
            return pattern is None
        if not chunk:
            return pattern is None
        output += chunk
    return True


ok = read_until(ready)
if ok:
    os.write(master, b'\x03')
    ok = read_until(after)
if ok:
    os.kill(pid, signal.SIGTERM)
    ok = read_until(None)
if not ok:
    os.killpg(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
print(json.dumps({'output': output.decode('utf-8', 'replace'), 'status': os.waitstatus_to_exitcode(status), 'timed_out': not ok}))
sys.exit(3 if not ok else 0)
