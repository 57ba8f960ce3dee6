// BROKEN on purpose (conformance kit example): after sending its media and session.close it gives up
// when nothing arrives for 4 s, and closes the socket. The live service says nothing for about 10 s
// before its first results, with gaps of up to 12 s after (a public client that closed after 4 s of
// silence got nothing: InterhumanAI/interhuman-example-pitch, commit 849182f), so this client loses
// the analysis it asked for whenever the server is slow. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-silence-timeout', silenceTimeoutMs: 4000 };

runAsCommand(import.meta.url, hooks);
