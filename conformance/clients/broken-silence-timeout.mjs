// BROKEN on purpose (conformance kit example): after sending its media and session.close it gives up
// when nothing arrives for about 4 s, and closes the socket. The live service says nothing for about
// 10 s before its first results, with gaps of up to 12 s after (a public client that closed after 4 s
// of silence got nothing: InterhumanAI/interhuman-example-pitch, commit 849182f), so this client loses
// the analysis it asked for whenever the server is slow. (4.25 s, not 4: scripted delays are whole
// half-seconds, so whether it gives up never depends on a few milliseconds, and a shrunk reproducer
// fails again.) Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-silence-timeout', silenceTimeoutMs: 4250 };

runAsCommand(import.meta.url, hooks);
