// The RTP port a channel advertises in its SDP. The stand-in sends no media, but it listens: whether
// the peer sends RTP decides how FreeSWITCH's media reads behave (see media.ts).
import dgram from 'node:dgram';

export class RtpPort {
  packets = 0;
  lastPacketAt = 0;
  /** Called for every packet that arrives (a blocked media read returns). */
  onPacket: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: dgram.Socket, readonly port: number) {
    socket.on('message', () => {
      this.packets++;
      this.lastPacketAt = Date.now();
      this.onPacket?.();
    });
    socket.on('error', () => { /* ICMP from a peer that went away */ });
  }

  /** An even port in FreeSWITCH's default RTP range (switch.conf rtp-start-port / rtp-end-port). */
  static async open(host: string): Promise<RtpPort> {
    for (let attempt = 0; ; attempt++) {
      const port = 16384 + 2 * Math.floor(Math.random() * 8191);
      try {
        return await new Promise<RtpPort>((resolve, reject) => {
          const socket = dgram.createSocket('udp4');
          socket.once('error', (err) => {
            socket.close();
            reject(err);
          });
          socket.bind(port, host, () => {
            socket.removeAllListeners('error');
            resolve(new RtpPort(socket, port));
          });
        });
      } catch (err) {
        if (attempt >= 50) throw err;
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onPacket = undefined;
    this.socket.close();
  }
}
