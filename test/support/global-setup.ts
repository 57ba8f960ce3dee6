/** Runs once before the suite: fail early, with a clear message, when a tool the tests drive is missing. */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  for (const tool of ['ffmpeg', 'ffprobe']) {
    try {
      execFileSync(tool, ['-version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is required by the tests (real media is made with it): apt-get install -y ffmpeg`);
    }
  }
}
