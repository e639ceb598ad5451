// A talking peer for tests: sends a 20 ms PCMU frame of silence every 20 ms to a channel's RTP
// port, as a softphone or carrier does. Real FreeSWITCH paces playback on a leg by the RTP it
// receives there (see media.ts), so a test that wants a playback to run its course needs one.
import dgram from 'node:dgram';

export interface RtpStream {
  readonly sent: number;
  stop(): void;
}

export function startRtpStream(port: number, host = '127.0.0.1'): RtpStream {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => { /* the channel closed its port */ });
  const ssrc = Math.floor(Math.random() * 0xffffffff);
  let seq = Math.floor(Math.random() * 0xffff);
  let sent = 0;
  const send = () => {
    const pkt = Buffer.alloc(12 + 160, 0xff);
    pkt[0] = 0x80;
    pkt[1] = 0;
    pkt.writeUInt16BE(seq & 0xffff, 2);
    pkt.writeUInt32BE((sent * 160) >>> 0, 4);
    pkt.writeUInt32BE(ssrc >>> 0, 8);
    seq++;
    sent++;
    socket.send(pkt, port, host);
  };
  send();
  const timer = setInterval(send, 20);
  return {
    get sent() {
      return sent;
    },
    stop() {
      clearInterval(timer);
      socket.close();
    },
  };
}
