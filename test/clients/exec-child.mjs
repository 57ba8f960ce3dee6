// The command `ih-mock exec` runs in test/integration/exec.test.ts: a small Node program that does
// what a test suite under exec would do. Modes (first argument):
//   exit <n>          exit with code n
//   kill-self         die of SIGKILL
//   env               print its pid and the IH_* variables as one JSON line, open a stream session at
//                     IH_STREAM_URL with IH_API_KEY and print the session.ready it gets, then exit 0
//   trap <n>          print "trap ready <pid>" once its SIGINT/SIGTERM handler is set; on a signal
//                     print "child got <signal>" and exit with code n
//   wait              print "waiting <pid>" and wait without a handler (a signal kills it)
//   count             print "count ready"; print "child got SIGINT <n>" for the n-th SIGINT; on SIGTERM
//                     print "child got SIGTERM after <n> SIGINT" and exit 0
import WebSocket from 'ws';

const [mode, arg] = process.argv.slice(2);

if (mode === 'exit') process.exit(Number(arg));
if (mode === 'kill-self') process.kill(process.pid, 'SIGKILL');

if (mode === 'env') {
  const vars = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('IH_')));
  console.log(JSON.stringify({ pid: process.pid, env: vars }));
  const ws = new WebSocket(process.env.IH_STREAM_URL, { headers: { Authorization: `Bearer ${process.env.IH_API_KEY}` } });
  ws.on('message', (data) => {
    console.log(data.toString());
    ws.close(1000);
  });
  ws.on('close', () => process.exit(0));
  ws.on('error', (err) => {
    console.error(`stream error: ${err.message}`);
    process.exit(9);
  });
}

if (mode === 'trap') {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.log(`child got ${signal}`);
      process.exit(Number(arg));
    });
  }
  console.log(`trap ready ${process.pid}`);
  setInterval(() => {}, 1 << 30);
}

if (mode === 'wait') {
  console.log(`waiting ${process.pid}`);
  setInterval(() => {}, 1 << 30);
}

if (mode === 'count') {
  let interrupts = 0;
  process.on('SIGINT', () => console.log(`child got SIGINT ${++interrupts}`));
  process.on('SIGTERM', () => {
    console.log(`child got SIGTERM after ${interrupts} SIGINT`);
    process.exit(0);
  });
  console.log('count ready');
  setInterval(() => {}, 1 << 30);
}
