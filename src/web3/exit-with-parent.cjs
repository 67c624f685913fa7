// Preloaded (`node --require`) into a child process the gateway starts, such as the local chain:
// the child exits once the gateway is gone, even after a SIGKILL or a crash that ran no clean-up,
// so it never outlives it holding its port.
'use strict';
const parent = process.ppid;
setInterval(() => {
  try {
    process.kill(parent, 0);
  } catch {
    process.exit(0);
  }
}, 500).unref();
