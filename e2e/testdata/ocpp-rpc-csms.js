// A CSMS made of ocpp-rpc's RPCServer in strict mode: every call and reply,
// both directions, is checked against the OCPP 1.6 JSON schemas. It reports
// on stdout, one JSON object a line: listening, connected, call (what the
// charge point sent), result / error (of a call the test asked for), and
// violation (a schema or framing failure: the test wants none). The test
// asks for calls on stdin, one {"method":…, "params":…} a line.
'use strict';
const readline = require('readline');
const { RPCServer, createRPCError } = require('ocpp-rpc');

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
let client = null;
let nextTx = 500;

server.on('client', (c) => {
  client = c;
  out({ event: 'connected', identity: c.identity });
  c.on('strictValidationFailure', (e) => out({
    event: 'violation', method: e.method, outbound: e.outbound, isCall: e.isCall,
    error: String((e.error && e.error.message) || e.error), params: e.params, result: e.result,
  }));
  c.on('badMessage', (e) => out({
    event: 'violation', kind: 'badMessage', error: String(e.error && e.error.message),
    message: e.buffer ? e.buffer.toString().slice(0, 500) : '',
  }));
  c.on('close', () => out({ event: 'closed' }));
  c.handle(({ method, params }) => {
    out({ event: 'call', method, params });
    const now = new Date().toISOString();
    switch (method) {
      case 'BootNotification': return { status: 'Accepted', interval: 60, currentTime: now };
      case 'Heartbeat': return { currentTime: now };
      case 'StatusNotification': case 'MeterValues': return {};
      case 'StopTransaction': return { idTagInfo: { status: 'Accepted' } };
      case 'Authorize': return { idTagInfo: { status: 'Accepted' } };
      case 'StartTransaction': return { transactionId: ++nextTx, idTagInfo: { status: 'Accepted' } };
      case 'DataTransfer': return { status: 'UnknownVendorId' };
    }
    throw createRPCError('NotImplemented');
  });
});

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
    if (!client) throw new Error('no charge point connected');
    const result = await client.call(cmd.method, cmd.params);
    out({ event: 'result', method: cmd.method, result });
  } catch (e) {
    out({ event: 'error', method: cmd && cmd.method, error: String(e.message), code: e.rpcErrorCode || '' });
  }
});
rl.on('close', () => process.exit(0));

server.listen(0, '127.0.0.1').then((http) => out({ event: 'listening', port: http.address().port }));
