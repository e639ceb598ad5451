// CDP client: sampling heap profile with collected objects included (allocation rate by site).
import WebSocket from 'ws';
const port = process.argv[2]; const secs = Number(process.argv[3] ?? 8); const out = process.argv[4];
const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const ws = new WebSocket(list[0].webSocketDebuggerUrl);
await new Promise((r) => ws.on('open', r));
let id = 0; const pending = new Map();
ws.on('message', (m) => { const d = JSON.parse(m); if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); } });
const send = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
await send('HeapProfiler.enable');
console.log(JSON.stringify(await send('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })).slice(0, 200));
await new Promise((r) => setTimeout(r, secs * 1000));
const res = await send('HeapProfiler.stopSampling');
const fs = await import('node:fs');
fs.writeFileSync(out, JSON.stringify(res.result.profile));
ws.close();
